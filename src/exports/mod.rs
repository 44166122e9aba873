//! Account exports (`POST /v1/me/exports`): the route writes the row, a message on the `JOBS`
//! queue (`{"export_id": …}`) starts [`assemble::run`] in the consumer, which streams the
//! user's data into one JSON object in R2 under `users/{user_id}/exports/`. The sweep resends
//! lost messages, takes back assemblies whose consumer died, and deletes exports past their
//! retention. The rules are `edge_core::account_export`.

pub mod assemble;
mod upload;

use crate::{db, platform, sql, storage};
use edge_core::account_export::{self as rules, Status};
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::Env;

/// The queue message of an export.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportMessage {
    pub export_id: String,
}

/// Every column of an `account_exports` row, in [`ExportRow`]'s order.
pub const COLUMNS: &str = "id, user_id, status, attempts, size, sha256, counts, error, \
     created_at, updated_at, completed_at, expires_at";

#[derive(Debug, Clone, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub attempts: i64,
    pub size: Option<i64>,
    pub sha256: Option<String>,
    pub counts: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub expires_at: Option<i64>,
}

impl ExportRow {
    pub fn status(&self) -> Option<Status> {
        Status::parse(&self.status)
    }

    /// Ready and inside its retention: its object may be served.
    pub fn downloadable(&self, now: i64) -> bool {
        self.status() == Some(Status::Ready) && self.expires_at.is_some_and(|e| e > now)
    }

    pub fn key(&self) -> Result<String, ApiError> {
        rules::object_key(&self.user_id, &self.id, self.attempts)
            .ok_or_else(|| crate::http::internal("export key", "not an export of a user"))
    }

    /// The public representation; `download` is the signed URL and its expiry, when ready.
    pub fn public(&self, download: Option<(String, String)>) -> Value {
        let counts: Value = self
            .counts
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or(Value::Null);
        let (url, url_expires) = download.unzip();
        json!({
            "id": self.id,
            "status": self.status,
            "format": rules::FORMAT,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "completed_at": self.completed_at,
            "expires_at": self.expires_at.and_then(|e| chrono::DateTime::from_timestamp(e, 0)).map(platform::rfc3339),
            "size": self.size,
            "sha256": self.sha256,
            "counts": counts,
            "error": if self.status == "failed" { self.error.clone() } else { None },
            "download_url": url,
            "download_expires_at": url_expires,
        })
    }
}

/// The export `id` of user `user_id`, whatever its status (`None` for another user's).
pub async fn load(
    db: &worker::D1Database,
    user_id: &str,
    id: &str,
) -> Result<Option<ExportRow>, ApiError> {
    if !edge_core::ids::is_id(edge_core::ids::IdKind::Export, id) {
        return Ok(None);
    }
    db::first(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM account_exports WHERE id = ?1 AND user_id = ?2"),
        id,
        user_id
    ))
    .await
}

/// Sends the message of a written row; a failure is logged (the sweep re-sends).
pub async fn send(env: &Env, id: &str) {
    let sent = match env.queue("JOBS") {
        Ok(q) => {
            q.send(&ExportMessage {
                export_id: id.to_owned(),
            })
            .await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        let _ = crate::http::internal("send export message (the sweep resends)", e);
    }
}

#[derive(Deserialize)]
struct Due {
    id: String,
    user_id: String,
    #[serde(default)]
    attempts: i64,
}

/// The sweep's part: an assembly past its lease goes back to `queued` (or `failed` once its
/// attempts are spent) and queued ones quiet for a minute get their message again; ready
/// exports past their retention lose their object and become `expired`. Returns
/// `{requeued, resent, expired}`.
pub async fn sweep(env: &Env) -> Result<Value, ApiError> {
    let db = db::database(env)?;
    let now = platform::now();
    let stamp = platform::rfc3339(now);
    let failed = db::run(sql!(
        db,
        "UPDATE account_exports SET status = 'failed', lease_until = NULL, updated_at = ?2, \
         error = 'the assembly was interrupted too often' \
         WHERE status = 'running' AND lease_until < ?1 AND attempts >= ?3",
        now.timestamp_millis(),
        &stamp,
        rules::MAX_ATTEMPTS
    ))
    .await?;
    let requeued: Vec<Due> = db::all(sql!(
        db,
        "UPDATE account_exports SET status = 'queued', lease_until = NULL, updated_at = ?2, \
         error = 'the assembly was interrupted; requeued' \
         WHERE status = 'running' AND lease_until < ?1 RETURNING id, user_id",
        now.timestamp_millis(),
        &stamp
    ))
    .await?;
    let quiet = platform::rfc3339(now - chrono::Duration::seconds(60));
    let lost: Vec<Due> = db::all(sql!(
        db,
        "UPDATE account_exports SET updated_at = ?2 WHERE id IN (SELECT id FROM account_exports \
         WHERE status = 'queued' AND updated_at < ?1 LIMIT 50) RETURNING id, user_id",
        &quiet,
        &stamp
    ))
    .await?;
    for e in requeued.iter().chain(&lost) {
        send(env, &e.id).await;
    }
    let due: Vec<Due> = db::all(sql!(
        db,
        "SELECT id, user_id, attempts FROM account_exports WHERE status = 'ready' AND expires_at <= ?1 LIMIT 50",
        now.timestamp()
    ))
    .await?;
    let bucket = storage::bucket(env)?;
    let mut expired = 0;
    for e in &due {
        let Some(key) = rules::object_key(&e.user_id, &e.id, e.attempts) else {
            continue;
        };
        // The object first: a row left `ready` is retried by the next sweep.
        if bucket.delete(key).await.is_err() {
            continue;
        }
        expired += db::run(sql!(
            db,
            "UPDATE account_exports SET status = 'expired', updated_at = ?2 WHERE id = ?1 AND status = 'ready'",
            &e.id,
            &stamp
        ))
        .await?;
    }
    Ok(
        json!({"failed": failed, "requeued": requeued.len(), "resent": lost.len(), "expired": expired}),
    )
}
