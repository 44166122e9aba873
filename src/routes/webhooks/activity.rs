//! What happened and what was sent: `GET /v1/orgs/{org}/events` (the org's events, newest
//! first, `?type=` an exact type or `namespace.*`), `GET …/webhooks/{id}/attempts` (the
//! attempt log), `POST …/webhooks/{id}/events/{event}/replay` and `POST …/webhooks/{id}/test`
//! (a `webhook.test` event to this endpoint only). Admins and owners; another org's ids 404.

use super::endpoints::not_found;
use crate::admin;
use crate::ctx::Ctx;
use crate::db;
use crate::events::{Event, Message};
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::platform;
use crate::sql;
use crate::webhooks;
use edge_core::ids::{self, IdKind};
use edge_core::json::Checks;
use edge_core::policy::Action;
use edge_core::webhooks::Pattern;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
struct EventRow {
    id: String,
    payload: String,
    occurred_at: String,
}

pub async fn list_events(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let (exact, prefix) = match cx.query("type").as_deref() {
        None => (None, None),
        Some(t) => match Pattern::parse(t) {
            Ok(Pattern::All) => (None, None),
            Ok(Pattern::Namespace(ns)) => (None, Some(format!("{ns}."))),
            Ok(Pattern::Exact(t)) => (Some(t), None),
            Err(why) => {
                Checks::new().check(false, "type", why).finish()?;
                (None, None)
            }
        },
    };
    let scope = format!("{}|{}", access.org_id, cx.query("type").unwrap_or_default());
    let page = Page::from_query(cx, "events", &scope)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<EventRow> = db::all(sql!(
        db,
        "SELECT id, payload, occurred_at FROM events WHERE org_id = ?1 \
         AND (?5 IS NULL OR type = ?5) AND (?6 IS NULL OR substr(type, 1, length(?6)) = ?6) \
         AND (occurred_at < ?2 OR (occurred_at = ?2 AND id < ?3)) \
         ORDER BY occurred_at DESC, id DESC LIMIT ?4",
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32,
        exact,
        prefix
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |r| (r.occurred_at.clone(), r.id.clone()),
        |r| serde_json::from_str::<Value>(&r.payload).unwrap_or(Value::Null),
    )
}

#[derive(Deserialize)]
struct AttemptRow {
    event_id: String,
    attempt: u32,
    outcome: String,
    response_code: Option<u32>,
    latency_ms: i64,
    response_head: Option<String>,
    at: String,
}

fn attempt_key(r: &AttemptRow) -> (String, String) {
    (r.at.clone(), format!("{}/{:06}", r.event_id, r.attempt))
}

pub async fn list_attempts(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let endpoint = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    let page = Page::from_query(cx, "webhook-attempts", &endpoint.id)?;
    let (k, i) = page.after_key();
    let rows: Vec<AttemptRow> = db::all(sql!(
        db,
        "SELECT event_id, attempt, outcome, response_code, latency_ms, response_head, at \
         FROM webhook_attempts WHERE endpoint_id = ?1 \
         AND (at < ?2 OR (at = ?2 AND event_id || '/' || printf('%06d', attempt) < ?3)) \
         ORDER BY at DESC, event_id DESC, attempt DESC LIMIT ?4",
        &endpoint.id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(cx, rows, attempt_key, |r| {
        json!({
            "event_id": r.event_id, "attempt": r.attempt, "outcome": r.outcome,
            "response_code": r.response_code, "latency_ms": r.latency_ms,
            "response_head": r.response_head, "at": r.at,
        })
    })
}

async fn send_one(cx: &Ctx, event_id: &str, endpoint_id: &str) {
    let msg = Message {
        webhook_event: event_id.to_owned(),
        endpoint: Some(endpoint_id.to_owned()),
    };
    let sent = match cx.env.queue("JOBS") {
        Ok(q) => q.send(&msg).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        let _ = http::internal("send webhook message (the sweep will resend)", e);
    }
}

/// Sends the event again to this endpoint (same `webhook-id`), now. Only events the endpoint
/// was subscribed to when they happened can be replayed. A delivery under way or waiting for a
/// retry is made due now; the attempt under way is still logged but no longer decides it.
pub async fn replay(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let endpoint = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    let event_id = cx.param("event");
    let missing = || ApiError::not_found("No delivery of this event to this endpoint.");
    if !ids::is_id(IdKind::Event, event_id) {
        return Err(missing());
    }
    #[derive(Deserialize)]
    struct Status {
        status: String,
    }
    let now_ms = platform::now_ms();
    let now = platform::rfc3339(platform::now());
    let current: Option<Status> = db::first(sql!(
        db,
        // Due now, whatever its state: an attempt still under way (the receiver may already
        // have it) no longer decides the delivery, so the replay is never swallowed by it.
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?4, lease_until = NULL, updated_at = ?5 \
         WHERE event_id = ?1 AND endpoint_id = ?2 AND org_id = ?3 RETURNING status",
        event_id,
        &endpoint.id,
        &access.org_id,
        now_ms,
        &now
    ))
    .await?;
    let current = current.ok_or_else(missing)?;
    send_one(cx, event_id, &endpoint.id).await;
    http::json(
        202,
        &json!({"event_id": event_id, "endpoint_id": endpoint.id, "status": current.status}),
    )
}

/// A `webhook.test` event, delivered to this endpoint only (whatever its filter).
pub async fn test(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let endpoint = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    let event = Event::new(
        &access.org_id,
        "webhook.test",
        json!({"endpoint_id": endpoint.id, "actor": {"type": access.actor().kind, "id": access.actor().id}}),
    );
    let mut stmts = event.statements(&db)?;
    stmts.truncate(1); // not the filtered fan-out: this endpoint only
    stmts.push(sql!(
        db,
        "INSERT INTO webhook_deliveries (event_id, endpoint_id, org_id, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?5, ?5)",
        &event.id,
        &endpoint.id,
        &access.org_id,
        platform::now_ms(),
        &event.occurred_at
    )?);
    db::batch(&db, stmts)
        .await
        .map_err(|e| http::internal("write test event", e))?;
    send_one(cx, &event.id, &endpoint.id).await;
    http::json(
        202,
        &json!({"event_id": event.id, "endpoint_id": endpoint.id}),
    )
}
