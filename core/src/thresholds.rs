//! Quota thresholds: which consumption of an exactly counted quota crosses 80 % or 100 % of
//! the plan's limit, announced once each as the `quota.threshold_crossed` event.

/// Percentages of a quota whose crossing is announced (`quota.threshold_crossed`).
pub const QUOTA_THRESHOLDS: [u64; 2] = [80, 100];

/// The highest of [`QUOTA_THRESHOLDS`] that a consumption of `amount` ending at `used` of
/// `limit` crossed: usage was below the threshold's count before and is at or above it now.
/// The quota's counter is exact, so exactly one consumption crosses each threshold.
pub fn threshold_crossed(used: u64, amount: u64, limit: u64) -> Option<u64> {
    if limit == 0 || amount == 0 {
        return None;
    }
    let before = used.saturating_sub(amount);
    QUOTA_THRESHOLDS.into_iter().rev().find(|t| {
        // The smallest count that is at least t% of the limit.
        let mark = (limit.saturating_mul(*t)).div_ceil(100);
        before < mark && used >= mark
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_crossed_once_each() {
        // Limit 5: 80 % is the 4th, 100 % the 5th.
        let crossed: Vec<Option<u64>> = (1..=6).map(|u| threshold_crossed(u, 1, 5)).collect();
        assert_eq!(crossed, [None, None, None, Some(80), Some(100), None]);
        // Limit 1000: 800 and 1000.
        assert_eq!(threshold_crossed(799, 1, 1000), None);
        assert_eq!(threshold_crossed(800, 1, 1000), Some(80));
        assert_eq!(threshold_crossed(801, 1, 1000), None);
        assert_eq!(threshold_crossed(1000, 1, 1000), Some(100));
        // One big step over both reports the higher one; nothing for no limit or no step.
        assert_eq!(threshold_crossed(10, 10, 10), Some(100));
        assert_eq!(threshold_crossed(3, 1, 0), None);
        assert_eq!(threshold_crossed(3, 0, 3), None);
        // Limit 3: 80 % of 3 is 2.4, so the 3rd crosses both; the higher is reported.
        assert_eq!(threshold_crossed(2, 1, 3), None);
        assert_eq!(threshold_crossed(3, 1, 3), Some(100));
    }
}
