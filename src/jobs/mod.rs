//! The job transport: heavy work leaves the request path as a row in D1 plus a message on the
//! `JOBS` queue; the consumer delivers it, signed, to the customer's origin (or, for
//! `webhook.deliver`, to the customer's webhook URL under the Standard Webhooks scheme).
//! Decisions (status transitions, retry and backoff) live in `edge_core::jobs`; the signed
//! strings in `edge_core::origin_signing`.

pub mod consumer;
pub mod origin;
pub mod purge;
pub mod repo;
pub mod sweep;
pub mod webhook;

use crate::http::OrInternal;
use crate::platform;
use edge_core::ids::IdKind;
use edge_core::jobs::{self as rules, JobMessage, JobSource, JobStatus, JobType};
use edge_core::json::Checks;
use edge_core::ApiError;
pub use repo::JobRow;
use worker::Env;

/// Job payloads are JSON objects of at most this many bytes.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// A validated job, ready to enqueue.
#[derive(Debug)]
pub struct NewJob {
    pub job_type: JobType,
    pub payload: String,
    pub source: JobSource,
}

impl NewJob {
    /// A job the edge itself creates (`source: "system"` in the signed envelope).
    pub fn system(job_type: JobType, payload: &serde_json::Value) -> Self {
        Self {
            job_type,
            payload: payload.to_string(),
            source: JobSource::System,
        }
    }

    /// A job a caller asked for through the API (`source: "api"`); check it with
    /// [`check_payload`] before enqueueing.
    pub fn parse(job_type: &str, payload: serde_json::Value) -> Result<Self, ApiError> {
        let parsed = JobType::parse(job_type);
        let encoded = payload.to_string();
        Checks::new()
            .check(
                parsed.is_some(),
                "type",
                "must be one of email, file.process, ai.generate, webhook.deliver",
            )
            .check(payload.is_object(), "payload", "must be a JSON object")
            .check(
                encoded.len() <= MAX_PAYLOAD_BYTES,
                "payload",
                format!("must be at most {MAX_PAYLOAD_BYTES} bytes of JSON"),
            )
            .finish()?;
        Ok(Self {
            job_type: parsed.unwrap_or(JobType::Email),
            payload: encoded,
            source: JobSource::Api,
        })
    }
}

/// The per-type rules of the public API: what each job needs in its payload. Email templates
/// the edge sends itself are reserved; `file.process` must name a file of `org_id`;
/// `webhook.deliver` must name an event of `org_id` and an endpoint it was fanned out to.
pub async fn check_payload(
    db: &worker::D1Database,
    org_id: &str,
    job: &NewJob,
) -> Result<(), ApiError> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
    let text = |k: &str| payload.get(k).and_then(|v| v.as_str());
    let mut c = Checks::new();
    match job.job_type {
        JobType::Email => {
            c.check(
                text("to").is_some_and(|t| edge_core::validate::Email::parse(t).is_ok()),
                "payload.to",
                "must be an email address",
            );
            c.check(
                !text("template").is_some_and(rules::is_system_template),
                "payload.template",
                "is reserved for the platform's own emails (verify_email, password_reset, invitation)",
            );
        }
        JobType::FileProcess => {
            let file = text("file_id").filter(|f| !f.is_empty());
            let known = match file {
                Some(f) => repo::file_of_org(db, f, org_id).await?,
                None => false,
            };
            c.check(
                known,
                "payload.file_id",
                "must name a file of this organization",
            );
        }
        JobType::AiGenerate => {
            c.check(
                text("prompt").is_some_and(|p| (1..=32_768).contains(&p.chars().count())),
                "payload.prompt",
                "must be 1 to 32768 characters",
            );
        }
        JobType::WebhookDeliver => {
            match serde_json::from_value::<webhook::Target>(payload.clone()) {
                Err(_) => {
                    c.check(false, "payload", webhook::TARGET_SHAPE);
                }
                Ok(target) => {
                    c.check(
                        webhook::deliverable(db, org_id, &target).await?,
                        "payload.event_id",
                        "must be an event of this organization that payload.endpoint_id (an endpoint of this organization) was subscribed to",
                    );
                }
            }
        }
    }
    c.finish()
}

/// Enqueues a job for `org_id` (`None` for account-level work such as verification emails): inserts the `queued` row, then sends the message. If the send
/// fails the row is removed again, so a job exists exactly when its message does (a crash
/// between the two leaves a `queued` row, which the stuck-job sweep re-sends).
/// A queued job row, not yet written: for a caller that inserts it in its own batch
/// (`repo::insert_stmt`) and then calls [`send`].
pub fn prepare(org_id: Option<&str>, job: NewJob) -> JobRow {
    let now = platform::rfc3339(platform::now());
    JobRow {
        id: platform::new_id(IdKind::Job),
        org_id: org_id.map(str::to_owned),
        job_type: job.job_type.as_str().to_owned(),
        status: JobStatus::Queued.as_str().to_owned(),
        payload: job.payload,
        source: job.source.as_str().to_owned(),
        attempts: 0,
        result: None,
        error: None,
        created_at: now.clone(),
        updated_at: now,
    }
}

/// Sends the message of a job whose row is already written. A failure is logged, not
/// returned: the row stays `queued` and the sweep sends it again.
pub async fn send(env: &Env, row: &JobRow) {
    let message = JobMessage {
        job_id: row.id.clone(),
    };
    let sent = match env.queue("JOBS") {
        Ok(queue) => queue.send(&message).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        let _ = crate::http::internal("send job message (the sweep will resend)", e);
    }
}

pub async fn enqueue(env: &Env, org_id: Option<&str>, job: NewJob) -> Result<JobRow, ApiError> {
    let db = env.d1("DB").or_internal("D1 binding")?;
    let queue = env.queue("JOBS").or_internal("JOBS binding")?;
    let now = platform::rfc3339(platform::now());
    let row = JobRow {
        id: platform::new_id(IdKind::Job),
        org_id: org_id.map(str::to_owned),
        job_type: job.job_type.as_str().to_owned(),
        status: JobStatus::Queued.as_str().to_owned(),
        payload: job.payload,
        source: job.source.as_str().to_owned(),
        attempts: 0,
        result: None,
        error: None,
        created_at: now.clone(),
        updated_at: now,
    };
    repo::insert(&db, &row).await?;
    let message = JobMessage {
        job_id: row.id.clone(),
    };
    if let Err(e) = queue.send(&message).await {
        // Undo the row; if even that fails the sweep will find a queued job without message.
        let _ = repo::delete(&db, &row.id).await;
        let _ = crate::http::internal("enqueue job", e);
        return Err(ApiError::unavailable(
            "The job could not be queued; nothing was created. Try again.",
        )
        .with_header("Retry-After", "1"));
    }
    Ok(row)
}

/// Enqueues one of the edge's own `email` jobs (`source: "system"`); the customer's origin
/// renders and sends it. A failure is logged and swallowed: the write that asked for the email
/// has already committed.
pub async fn send_email(env: &Env, org_id: Option<&str>, payload: serde_json::Value) {
    let job = NewJob::system(JobType::Email, &payload);
    if let Err(e) = enqueue(env, org_id, job).await {
        let _ = crate::http::internal("enqueue email", e);
    }
}
