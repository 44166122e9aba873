//! Customer webhook endpoints as a service: the endpoint row, its signing secret (derived from
//! `WEBHOOK_SIGNING_KEY`, the endpoint id and its generation, so nothing secret is stored),
//! and the delivery of events to it (`deliver`, run by the queue consumer; `sweep`, run by
//! the cron). The rules are `edge_core::webhooks`; the outbox that creates deliveries is
//! `crate::events`.

pub mod deliver;
pub mod sweep;

use crate::db;
use crate::sql;
use edge_core::config::Config;
use edge_core::origin_signing as signing;
use edge_core::webhooks as rules;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::D1Database;

/// The columns of [`EndpointRow`].
pub const ENDPOINT_COLUMNS: &str = "id, org_id, url, filter, description, enabled, \
     secret_generation, previous_until, failing_since, disabled_reason, created_at, updated_at";

#[derive(Debug, Clone, Deserialize)]
pub struct EndpointRow {
    pub id: String,
    pub org_id: String,
    pub url: String,
    pub filter: String,
    pub description: String,
    pub enabled: i64,
    pub secret_generation: u32,
    pub previous_until: Option<i64>,
    pub failing_since: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn ms_to_rfc3339(ms: Option<i64>) -> Option<String> {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(crate::platform::rfc3339)
}

impl EndpointRow {
    /// The endpoint as the API shows it: never the secret.
    pub fn public(&self) -> Value {
        let filter: Value = serde_json::from_str(&self.filter).unwrap_or_else(|_| json!([]));
        json!({
            "id": self.id,
            "org_id": self.org_id,
            "url": self.url,
            "event_types": filter,
            "description": self.description,
            "enabled": self.enabled != 0,
            "disabled_reason": self.disabled_reason,
            "failing_since": ms_to_rfc3339(self.failing_since),
            "secret_generation": self.secret_generation,
            "previous_secret_valid_until": ms_to_rfc3339(self.previous_until),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// The endpoint `id` of `org_id`, if it exists.
pub async fn load(
    db: &D1Database,
    org_id: &str,
    id: &str,
) -> Result<Option<EndpointRow>, ApiError> {
    if !edge_core::ids::is_id(edge_core::ids::IdKind::WebhookEndpoint, id) {
        return Ok(None);
    }
    db::first(sql!(
        db,
        &format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?1 AND org_id = ?2"),
        id,
        org_id
    ))
    .await
}

fn key(config: &Config, endpoint_id: &str, generation: u32) -> [u8; 32] {
    signing::webhook_key(
        config.webhook_signing_key.as_bytes(),
        &rules::secret_subject(endpoint_id),
        generation,
    )
}

/// The `whsec_…` secret of endpoint `endpoint_id` at `generation`.
pub fn secret(config: &Config, endpoint_id: &str, generation: u32) -> String {
    signing::webhook_secret(&key(config, endpoint_id, generation))
}

/// The keys that sign a delivery to `row` now (both during a rotation's overlap).
pub fn signing_keys(config: &Config, row: &EndpointRow, now_ms: i64) -> Vec<[u8; 32]> {
    rules::signing_generations(row.secret_generation, row.previous_until, now_ms)
        .into_iter()
        .map(|g| key(config, &row.id, g))
        .collect()
}
