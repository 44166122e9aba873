//! One queue message (`events::Message`): every due delivery of an event (or the one to a
//! named endpoint) is claimed, POSTed with the Standard Webhooks headers — `webhook-id` is the
//! event id, the same on every attempt, so receivers dedupe — signed at delivery time with the
//! endpoint's secret(s), logged as an attempt, and then done, retried by a delayed message on
//! the schedule, failed, or the endpoint disabled (`edge_core::webhooks::decide`). The claim
//! is a conditional UPDATE, so duplicate messages never deliver one attempt twice; a message
//! that is lost, or a worker that dies mid-delivery, is made good by `sweep`.

use super::{signing_keys, EndpointRow, ENDPOINT_COLUMNS};
use crate::db::{self, V};
use crate::events::Message;
use crate::jobs::origin::{self, Post};
use crate::{config, platform, sql};
use edge_core::config::Config;
use edge_core::jobs::OriginOutcome;
use edge_core::origin_signing as signing;
use edge_core::webhooks::{self as rules, Health, Verdict};
use edge_core::ApiError;
use futures_util::future::join_all;
use serde::Deserialize;
use serde_json::json;
use worker::{D1Database, Env};

/// A claimed delivery is protected this long past the timeout before the sweep retakes it.
pub const LEASE_SLACK_MS: i64 = 5_000;
/// A message may arrive this early for its attempt.
const EARLY_MS: i64 = 2_000;

#[derive(Deserialize)]
struct Claimed {
    endpoint_id: String,
    attempts: u32,
}

#[derive(Deserialize)]
struct EventRow {
    org_id: String,
    payload: String,
}

/// Handles one message; an `Err` (storage down) lets the queue deliver it again.
pub async fn handle(env: &Env, msg: Message) -> Result<(), ApiError> {
    let config = config::load(env).map_err(|e| crate::http::internal("config", e))?;
    let db = db::database(env)?;
    let now_ms = platform::now_ms();
    let lease = now_ms + i64::from(config.origin_timeout_ms) + LEASE_SLACK_MS;
    let stamp = platform::rfc3339(platform::now());
    let claimed: Vec<Claimed> = db::all(sql!(
        db,
        "UPDATE webhook_deliveries SET status = 'delivering', attempts = attempts + 1, \
         lease_until = ?3, updated_at = ?4 \
         WHERE event_id = ?1 AND (?2 IS NULL OR endpoint_id = ?2) \
         AND ((status = 'pending' AND next_attempt_at <= ?5) OR (status = 'delivering' AND lease_until < ?6)) \
         RETURNING endpoint_id, attempts",
        &msg.webhook_event,
        msg.endpoint.clone(),
        lease,
        &stamp,
        now_ms + EARLY_MS,
        now_ms
    ))
    .await?;
    if claimed.is_empty() {
        return Ok(());
    }
    let event: Option<EventRow> = db::first(sql!(
        db,
        "SELECT org_id, payload FROM events WHERE id = ?1",
        &msg.webhook_event
    ))
    .await?;
    let Some(event) = event else {
        return Ok(());
    };
    let work = claimed
        .iter()
        .map(|c| attempt(env, &config, &db, &msg.webhook_event, &event, c));
    for r in join_all(work).await {
        r?;
    }
    Ok(())
}

async fn attempt(
    env: &Env,
    config: &Config,
    db: &D1Database,
    event_id: &str,
    event: &EventRow,
    c: &Claimed,
) -> Result<(), ApiError> {
    let endpoint: Option<EndpointRow> = db::first(sql!(
        db,
        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND org_id = ?2"),
        &c.endpoint_id,
        &event.org_id
    ))
    .await?;
    let Some(endpoint) = endpoint else {
        return Ok(()); // deleted: its deliveries went with it
    };
    let started = platform::now_ms();
    let delivery = if endpoint.enabled == 0 {
        origin::Delivery::blocked("the endpoint is disabled")
    } else {
        let t = started / 1000;
        let keys = signing_keys(config, &endpoint, started);
        let body = event.payload.as_str();
        let post = Post {
            url: endpoint.url.clone(),
            headers: vec![
                ("webhook-id", event_id.to_owned()),
                ("webhook-timestamp", t.to_string()),
                (
                    "webhook-signature",
                    signing::webhook_signature_header(&keys, event_id, t, body.as_bytes()),
                ),
            ],
            body,
            checked: true,
        };
        origin::send(config, post).await
    };
    let finished = platform::now_ms();
    let verdict = rules::decide(
        &delivery.outcome,
        c.attempts,
        &config.webhook_schedule,
        Health {
            failing_since_ms: endpoint.failing_since,
            now_ms: finished,
            disable_after_s: config.webhook_disable_after_seconds,
        },
    );
    record(
        db,
        event_id,
        &endpoint,
        c.attempts,
        &delivery,
        &verdict,
        finished - started,
    )
    .await?;
    log(
        event_id,
        &endpoint.id,
        c.attempts,
        &delivery.outcome,
        &verdict,
    );
    match &verdict {
        Verdict::Retry(delay) => {
            let msg = Message {
                webhook_event: event_id.to_owned(),
                endpoint: Some(endpoint.id.clone()),
            };
            let sent = match env.queue("JOBS") {
                Ok(q) => {
                    q.send(
                        worker::MessageBuilder::new(msg)
                            .delay_seconds(*delay)
                            .build(),
                    )
                    .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                let _ = crate::http::internal("schedule webhook retry (the sweep will)", e);
            }
        }
        Verdict::Disable(reason) if endpoint.enabled != 0 => {
            notify_admins(env, db, &endpoint, reason).await;
        }
        _ => {}
    }
    Ok(())
}

/// The attempt's log row, the delivery's new state and the endpoint's health, in one batch.
async fn record(
    db: &D1Database,
    event_id: &str,
    endpoint: &EndpointRow,
    attempt: u32,
    delivery: &origin::Delivery,
    verdict: &Verdict,
    latency_ms: i64,
) -> Result<(), ApiError> {
    let now_ms = platform::now_ms();
    let stamp = platform::rfc3339(platform::now());
    let code = match delivery.outcome {
        OriginOutcome::Answered(s) => Some(u32::from(s)),
        _ => None,
    };
    let head = delivery.head.clone().or_else(|| match &delivery.outcome {
        OriginOutcome::Unreachable(why) | OriginOutcome::Blocked(why) => Some(why.clone()),
        OriginOutcome::TimedOut => Some("no answer within the timeout".to_owned()),
        OriginOutcome::Answered(_) => None,
    });
    let (status, next) = match verdict {
        Verdict::Delivered => ("succeeded", now_ms),
        Verdict::Retry(d) => ("pending", now_ms + i64::from(*d) * 1000),
        Verdict::Failed | Verdict::Disable(_) => ("failed", now_ms),
    };
    let mut stmts = vec![
        sql!(
            db,
            "INSERT OR REPLACE INTO webhook_attempts (event_id, endpoint_id, attempt, outcome, response_code, latency_ms, response_head, at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            event_id,
            &endpoint.id,
            attempt,
            rules::outcome_label(&delivery.outcome),
            code,
            latency_ms.max(0),
            head,
            &stamp
        )?,
        sql!(
            db,
            "UPDATE webhook_deliveries SET status = ?4, next_attempt_at = ?5, lease_until = NULL, updated_at = ?6 \
             WHERE event_id = ?1 AND endpoint_id = ?2 AND attempts = ?3 AND status = 'delivering'",
            event_id,
            &endpoint.id,
            attempt,
            status,
            next,
            &stamp
        )?,
    ];
    stmts.push(match verdict {
        Verdict::Delivered => sql!(
            db,
            "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?1 AND failing_since IS NOT NULL",
            &endpoint.id
        )?,
        Verdict::Disable(reason) => sql!(
            db,
            "UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?2, updated_at = ?3, \
             failing_since = COALESCE(failing_since, ?4) WHERE id = ?1",
            &endpoint.id,
            reason.as_str(),
            &stamp,
            now_ms
        )?,
        _ => sql!(
            db,
            "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?2) WHERE id = ?1",
            &endpoint.id,
            V::from(now_ms)
        )?,
    });
    db::batch(db, stmts)
        .await
        .map_err(|e| crate::http::internal("record webhook attempt", e))?;
    Ok(())
}

/// An `email` job to each owner and admin of the org: the endpoint was disabled.
async fn notify_admins(env: &Env, db: &D1Database, endpoint: &EndpointRow, reason: &str) {
    #[derive(Deserialize)]
    struct Admin {
        email: String,
    }
    let admins: Vec<Admin> = db::all(sql!(
        db,
        "SELECT u.email AS email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = ?1 AND m.role IN ('owner', 'admin')",
        &endpoint.org_id
    ))
    .await
    .unwrap_or_default();
    for a in admins {
        let payload = json!({
            "to": a.email,
            "template": "webhook_endpoint_disabled",
            "endpoint_id": endpoint.id,
            "url": endpoint.url,
            "reason": reason,
        });
        crate::jobs::send_email(env, Some(&endpoint.org_id), payload).await;
    }
}

fn log(event_id: &str, endpoint_id: &str, attempt: u32, outcome: &OriginOutcome, v: &Verdict) {
    worker::console_log!(
        "{}",
        json!({"level": "info", "msg": "webhook_attempt", "event_id": event_id,
               "endpoint_id": endpoint_id, "attempt": attempt,
               "outcome": rules::outcome_label(outcome), "verdict": format!("{v:?}")})
    );
}
