//! `webhook.deliver`: the caller's body POSTed to the caller's URL, signed per the Standard
//! Webhooks spec (`webhook-id` = job id, `webhook-timestamp`, `webhook-signature: v1,<base64>`)
//! with the organization's own secret — never with `ORIGIN_SECRET`, never in the job format,
//! never to `ORIGIN_URL`. The secret is derived from `WEBHOOK_SIGNING_KEY`, the org id and the
//! org's `webhook_secret_generation` (`edge_core::origin_signing::webhook_key`).

use super::origin::{self, Delivery, Post};
use crate::http::OrInternal;
use crate::platform;
use edge_core::config::Config;
use edge_core::origin_signing as signing;
use edge_core::{webhook_target, ApiError};
use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::D1Database;

/// After a rotation, deliveries carry a signature with the previous secret too, this long, so
/// receivers can switch without losing deliveries.
pub const ROTATION_GRACE_SECONDS: i64 = 24 * 3600;

/// Whether `url` may receive a webhook (at creation and at every redirect hop).
pub fn allowed(config: &Config, url: &str) -> Result<(), String> {
    webhook_target::check(url, &config.origin_url, &config.outbound_allow_hosts)
}

/// An organization's current webhook secret generation.
#[derive(Debug, Clone, Deserialize)]
pub struct Generation {
    pub generation: u32,
    /// When this generation began.
    pub created_at: String,
}

/// The org's generation, `None` if the org does not exist.
pub async fn generation(db: &D1Database, org_id: &str) -> Result<Option<Generation>, ApiError> {
    db.prepare(
        "SELECT webhook_secret_generation AS generation, \
         COALESCE(webhook_secret_rotated_at, created_at) AS created_at \
         FROM organizations WHERE id = ?1",
    )
    .bind(&[JsValue::from(org_id)])
    .or_internal("bind webhook generation")?
    .first::<Generation>(None)
    .await
    .or_internal("webhook generation")
}

/// The `whsec_…` secret of `org_id` at `generation`.
pub fn secret(config: &Config, org_id: &str, generation: u32) -> String {
    signing::webhook_secret(&signing::webhook_key(
        config.webhook_signing_key.as_bytes(),
        org_id,
        generation,
    ))
}

/// Delivers `body` for job `job_id` of `org_id` to `url`.
pub async fn deliver(
    config: &Config,
    db: &D1Database,
    job_id: &str,
    org_id: Option<&str>,
    url: &str,
    body: &str,
) -> Result<Delivery, ApiError> {
    let Some(org_id) = org_id else {
        return Ok(Delivery::blocked("a webhook needs an organization"));
    };
    let Some(current) = generation(db, org_id).await? else {
        return Ok(Delivery::blocked("the organization no longer exists"));
    };
    let now_ms = platform::now_ms();
    let t = now_ms / 1000;
    let key = |g: u32| signing::webhook_key(config.webhook_signing_key.as_bytes(), org_id, g);
    let mut keys = vec![key(current.generation)];
    let since = chrono::DateTime::parse_from_rfc3339(&current.created_at)
        .map(|d| d.timestamp())
        .unwrap_or(0);
    if current.generation > 1 && t - since < ROTATION_GRACE_SECONDS {
        keys.push(key(current.generation - 1));
    }
    let post = Post {
        url: url.to_owned(),
        headers: vec![
            ("webhook-id", job_id.to_owned()),
            ("webhook-timestamp", t.to_string()),
            (
                "webhook-signature",
                signing::webhook_signature_header(&keys, job_id, t, body.as_bytes()),
            ),
        ],
        body,
        checked: true,
    };
    Ok(origin::send(config, post).await)
}
