//! `webhook.deliver`: "send this event to this endpoint now". The payload names one of the
//! organization's endpoints and one of its events that endpoint was subscribed to (or its
//! `webhook.test` event); the job POSTs the event exactly as stored, signed per the Standard
//! Webhooks spec with the endpoint's own secret(s), `webhook-id` = the event id (so receivers
//! dedupe it with the event's other deliveries). Nothing a caller sends is signed: there is no
//! caller URL and no caller body.

use super::origin::{self, Delivery, Post};
use crate::{db, platform, sql};
use edge_core::config::Config;
use edge_core::ids::{self, IdKind};
use edge_core::origin_signing as signing;
use edge_core::{webhook_target, ApiError};
use serde::Deserialize;
use worker::D1Database;

/// Whether `url` may receive a webhook (at endpoint creation and at every redirect hop).
pub fn allowed(config: &Config, url: &str) -> Result<(), String> {
    webhook_target::check(url, &config.origin_url, &config.outbound_allow_hosts)
}

/// A `webhook.deliver` job's payload: exactly these two members.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub endpoint_id: String,
    pub event_id: String,
}

/// What a payload must be, for the validation error.
pub const TARGET_SHAPE: &str = "must be {\"endpoint_id\": \"whe_…\", \"event_id\": \"evt_…\"}: \
     a webhook.deliver job sends a stored event to one of the organization's endpoints";

/// Whether `t` names an event of `org_id` that was fanned out to endpoint `t.endpoint_id` of
/// `org_id` (the event happened while the endpoint was subscribed to its type).
pub async fn deliverable(db: &D1Database, org_id: &str, t: &Target) -> Result<bool, ApiError> {
    if !ids::is_id(IdKind::WebhookEndpoint, &t.endpoint_id)
        || !ids::is_id(IdKind::Event, &t.event_id)
    {
        return Ok(false);
    }
    #[derive(Deserialize)]
    struct One {
        #[allow(dead_code)]
        one: i64,
    }
    let row: Option<One> = db::first(sql!(
        db,
        "SELECT 1 AS one FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id \
         WHERE d.event_id = ?1 AND d.endpoint_id = ?2 AND d.org_id = ?3 AND e.org_id = ?3",
        &t.event_id,
        &t.endpoint_id,
        org_id
    ))
    .await?;
    Ok(row.is_some())
}

#[derive(Deserialize)]
struct Stored {
    payload: String,
}

/// Delivers the job's event to its endpoint, now.
pub async fn deliver(
    config: &Config,
    db: &D1Database,
    org_id: Option<&str>,
    payload: &serde_json::Value,
) -> Result<Delivery, ApiError> {
    let Some(org_id) = org_id else {
        return Ok(Delivery::blocked("a webhook needs an organization"));
    };
    let Ok(target) = serde_json::from_value::<Target>(payload.clone()) else {
        return Ok(Delivery::blocked("the payload names no endpoint and event"));
    };
    let Some(endpoint) = crate::webhooks::load(db, org_id, &target.endpoint_id).await? else {
        return Ok(Delivery::blocked("the endpoint no longer exists"));
    };
    if endpoint.enabled == 0 {
        return Ok(Delivery::blocked("the endpoint is disabled"));
    }
    let event: Option<Stored> = db::first(sql!(
        db,
        "SELECT payload FROM events WHERE id = ?1 AND org_id = ?2",
        &target.event_id,
        org_id
    ))
    .await?;
    let Some(event) = event else {
        return Ok(Delivery::blocked("the event no longer exists"));
    };
    let now_ms = platform::now_ms();
    let t = now_ms / 1000;
    let keys = crate::webhooks::signing_keys(config, &endpoint, now_ms);
    let post = Post {
        url: endpoint.url.clone(),
        headers: vec![
            ("webhook-id", target.event_id.clone()),
            ("webhook-timestamp", t.to_string()),
            (
                "webhook-signature",
                signing::webhook_signature_header(
                    &keys,
                    &target.event_id,
                    t,
                    event.payload.as_bytes(),
                ),
            ),
        ],
        body: &event.payload,
        checked: true,
    };
    Ok(origin::send(config, post).await)
}
