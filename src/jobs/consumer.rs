//! The queue consumer: each message is one delivery attempt of one job, acknowledged or
//! retried on its own. The row in D1 decides whether the delivery runs at all, so a
//! duplicate message for a running or finished job never calls the origin twice.

use super::{origin, repo, webhook};
use crate::{config, platform};
use edge_core::jobs::{self, Decision, JobMessage, JobType, RetryPolicy};
use edge_core::ApiError;
use futures_util::future::join_all;
use serde_json::json;
use worker::{Env, Message, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

/// How long past the origin timeout a claimed job is protected from being retaken.
const LEASE_SLACK_MS: i64 = 30_000;

pub async fn handle_batch(batch: MessageBatch<serde_json::Value>, env: Env) -> worker::Result<()> {
    let dead_letter = batch.queue().ends_with("-dlq");
    let messages = batch.messages()?;
    let work = messages.iter().map(|m| async {
        let webhook = serde_json::from_value::<crate::events::Message>(m.body().clone());
        let outcome = if dead_letter {
            handle_dead_letter(m, &env).await
        } else if let Ok(msg) = webhook {
            // An event's deliveries to customer endpoints (acked: retries are new messages).
            crate::webhooks::deliver::handle(&env, msg)
                .await
                .map(|()| Ack::Done)
        } else {
            handle_one(m, &env).await
        };
        match outcome {
            Ok(Ack::Done) => m.ack(),
            Ok(Ack::RetryIn(delay)) => m.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(delay)
                    .build(),
            ),
            // Infrastructure failed (D1 unreachable…): let the queue deliver it again.
            Err(e) => {
                log("job_error", &m.id(), json!({"error": e.detail}));
                m.retry();
            }
        }
    });
    join_all(work).await;
    Ok(())
}

enum Ack {
    Done,
    RetryIn(u32),
}

async fn handle_one(m: &Message<serde_json::Value>, env: &Env) -> Result<Ack, ApiError> {
    if let Ok(g) = serde_json::from_value::<crate::generations::GenerationMessage>(m.body().clone())
    {
        // A generation streams within this one delivery; it is never retried by the queue
        // (retries happen inside, before the first token).
        crate::generations::run::run(env, &g.generation_id).await?;
        return Ok(Ack::Done);
    }
    if let Ok(e) = serde_json::from_value::<crate::exports::ExportMessage>(m.body().clone()) {
        // An account export: claimed by its row like a job, retried with its own policy.
        return Ok(
            match crate::exports::assemble::run(env, &e.export_id).await? {
                crate::exports::assemble::Outcome::Done => Ack::Done,
                crate::exports::assemble::Outcome::RetryIn(s) => Ack::RetryIn(s),
            },
        );
    }
    let Ok(JobMessage { job_id }) = serde_json::from_value::<JobMessage>(m.body().clone()) else {
        log("job_malformed_message", &m.id(), json!({}));
        return Ok(Ack::Done);
    };
    let config = config::load(env).map_err(|e| crate::http::internal("config", e))?;
    let db = env
        .d1("DB")
        .map_err(|e| crate::http::internal("D1 binding", e))?;
    let now_ms = platform::now_ms();
    let lease_until = now_ms + config.origin_timeout_ms as i64 + LEASE_SLACK_MS;
    let now = platform::rfc3339(platform::now());

    let Some(job) = repo::claim(&db, &job_id, now_ms, lease_until, &now).await? else {
        // Not claimable: gone, final (a duplicate delivery), or held by another delivery.
        return Ok(match repo::get(&db, &job_id).await? {
            Some(row) if row.status == "running" => {
                Ack::RetryIn(((config.origin_timeout_ms as i64 + LEASE_SLACK_MS) / 1000) as u32)
            }
            Some(row) if row.status == "queued" => Ack::RetryIn(1),
            _ => Ack::Done,
        });
    };

    let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or(json!({}));
    let delivery = if job.job_type == JobType::WebhookDeliver.as_str() {
        // The stored event to the named endpoint, signed with the endpoint's secret(s): the
        // caller controls neither the URL nor the bytes signed.
        webhook::deliver(&config, &db, job.org_id.as_deref(), &payload).await?
    } else {
        // The envelope is composed here, by the edge, and its signature binds the job's id,
        // type, org and attempt besides the body.
        let body = json!({
            "id": job.id,
            "type": job.job_type,
            "org_id": job.org_id,
            "attempt": job.attempts,
            "source": job.source,
            "payload": payload,
        })
        .to_string();
        origin::deliver_job(
            &config,
            &job.id,
            &job.job_type,
            job.org_id.as_deref(),
            job.attempts,
            &body,
        )
        .await
    };

    let policy = RetryPolicy {
        max_retries: config.job_max_retries,
        base_seconds: config.job_retry_base_seconds,
        max_seconds: config.job_retry_max_seconds,
    };
    let decision = jobs::decide(
        &delivery.outcome,
        job.attempts,
        policy,
        platform::unit_random(),
    );
    let now = platform::rfc3339(platform::now());
    let (status, error, ack) = match &decision {
        Decision::Succeed => ("succeeded", None, Ack::Done),
        Decision::Fail(e) => ("failed", Some(e.as_str()), Ack::Done),
        Decision::Retry {
            delay_seconds,
            error,
        } => ("queued", Some(error.as_str()), Ack::RetryIn(*delay_seconds)),
        Decision::Dead(e) => ("dead", Some(e.as_str()), Ack::Done),
    };
    // The `job.status_changed` event commits with the status, only if this finish applied.
    let event = job.org_id.as_deref().map(|org| {
        crate::events::Event::new(
            org,
            "job.status_changed",
            json!({"job": {"id": job.id, "type": job.job_type, "status": status, "attempts": job.attempts, "error": error}}),
        )
        .only_if(
            "SELECT 1 FROM jobs WHERE id = ?1 AND status = ?2 AND updated_at = ?3 AND lease_until IS NULL",
            vec![
                crate::db::V::from(&job.id),
                crate::db::V::from(status),
                crate::db::V::from(&now),
            ],
        )
    });
    // After the job's own UPDATE (index 0) in the finishing batch.
    let mut also = Vec::new();
    let fan_out = match &event {
        Some(e) => Some(crate::events::append(&mut also, &db, e)? + 1),
        None => None,
    };
    let (applied, results) = repo::finish(
        &db,
        &job.id,
        job.attempts,
        status,
        delivery.result.as_deref(),
        error,
        &now,
        also,
    )
    .await?;
    if let (true, Some(e), Some(at)) = (applied, &event, fan_out) {
        if crate::events::fanned_out(&results, at) {
            crate::events::send(env, std::slice::from_ref(&e.id)).await;
        }
    }
    log(
        "job_delivery",
        &m.id(),
        json!({"job_id": job.id, "attempt": job.attempts, "status": status, "applied": applied}),
    );
    if matches!(decision, Decision::Dead(_)) {
        send_to_dead_letter(env, &job.id).await;
    }
    if let (true, Some(org_id)) = (applied, job.org_id.as_deref()) {
        let event = json!({
            "type": "job.updated",
            "job": {"id": job.id, "type": job.job_type, "status": status, "attempts": job.attempts, "error": error},
            "ts": now,
        });
        if let Err(e) = crate::realtime::send(env, org_id, "jobs", &event).await {
            log(
                "job_publish_failed",
                &m.id(),
                json!({"error": e.to_string()}),
            );
        }
    }
    Ok(ack)
}

/// Keeps the dead job's message in the dead-letter queue, where operators can inspect and
/// replay it.
async fn send_to_dead_letter(env: &Env, job_id: &str) {
    let sent = match env.queue("JOBS_DLQ") {
        Ok(q) => {
            q.send(&JobMessage {
                job_id: job_id.to_owned(),
            })
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        log(
            "job_dead_letter_failed",
            job_id,
            json!({"error": e.to_string()}),
        );
    }
}

/// A message in the dead-letter queue: the queue gave up on it, so its job is `dead` (unless it
/// already finished).
async fn handle_dead_letter(m: &Message<serde_json::Value>, env: &Env) -> Result<Ack, ApiError> {
    let Ok(JobMessage { job_id }) = serde_json::from_value::<JobMessage>(m.body().clone()) else {
        return Ok(Ack::Done);
    };
    let db = env
        .d1("DB")
        .map_err(|e| crate::http::internal("D1 binding", e))?;
    let now = platform::rfc3339(platform::now());
    repo::mark_dead(&db, &job_id, "retries exhausted (dead-lettered)", &now).await?;
    log("job_dead_lettered", &m.id(), json!({"job_id": job_id}));
    Ok(Ack::Done)
}

fn log(msg: &str, message_id: &str, extra: serde_json::Value) {
    let mut line = json!({"level": "info", "msg": msg, "message_id": message_id});
    if let (Some(l), Some(e)) = (line.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    worker::console_log!("{line}");
}
