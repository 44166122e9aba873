//! Customer webhook endpoints: the event-type filter grammar and its matching (in Rust and as
//! the SQL the outbox fan-out runs), the retry schedule, what one delivery attempt's outcome
//! means for the delivery and the endpoint, the signing keys of an endpoint during a secret
//! rotation, and the per-plan limits. Pure; the glue is `src/webhooks/`.

use crate::events;
use crate::jobs::OriginOutcome;
use crate::limits::Plan;

/// At most this many patterns in one endpoint's filter.
pub const MAX_PATTERNS: usize = 32;
/// The response head kept in the attempt log.
pub const RESPONSE_HEAD_BYTES: usize = 1024;
/// An endpoint description is at most this many characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;
/// A URL is at most this many bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// One pattern: `*` (everything), `<namespace>.*` (e.g. `document.*`) or one exact type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    All,
    Namespace(String),
    Exact(String),
}

impl Pattern {
    /// Parses a pattern; only namespaces and types that exist are accepted (a typo would
    /// otherwise subscribe to nothing, silently).
    pub fn parse(s: &str) -> Result<Pattern, String> {
        if s == "*" {
            return Ok(Pattern::All);
        }
        if let Some(ns) = s.strip_suffix(".*") {
            return if events::is_namespace(ns) {
                Ok(Pattern::Namespace(ns.to_owned()))
            } else {
                Err(format!("{s:?}: no event type starts with {ns:?}"))
            };
        }
        if events::is_type(s) {
            Ok(Pattern::Exact(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not an event type (use `*`, `<namespace>.*` or one of the types listed in the OpenAPI `webhooks` section)"
            ))
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Pattern::All => "*".to_owned(),
            Pattern::Namespace(ns) => format!("{ns}.*"),
            Pattern::Exact(t) => t.clone(),
        }
    }

    pub fn matches(&self, ty: &str) -> bool {
        match self {
            Pattern::All => true,
            Pattern::Namespace(ns) => ty.split_once('.').is_some_and(|(n, _)| n == ns),
            Pattern::Exact(t) => t == ty,
        }
    }
}

/// An endpoint's filter: the event types it is subscribed to (any pattern matching).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter(Vec<Pattern>);

impl Filter {
    /// 1..=32 patterns, duplicates dropped.
    pub fn parse(patterns: &[String]) -> Result<Filter, String> {
        if patterns.is_empty() {
            return Err("must name at least one event type or pattern (`*` for all)".into());
        }
        if patterns.len() > MAX_PATTERNS {
            return Err(format!("at most {MAX_PATTERNS} patterns"));
        }
        let mut out: Vec<Pattern> = Vec::new();
        for p in patterns {
            let p = Pattern::parse(p)?;
            if !out.contains(&p) {
                out.push(p);
            }
        }
        Ok(Filter(out))
    }

    pub fn matches(&self, ty: &str) -> bool {
        self.0.iter().any(|p| p.matches(ty))
    }

    /// Stored as a JSON array of strings (what [`MATCH_SQL`] reads).
    pub fn to_json(&self) -> String {
        serde_json::Value::from(
            self.0
                .iter()
                .map(Pattern::as_string)
                .collect::<Vec<String>>(),
        )
        .to_string()
    }
}

/// The SQL form of [`Filter::matches`] for the fan-out: true when the endpoint row `e`'s
/// `filter` (a JSON array) has a pattern matching the event type bound as `?T`. The glue
/// replaces `?T` with its placeholder. `webhook.test` is never matched: it is sent only by
/// `POST …/test`, to one endpoint.
pub const MATCH_SQL: &str = "?T <> 'webhook.test' AND EXISTS (SELECT 1 FROM json_each(e.filter) f WHERE f.value = '*' \
     OR f.value = ?T OR (substr(f.value, -2) = '.*' AND substr(?T, 1, length(f.value) - 1) = substr(f.value, 1, length(f.value) - 1)))";

/// The delays (seconds) before each retry: the n-th entry is waited after the n-th failed
/// attempt; when they are spent the delivery has failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub Vec<u32>);

/// The default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 27 h over 8 attempts).
pub const DEFAULT_SCHEDULE: &[u32] = &[5, 300, 1800, 7200, 18000, 36000, 36000];

impl Default for Schedule {
    fn default() -> Self {
        Schedule(DEFAULT_SCHEDULE.to_vec())
    }
}

impl Schedule {
    /// `WEBHOOK_RETRY_SCHEDULE`: comma-separated seconds, each at most 12 h (the queue's
    /// longest delay); empty for the default.
    pub fn parse(spec: &str) -> Result<Schedule, String> {
        if spec.trim().is_empty() {
            return Ok(Schedule::default());
        }
        spec.split(',')
            .map(|s| {
                s.trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 43_200)
                    .ok_or_else(|| "must be comma-separated seconds, each at most 43200".into())
            })
            .collect::<Result<Vec<u32>, String>>()
            .map(Schedule)
    }

    /// The delay after failed attempt `attempt` (1-based), `None` when retries are spent.
    pub fn delay_after(&self, attempt: u32) -> Option<u32> {
        self.0.get(attempt.checked_sub(1)? as usize).copied()
    }

    /// The longest time a delivery can stay pending (the sweep's "lost" threshold adds to it).
    pub fn longest(&self) -> u32 {
        self.0.iter().copied().max().unwrap_or(0)
    }
}

/// What to do after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again after this many seconds.
    Retry(u32),
    /// The delivery has failed for good (retries spent, or the receiver refused for good).
    Failed,
    /// 410 Gone, or failing for longer than allowed: the endpoint is disabled for `reason`.
    Disable(String),
}

/// The state of an endpoint as the decision needs it.
#[derive(Debug, Clone, Copy)]
pub struct Health {
    /// Since when (unix ms) every attempt to this endpoint failed; `None` if the last succeeded.
    pub failing_since_ms: Option<i64>,
    pub now_ms: i64,
    /// `WEBHOOK_DISABLE_AFTER_SECONDS`.
    pub disable_after_s: i64,
}

/// A label for the attempt log.
pub fn outcome_label(outcome: &OriginOutcome) -> &'static str {
    match outcome {
        OriginOutcome::Answered(s) if (200..300).contains(s) => "succeeded",
        OriginOutcome::Answered(_) => "failed",
        OriginOutcome::TimedOut => "timeout",
        OriginOutcome::Unreachable(_) => "unreachable",
        OriginOutcome::Blocked(_) => "blocked",
    }
}

/// Decides after attempt `attempt` (1-based). 2xx delivered; 410 disables the endpoint; a
/// blocked destination fails at once; anything else (other statuses, timeouts, refused
/// connections) is retried on the schedule. An endpoint that has failed continuously for
/// longer than `disable_after_s` is disabled.
pub fn decide(outcome: &OriginOutcome, attempt: u32, schedule: &Schedule, h: Health) -> Verdict {
    match outcome {
        OriginOutcome::Answered(s) if (200..300).contains(s) => return Verdict::Delivered,
        OriginOutcome::Answered(410) => {
            return Verdict::Disable("the endpoint answered 410 Gone".into())
        }
        OriginOutcome::Blocked(_) => return Verdict::Failed,
        _ => {}
    }
    let since = h.failing_since_ms.unwrap_or(h.now_ms);
    if h.now_ms - since >= h.disable_after_s.saturating_mul(1000) {
        return Verdict::Disable(format!(
            "every delivery failed for {} s or more",
            h.disable_after_s
        ));
    }
    match schedule.delay_after(attempt) {
        Some(d) => Verdict::Retry(d),
        None => Verdict::Failed,
    }
}

/// The secret generations that sign a delivery now: the current one, and the previous one
/// while its overlap lasts (`previous_until_ms`).
pub fn signing_generations(current: u32, previous_until_ms: Option<i64>, now_ms: i64) -> Vec<u32> {
    let mut out = vec![current];
    if current > 1 && previous_until_ms.is_some_and(|until| now_ms < until) {
        out.push(current - 1);
    }
    out
}

/// The key input of an endpoint's secret (`origin_signing::webhook_key`'s subject): endpoint
/// ids (`whe_…`) never equal an organization id, so no endpoint shares the org secret.
pub fn secret_subject(endpoint_id: &str) -> String {
    format!("endpoint:{endpoint_id}")
}

/// The first [`RESPONSE_HEAD_BYTES`] of a response body, as text (cut on a char boundary).
pub fn response_head(body: &[u8]) -> String {
    let cut = &body[..body.len().min(RESPONSE_HEAD_BYTES)];
    let text = String::from_utf8_lossy(cut).into_owned();
    if text.len() <= RESPONSE_HEAD_BYTES {
        return text;
    }
    let mut end = RESPONSE_HEAD_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Endpoints an organization may have, per plan.
pub fn max_endpoints(plan: Plan) -> u32 {
    match plan {
        Plan::Free => 5,
        Plan::Pro => 25,
        Plan::Enterprise => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(p: &[&str]) -> Result<Filter, String> {
        Filter::parse(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn patterns_parse_and_match() {
        let f = filter(&["document.*", "api_key.created"]).unwrap();
        assert!(f.matches("document.updated"));
        assert!(f.matches("document.created"));
        assert!(f.matches("api_key.created"));
        assert!(!f.matches("api_key.revoked"));
        assert!(!f.matches("documents.updated"));
        assert!(filter(&["*"]).unwrap().matches("job.status_changed"));
        assert_eq!(f.to_json(), r#"["document.*","api_key.created"]"#);
        assert_eq!(filter(&["*", "*"]).unwrap().to_json(), r#"["*"]"#);
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "doc.*",
            "document.",
            "document.*.x",
            "*.updated",
            "document.updatedd",
            "",
            "DOCUMENT.*",
        ] {
            assert!(filter(&[bad]).is_err(), "{bad}");
        }
        assert!(filter(&[]).is_err());
        let many: Vec<String> = (0..33).map(|_| "*".to_owned()).collect();
        assert!(Filter::parse(&many).is_err());
    }

    #[test]
    fn schedule_parses_and_ends() {
        let s = Schedule::parse("1, 2,3").unwrap();
        assert_eq!(s.delay_after(1), Some(1));
        assert_eq!(s.delay_after(3), Some(3));
        assert_eq!(s.delay_after(4), None);
        assert_eq!(s.delay_after(0), None);
        assert!(Schedule::parse("1,x").is_err());
        assert!(Schedule::parse("50000").is_err());
        let d = Schedule::parse("").unwrap();
        let total: u32 = d.0.iter().sum();
        assert!(
            (20 * 3600..=36 * 3600).contains(&total),
            "about a day: {total}"
        );
        assert_eq!(d.longest(), 36000);
    }

    fn healthy(now: i64) -> Health {
        Health {
            failing_since_ms: None,
            now_ms: now,
            disable_after_s: 3600,
        }
    }

    #[test]
    fn verdicts() {
        let s = Schedule(vec![1, 1, 1]);
        let h = healthy(10_000_000);
        assert_eq!(
            decide(&OriginOutcome::Answered(204), 1, &s, h),
            Verdict::Delivered
        );
        assert_eq!(
            decide(&OriginOutcome::Answered(500), 1, &s, h),
            Verdict::Retry(1)
        );
        assert_eq!(
            decide(&OriginOutcome::TimedOut, 3, &s, h),
            Verdict::Retry(1)
        );
        assert_eq!(
            decide(&OriginOutcome::Unreachable("refused".into()), 4, &s, h),
            Verdict::Failed
        );
        assert!(matches!(
            decide(&OriginOutcome::Answered(410), 1, &s, h),
            Verdict::Disable(_)
        ));
        assert_eq!(
            decide(&OriginOutcome::Blocked("private".into()), 1, &s, h),
            Verdict::Failed
        );
        let long = Health {
            failing_since_ms: Some(0),
            ..h
        };
        assert!(matches!(
            decide(&OriginOutcome::Answered(503), 1, &s, long),
            Verdict::Disable(_)
        ));
        // Success wins even for a long-failing endpoint.
        assert_eq!(
            decide(&OriginOutcome::Answered(200), 1, &s, long),
            Verdict::Delivered
        );
    }

    #[test]
    fn rotation_overlap() {
        assert_eq!(signing_generations(1, None, 5), vec![1]);
        assert_eq!(signing_generations(2, Some(10), 5), vec![2, 1]);
        assert_eq!(signing_generations(2, Some(10), 10), vec![2]);
        assert_eq!(signing_generations(3, None, 5), vec![3]);
        assert_ne!(secret_subject("whe_1"), "whe_1");
    }

    #[test]
    fn response_head_is_bounded() {
        assert_eq!(response_head(b"ok"), "ok");
        let long = "é".repeat(1000);
        let head = response_head(long.as_bytes());
        assert!(head.len() <= RESPONSE_HEAD_BYTES);
        assert!(head.starts_with('é'));
        assert_eq!(max_endpoints(Plan::Free), 5);
    }
}
