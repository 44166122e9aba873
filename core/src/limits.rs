//! Plans (`plans`), their limits and quotas, and the exact rate-limit arithmetic.
//!
//! Rate limits are fixed windows anchored at the first request of each window, kept per key
//! in the tenant's Durable Object (single-threaded, so counting is exact): at most `limit`
//! requests per `window` per key, `remaining` counting down by one per request, and `reset`
//! the seconds until the window ends, which is also `Retry-After` when refused.

use serde::{Deserialize, Serialize};

mod plans;
pub use plans::{Limits, Plan, PlanLimits};

/// A key's current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_ms: i64,
    pub count: u32,
}

/// The outcome of one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the window ends (at least 1 while it runs).
    pub reset: u32,
    pub window: u32,
}

/// Counts one request of `cost` against `limit` per `window_s` seconds.
pub fn check(
    state: Option<Window>,
    now_ms: i64,
    limit: u32,
    window_s: u32,
    cost: u32,
) -> (Decision, Window) {
    let window_ms = i64::from(window_s) * 1000;
    let mut w = match state {
        Some(w) if now_ms >= w.start_ms && now_ms < w.start_ms + window_ms => w,
        _ => Window {
            start_ms: now_ms,
            count: 0,
        },
    };
    let allowed = w.count.saturating_add(cost) <= limit;
    if allowed {
        w.count += cost;
    }
    let left_ms = (w.start_ms + window_ms - now_ms).max(0);
    let reset = ((left_ms + 999) / 1000).max(1) as u32;
    let decision = Decision {
        allowed,
        limit,
        remaining: limit.saturating_sub(w.count),
        reset,
        window: window_s,
    };
    (decision, w)
}

/// One request counted in its key's window before the limit is known: every request counts,
/// allowed or not, so the caller can decide later with [`Counted::decide`] and still be exact
/// (the object hands out each count once: of N + k concurrent requests exactly the N whose
/// count is within the limit pass). Used where the limit (the organization's plan) arrives
/// from D1 in parallel with the count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    /// This request's position in the window, from 1.
    pub count: u32,
    /// Seconds until the window ends (at least 1 while it runs).
    pub reset: u32,
    pub window: u32,
}

impl Counted {
    /// The decision for a key limited to `limit` requests per window.
    pub fn decide(&self, limit: u32) -> Decision {
        Decision {
            allowed: self.count <= limit,
            limit,
            remaining: limit.saturating_sub(self.count),
            reset: self.reset,
            window: self.window,
        }
    }
}

/// Counts one request of `cost` in the window of `window_s` seconds, whatever the limit.
pub fn count(state: Option<Window>, now_ms: i64, window_s: u32, cost: u32) -> (Counted, Window) {
    let window_ms = i64::from(window_s) * 1000;
    let mut w = match state {
        Some(w) if now_ms >= w.start_ms && now_ms < w.start_ms + window_ms => w,
        _ => Window {
            start_ms: now_ms,
            count: 0,
        },
    };
    w.count = w.count.saturating_add(cost);
    let left_ms = (w.start_ms + window_ms - now_ms).max(0);
    let counted = Counted {
        count: w.count,
        reset: ((left_ms + 999) / 1000).max(1) as u32,
        window: window_s,
    };
    (counted, w)
}

/// The rate-limit response headers: draft-ietf-httpapi-ratelimit-headers (`RateLimit-Policy`,
/// `RateLimit`, structured fields) and the widespread `X-RateLimit-*` trio, plus `Retry-After`
/// when refused. `X-RateLimit-Reset` is in seconds from now, like the draft's `t`.
pub fn headers(policy: &str, d: &Decision) -> Vec<(&'static str, String)> {
    let mut h = vec![
        (
            "RateLimit-Policy",
            format!("\"{policy}\";q={};w={}", d.limit, d.window),
        ),
        (
            "RateLimit",
            format!("\"{policy}\";r={};t={}", d.remaining, d.reset),
        ),
        ("X-RateLimit-Limit", d.limit.to_string()),
        ("X-RateLimit-Remaining", d.remaining.to_string()),
        ("X-RateLimit-Reset", d.reset.to_string()),
    ];
    if !d.allowed {
        h.push(("Retry-After", d.reset.to_string()));
    }
    h
}

/// A quota counter for one period (`"2026-11"` for monthly, `"2026-11-23"` for daily, `""` for
/// one that never resets, like storage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub period: String,
    pub used: u64,
}

/// Consumes `amount` of a quota of `limit` in `period`; refused (and unchanged) if it would
/// exceed the limit. A new period starts from zero.
pub fn consume(state: Option<Quota>, period: &str, limit: u64, amount: u64) -> (bool, Quota) {
    let mut q = match state {
        Some(q) if q.period == period => q,
        _ => Quota {
            period: period.to_owned(),
            used: 0,
        },
    };
    let ok = q.used.checked_add(amount).is_some_and(|n| n <= limit);
    if ok {
        q.used += amount;
    }
    (ok, q)
}

/// One entry of a settlement: a positive `amount` is taken whatever the limit (it was already
/// used, e.g. tokens the upstream counted), a negative one is given back.
pub fn adjust(state: Option<Quota>, period: &str, amount: i64) -> Quota {
    if amount >= 0 {
        let (_, q) = consume(state, period, u64::MAX, amount.unsigned_abs());
        q
    } else {
        release(state, period, amount.unsigned_abs())
    }
}

/// Gives back `amount` (a failed upload, a deleted file), never below zero.
pub fn release(state: Option<Quota>, period: &str, amount: u64) -> Quota {
    match state {
        Some(q) if q.period == period => Quota {
            period: q.period,
            used: q.used.saturating_sub(amount),
        },
        _ => Quota {
            period: period.to_owned(),
            used: 0,
        },
    }
}

/// The monthly quota period (`"YYYY-MM"`, UTC) of a unix-ms instant.
pub fn month(now_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m")
        .to_string()
}

/// The daily quota period (`"YYYY-MM-DD"`, UTC) of a unix-ms instant.
pub fn day(now_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Seconds until quota period `period` ends (`"YYYY-MM"`, `"YYYY-MM-DD"`); a quota without
/// period (storage) never resets by itself: one hour, the time to free space and retry.
pub fn seconds_until_period_end(period: &str, now_ms: i64) -> i64 {
    use chrono::{Datelike, NaiveDate};
    let end = match period.len() {
        7 => NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                if d.month() == 12 {
                    NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
                }
            }),
        10 => NaiveDate::parse_from_str(period, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.succ_opt()),
        _ => None,
    };
    match end.and_then(|d| d.and_hms_opt(0, 0, 0)) {
        Some(end) => ((end.and_utc().timestamp_millis() - now_ms + 999) / 1000).max(1),
        None => 3600,
    }
}

/// Headers for several limits passed by one request: the structured fields list every
/// policy; the `X-RateLimit-*` trio (one value each) follows the most restrictive one.
pub fn combined_headers(decisions: &[(&str, Decision)]) -> Vec<(&'static str, String)> {
    let Some((tightest, d)) = decisions
        .iter()
        .min_by_key(|(_, d)| (d.remaining, std::cmp::Reverse(d.reset)))
    else {
        return Vec::new();
    };
    let mut h = headers(tightest, d);
    let join = |f: &dyn Fn(&str, &Decision) -> String| {
        decisions
            .iter()
            .map(|(p, d)| f(p, d))
            .collect::<Vec<_>>()
            .join(", ")
    };
    h[0].1 = join(&|p, d| format!("\"{p}\";q={};w={}", d.limit, d.window));
    h[1].1 = join(&|p, d| format!("\"{p}\";r={};t={}", d.remaining, d.reset));
    h
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn exactly_limit_requests_per_window() {
        let mut state = None;
        let mut allowed = 0;
        for i in 0..8 {
            let (d, w) = check(state, 1_000 + i, 5, 60, 1);
            state = Some(w);
            if d.allowed {
                allowed += 1;
                assert_eq!(d.remaining, 5 - allowed);
            } else {
                assert_eq!(d.remaining, 0);
            }
        }
        assert_eq!(allowed, 5);
    }

    #[test]
    fn window_resets_after_its_length_and_reset_counts_down() {
        let (d, w) = check(None, 0, 1, 60, 1);
        assert!(d.allowed);
        assert_eq!(d.reset, 60);
        let (d, w) = check(Some(w), 59_001, 1, 60, 1);
        assert!(!d.allowed);
        assert_eq!(d.reset, 1);
        let (d, _) = check(Some(w), 60_000, 1, 60, 1);
        assert!(d.allowed);
        assert_eq!(d.remaining, 0);
    }

    #[test]
    fn counting_first_deciding_later_is_exact() {
        // 7 requests race for a limit of 5: each gets its own count, exactly 5 pass, and the
        // refused ones see nothing left.
        let mut state = None;
        let mut allowed = 0;
        for i in 0..7 {
            let (c, w) = count(state, 1_000 + i, 60, 1);
            state = Some(w);
            let d = c.decide(5);
            assert_eq!(c.count, i as u32 + 1);
            if d.allowed {
                allowed += 1;
            } else {
                assert_eq!(d.remaining, 0);
            }
        }
        assert_eq!(allowed, 5);
        // The same counts under another plan's limit.
        let (c, _) = count(state, 2_000, 60, 1);
        assert!(c.decide(100).allowed);
        assert_eq!(c.decide(100).remaining, 92);
        // A new window starts from one.
        let (c, _) = count(state, 61_000, 60, 1);
        assert_eq!((c.count, c.reset), (1, 60));
        assert!(c.decide(1).allowed);
    }

    #[test]
    fn a_clock_going_backwards_starts_a_fresh_window() {
        let (_, w) = check(None, 10_000, 1, 60, 1);
        let (d, _) = check(Some(w), 5_000, 1, 60, 1);
        assert!(d.allowed);
    }

    #[test]
    fn headers_follow_the_draft_and_agree() {
        let (d, _) = check(None, 0, 100, 60, 1);
        let h = headers("user", &d);
        assert_eq!(h[0], ("RateLimit-Policy", "\"user\";q=100;w=60".to_owned()));
        assert_eq!(h[1], ("RateLimit", "\"user\";r=99;t=60".to_owned()));
        assert_eq!(h[3], ("X-RateLimit-Remaining", "99".to_owned()));
        assert!(!h.iter().any(|(k, _)| *k == "Retry-After"));
        let refused = Decision {
            allowed: false,
            remaining: 0,
            ..d
        };
        assert!(headers("user", &refused).contains(&("Retry-After", "60".to_owned())));
    }

    #[test]
    fn quotas_are_exact_and_periodic() {
        let (ok, q) = consume(None, "2026-11", 2, 1);
        assert!(ok);
        let (ok, q) = consume(Some(q), "2026-11", 2, 1);
        assert!(ok);
        let (ok, q) = consume(Some(q), "2026-11", 2, 1);
        assert!(!ok);
        assert_eq!(q.used, 2);
        let (ok, q) = consume(Some(q), "2026-12", 2, 1);
        assert!(ok && q.used == 1);
        assert_eq!(release(Some(q.clone()), "2026-12", 5).used, 0);
        let (ok, _) = consume(None, "", 10, 11);
        assert!(!ok);
        let (ok, _) = consume(
            Some(Quota {
                period: "".into(),
                used: u64::MAX,
            }),
            "",
            u64::MAX,
            1,
        );
        assert!(!ok);
    }

    #[test]
    fn period_ends() {
        let now = 1_795_464_538_000; // 2026-11-23T20:08:58Z
        assert_eq!(seconds_until_period_end("2026-11-23", now), 13_862);
        assert_eq!(
            seconds_until_period_end("2026-11", now),
            7 * 86_400 + 13_862
        );
        // One second before 2026-12-01: December's quota resets 31 days later.
        assert_eq!(
            seconds_until_period_end("2026-12", 1_796_083_200_000 - 1_000),
            86_400 * 31 + 1
        );
        assert_eq!(seconds_until_period_end("", now), 3600);
    }

    #[test]
    fn combined_headers_list_every_policy() {
        let (a, _) = check(None, 0, 5, 60, 1);
        let (b, _) = check(
            Some(Window {
                start_ms: 0,
                count: 3,
            }),
            0,
            5,
            60,
            1,
        );
        let h = combined_headers(&[("auth-ip", a), ("auth-account", b)]);
        assert_eq!(h[0].1, "\"auth-ip\";q=5;w=60, \"auth-account\";q=5;w=60");
        assert_eq!(h[1].1, "\"auth-ip\";r=4;t=60, \"auth-account\";r=1;t=60");
        assert_eq!(h[3], ("X-RateLimit-Remaining", "1".to_owned()));
    }

    #[test]
    fn periods() {
        assert_eq!(month(1_795_464_538_000), "2026-11");
        assert_eq!(day(1_795_464_538_000), "2026-11-23");
    }

    #[test]
    fn overrides_apply_partially_and_reject_unknowns() {
        let l = Limits::with_overrides(
            r#"{"free":{"requests_per_minute":5,"documents_per_month":3},"auth_per_minute":2}"#,
        )
        .unwrap();
        assert_eq!(l.free.requests_per_minute, 5);
        assert_eq!(l.free.documents_per_month, 3);
        assert_eq!(l.free.jobs_per_day, Limits::default().free.jobs_per_day);
        assert_eq!(l.auth_per_minute, 2);
        assert_eq!(Limits::with_overrides("").unwrap(), Limits::default());
        assert!(Limits::with_overrides(r#"{"free":{"rpm":1}}"#).is_err());
        assert!(Limits::with_overrides(r#"{"free":{"requests_per_minute":0}}"#).is_err());
        assert!(Limits::with_overrides("not json").is_err());
    }

    #[test]
    fn adjust_takes_past_the_limit_and_gives_back_to_zero() {
        let q = adjust(None, "2026-12", 5);
        assert_eq!(q.used, 5);
        let q = adjust(Some(q), "2026-12", -2);
        assert_eq!(q.used, 3);
        assert_eq!(adjust(Some(q.clone()), "2026-12", -10).used, 0);
        // Another period starts from zero.
        assert_eq!(adjust(Some(q), "2027-01", 4).used, 4);
    }
}
