//! The webhook part of the cron sweep: at-least-once despite lost messages and dead workers.
//! A delivery still `pending` well past its time (its message was lost: a restart, a failed
//! send) or `delivering` past its lease (the worker died mid-attempt) gets a new message; the
//! claim lets only one run. Events past their plan's retention are removed.

use crate::db;
use crate::events::Message;
use crate::{platform, sql};
use edge_core::events::retention_days;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Env;

/// A pending delivery this far past due is taken to have lost its message.
const LOST_AFTER_MS: i64 = 10_000;

#[derive(Deserialize)]
struct Due {
    event_id: String,
    endpoint_id: String,
}

pub async fn run(env: &Env) -> Result<Value, ApiError> {
    let db = db::database(env)?;
    let now = platform::now();
    let now_ms = now.timestamp_millis();
    let due: Vec<Due> = db::all(sql!(
        db,
        "SELECT event_id, endpoint_id FROM webhook_deliveries \
         WHERE (status = 'pending' AND next_attempt_at < ?1) OR (status = 'delivering' AND lease_until < ?2) \
         LIMIT 500",
        now_ms - LOST_AFTER_MS,
        now_ms
    ))
    .await?;
    let mut sent = 0;
    if !due.is_empty() {
        let queue = env
            .queue("JOBS")
            .map_err(|e| crate::http::internal("JOBS binding", e))?;
        let messages: Vec<Message> = due
            .iter()
            .map(|d| Message {
                webhook_event: d.event_id.clone(),
                endpoint: Some(d.endpoint_id.clone()),
            })
            .collect();
        for chunk in messages.chunks(100) {
            if queue
                .send_batch(
                    chunk
                        .iter()
                        .cloned()
                        .map(worker::SendMessage::from)
                        .collect::<Vec<_>>(),
                )
                .await
                .is_ok()
            {
                sent += chunk.len();
            }
        }
    }
    let cutoff = |plan: &str| platform::rfc3339(now - chrono::Duration::days(retention_days(plan)));
    let expired = db::run(sql!(
        db,
        "DELETE FROM events WHERE id IN (SELECT e.id FROM events e JOIN organizations o ON o.id = e.org_id \
         WHERE e.occurred_at < CASE o.plan WHEN 'enterprise' THEN ?3 WHEN 'pro' THEN ?2 ELSE ?1 END LIMIT 1000)",
        cutoff("free"),
        cutoff("pro"),
        cutoff("enterprise")
    ))
    .await?;
    // Daily event counts older than yesterday no longer decide anything.
    let yesterday = edge_core::limits::day(now_ms - 86_400_000);
    db::run(sql!(
        db,
        "DELETE FROM event_volume WHERE day < ?1",
        &yesterday
    ))
    .await?;
    Ok(json!({"webhook_deliveries_resent": sent, "events_expired": expired}))
}
