//! The job state machine: types, statuses, what an origin answer means for a job, and the
//! retry backoff. The consumer only carries these decisions out.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobType {
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "file.process")]
    FileProcess,
    #[serde(rename = "ai.generate")]
    AiGenerate,
    #[serde(rename = "webhook.deliver")]
    WebhookDeliver,
}

impl JobType {
    pub const ALL: [JobType; 4] = [
        JobType::Email,
        JobType::FileProcess,
        JobType::AiGenerate,
        JobType::WebhookDeliver,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            JobType::Email => "email",
            JobType::FileProcess => "file.process",
            JobType::AiGenerate => "ai.generate",
            JobType::WebhookDeliver => "webhook.deliver",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Dead,
}

impl JobStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Succeeded,
            Self::Failed,
            Self::Dead,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// A final job never runs again; a redelivered message for it is acknowledged and dropped.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Dead
        )
    }
}

/// Who created a job; part of the signed envelope, so the origin can tell the edge's own work
/// (verification, reset and invitation emails, `file.process` after an upload) from work a
/// tenant asked for through `POST /v1/orgs/{org}/jobs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobSource {
    System,
    Api,
}

impl JobSource {
    pub const fn as_str(self) -> &'static str {
        match self {
            JobSource::System => "system",
            JobSource::Api => "api",
        }
    }
}

/// The email templates only the edge itself sends (`jobs::send_email` in the glue).
pub const SYSTEM_EMAIL_TEMPLATES: [&str; 11] = [
    "verify_email",
    "password_reset",
    "invitation",
    "new_sign_in",
    "password_changed",
    "email_change_verify",
    "email_change_requested",
    "email_changed",
    "account_deletion_scheduled",
    "webhook_endpoint_disabled",
    "account_export_ready",
];

/// Whether `template` names one of [`SYSTEM_EMAIL_TEMPLATES`] — compared without case,
/// surrounding blanks, or `-` for `_`, so an origin matching loosely is not fooled either.
pub fn is_system_template(template: &str) -> bool {
    let t = template.trim().to_ascii_lowercase().replace('-', "_");
    SYSTEM_EMAIL_TEMPLATES.contains(&t.as_str())
}

/// The queue message: only the job's id. The row in D1 is the truth about the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub job_id: String,
}

/// What the origin did with one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginOutcome {
    /// It answered with this HTTP status.
    Answered(u16),
    /// No answer within the timeout.
    TimedOut,
    /// The connection failed (DNS, refused, reset…).
    Unreachable(String),
    /// The destination (or a redirect) is not allowed: a private address, another scheme.
    Blocked(String),
}

/// What to do with the job after one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Succeed,
    /// Final failure, no retry (the origin refused the job).
    Fail(String),
    /// Try again after `delay_seconds`.
    Retry {
        delay_seconds: u32,
        error: String,
    },
    /// Retries exhausted: the job is dead and its message goes to the dead-letter queue.
    Dead(String),
}

/// The retry policy of the consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub base_seconds: u32,
    pub max_seconds: u32,
}

/// Decides a job's fate after its `attempt`-th delivery (1-based). 2xx succeeds; 4xx fails at
/// once, except 408 and 429 which say "later" and are retried; 5xx, timeouts and connection
/// failures are retried with backoff until `max_retries` retries have been spent.
/// `jitter` is a uniform random number in `[0, 1)`.
pub fn decide(outcome: &OriginOutcome, attempt: u32, policy: RetryPolicy, jitter: f64) -> Decision {
    let error = match outcome {
        OriginOutcome::Answered(s) if (200..300).contains(s) => return Decision::Succeed,
        OriginOutcome::Answered(s) if (400..500).contains(s) && *s != 408 && *s != 429 => {
            return Decision::Fail(format!("origin answered {s}; not retried"));
        }
        OriginOutcome::Blocked(why) => {
            return Decision::Fail(format!("blocked destination: {why}; not retried"));
        }
        OriginOutcome::Answered(s) => format!("origin answered {s}"),
        OriginOutcome::TimedOut => "origin did not answer in time".to_owned(),
        OriginOutcome::Unreachable(why) => format!("origin unreachable: {why}"),
    };
    if attempt > policy.max_retries {
        Decision::Dead(format!("{error}; gave up after {attempt} attempts"))
    } else {
        Decision::Retry {
            delay_seconds: backoff_seconds(attempt, policy, jitter),
            error,
        }
    }
}

/// Exponential backoff with "equal jitter": half the step is fixed, half random, so retries of
/// many jobs spread out but none comes back at once. `base * 2^(attempt-1)`, capped.
pub fn backoff_seconds(attempt: u32, policy: RetryPolicy, jitter: f64) -> u32 {
    let step = policy
        .base_seconds
        .saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        )
        .min(policy.max_seconds);
    let jitter = jitter.clamp(0.0, 1.0);
    let half = step / 2;
    half + ((step - half) as f64 * jitter) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_retries: 4,
        base_seconds: 2,
        max_seconds: 300,
    };

    #[test]
    fn success_and_refusal() {
        assert_eq!(
            decide(&OriginOutcome::Answered(200), 1, POLICY, 0.5),
            Decision::Succeed
        );
        assert_eq!(
            decide(&OriginOutcome::Answered(204), 5, POLICY, 0.5),
            Decision::Succeed
        );
        assert!(matches!(
            decide(&OriginOutcome::Answered(400), 1, POLICY, 0.5),
            Decision::Fail(_)
        ));
        assert!(matches!(
            decide(&OriginOutcome::Answered(422), 1, POLICY, 0.5),
            Decision::Fail(_)
        ));
    }

    #[test]
    fn transient_failures_retry_until_the_limit() {
        for outcome in [
            OriginOutcome::Answered(500),
            OriginOutcome::Answered(503),
            OriginOutcome::Answered(429),
            OriginOutcome::Answered(408),
            OriginOutcome::TimedOut,
            OriginOutcome::Unreachable("refused".into()),
        ] {
            for attempt in 1..=4 {
                assert!(matches!(
                    decide(&outcome, attempt, POLICY, 0.0),
                    Decision::Retry { .. }
                ));
            }
            assert!(matches!(
                decide(&outcome, 5, POLICY, 0.0),
                Decision::Dead(_)
            ));
        }
    }

    #[test]
    fn blocked_destinations_fail_without_retry() {
        let d = decide(&OriginOutcome::Blocked("10.0.0.1".into()), 1, POLICY, 0.5);
        assert!(matches!(d, Decision::Fail(e) if e.contains("blocked")));
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let at = |a, j| backoff_seconds(a, POLICY, j);
        assert_eq!((at(1, 0.0), at(1, 0.999)), (1, 1));
        assert_eq!((at(2, 0.0), at(2, 0.999)), (2, 3));
        assert_eq!((at(3, 0.0), at(3, 0.999)), (4, 7));
        assert_eq!(at(20, 0.0), 150);
        assert!(at(20, 0.999) <= 300);
        assert_eq!(at(40, 0.5), 225);
        let zero = RetryPolicy {
            base_seconds: 0,
            ..POLICY
        };
        assert_eq!(backoff_seconds(3, zero, 0.9), 0);
    }

    #[test]
    fn system_templates_are_recognised_in_any_spelling() {
        for t in [
            "verify_email",
            "password_reset",
            "invitation",
            "Password_Reset",
            " invitation ",
            "verify-email",
            "account_deletion_scheduled",
            "Webhook-Endpoint-Disabled",
        ] {
            assert!(is_system_template(t), "{t}");
        }
        for t in ["plain", "welcome", "invoice", "", "invitations", "reset"] {
            assert!(!is_system_template(t), "{t}");
        }
        assert_eq!(JobSource::System.as_str(), "system");
        assert_eq!(serde_json::to_string(&JobSource::Api).unwrap(), "\"api\"");
    }

    #[test]
    fn names_round_trip() {
        for t in JobType::ALL {
            assert_eq!(JobType::parse(t.as_str()), Some(t));
        }
        assert_eq!(JobType::parse("shell"), None);
        assert!(JobStatus::Dead.is_final() && !JobStatus::Running.is_final());
        assert_eq!(JobStatus::parse("running"), Some(JobStatus::Running));
    }
}
