//! The `generations` rows: insert, read, claim, checkpoint, cancel. Decisions about which moves
//! are allowed are `edge_core::generations::Status`; each statement here only makes the move
//! it is asked for, conditionally on the row's current state (so races lose cleanly).

use crate::db;
use crate::sql;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::D1Database;

pub const COLUMNS: &str = "id, org_id, doc_id, user_id, prompt, prompt_chars, prompt_sha256, mode, position, \
     model, max_tokens, token_limit, temperature, status, cancel_requested, attempts, text_so_far, chunks, \
     tokens_reserved, prompt_tokens, completion_tokens, tokens_estimated, error, doc_version, \
     lease_until, created_at, updated_at, started_at, finished_at";

#[derive(Debug, Clone, Deserialize)]
pub struct GenRow {
    pub id: String,
    pub org_id: String,
    pub doc_id: String,
    pub user_id: String,
    pub prompt: String,
    pub prompt_chars: i64,
    pub prompt_sha256: String,
    pub mode: String,
    pub position: Option<i64>,
    pub model: String,
    pub max_tokens: i64,
    pub token_limit: i64,
    pub temperature: Option<f64>,
    pub status: String,
    pub cancel_requested: i64,
    pub attempts: i64,
    pub text_so_far: String,
    pub chunks: i64,
    pub tokens_reserved: i64,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub tokens_estimated: i64,
    pub error: Option<String>,
    pub doc_version: Option<i64>,
    pub lease_until: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

impl GenRow {
    /// The public shape (never the prompt itself).
    pub fn public(&self) -> Value {
        let tokens = match (self.prompt_tokens, self.completion_tokens) {
            (Some(p), Some(c)) => json!({
                "prompt": p, "completion": c, "total": p + c, "estimated": self.tokens_estimated != 0,
            }),
            _ => Value::Null,
        };
        json!({
            "id": self.id, "document_id": self.doc_id, "user_id": self.user_id,
            "status": self.status, "cancel_requested": self.cancel_requested != 0,
            "mode": self.mode, "position": self.position, "model": self.model,
            "max_tokens": self.max_tokens, "prompt_chars": self.prompt_chars,
            "attempts": self.attempts, "text": self.text_so_far, "chunks": self.chunks,
            "tokens": tokens, "version": self.doc_version,
            "error": self.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()),
            "created_at": self.created_at, "updated_at": self.updated_at,
            "started_at": self.started_at, "finished_at": self.finished_at,
        })
    }
}

pub fn insert_stmt(db: &D1Database, r: &GenRow) -> Result<worker::D1PreparedStatement, ApiError> {
    let temperature = r.temperature.map(wasm_bindgen::JsValue::from_f64);
    crate::db::prepare(
        db,
        "INSERT INTO generations (id, org_id, doc_id, user_id, prompt, prompt_chars, prompt_sha256, mode, \
         position, model, max_tokens, token_limit, temperature, status, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?14, ?12, 'queued', ?13, ?13)",
        vec![
            db::V::from(&r.id).0,
            db::V::from(&r.org_id).0,
            db::V::from(&r.doc_id).0,
            db::V::from(&r.user_id).0,
            db::V::from(&r.prompt).0,
            db::V::from(r.prompt_chars).0,
            db::V::from(&r.prompt_sha256).0,
            db::V::from(&r.mode).0,
            db::V::from(r.position).0,
            db::V::from(&r.model).0,
            db::V::from(r.max_tokens).0,
            temperature.unwrap_or(wasm_bindgen::JsValue::NULL),
            db::V::from(&r.created_at).0,
            db::V::from(r.token_limit).0,
        ],
    )
}

pub async fn get(db: &D1Database, id: &str) -> Result<Option<GenRow>, ApiError> {
    db::first(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM generations WHERE id = ?1"),
        id
    ))
    .await
}

/// `queued` → `running` for exactly one consumer, with a lease; `None` if not queued.
pub async fn claim(
    db: &D1Database,
    id: &str,
    lease_until: i64,
    now: &str,
) -> Result<Option<GenRow>, ApiError> {
    db::first(sql!(
        db,
        &format!(
            "UPDATE generations SET status = 'running', attempts = 0, lease_until = ?2, \
             started_at = ?3, updated_at = ?3 WHERE id = ?1 AND status = 'queued' AND cancel_requested = 0 \
             RETURNING {COLUMNS}"
        ),
        id,
        lease_until,
        now
    ))
    .await
}

/// Saves what was written so far and extends the lease; says whether a cancel was asked for.
/// `None` when the row is no longer running (the sweep settled it).
#[allow(clippy::too_many_arguments)]
pub async fn checkpoint(
    db: &D1Database,
    id: &str,
    text: &str,
    chunks: i64,
    reserved: i64,
    attempts: i64,
    lease_until: i64,
    now: &str,
) -> Result<Option<bool>, ApiError> {
    #[derive(Deserialize)]
    struct Flag {
        cancel_requested: i64,
    }
    let row: Option<Flag> = db::first(sql!(
        db,
        "UPDATE generations SET text_so_far = ?2, chunks = ?3, tokens_reserved = ?4, attempts = ?5, \
         lease_until = ?6, updated_at = ?7 WHERE id = ?1 AND status = 'running' RETURNING cancel_requested",
        id,
        text,
        chunks,
        reserved,
        attempts,
        lease_until,
        now
    ))
    .await?;
    Ok(row.map(|f| f.cancel_requested != 0))
}

/// A queued generation is cancelled at once; a running one is flagged for its consumer.
/// Returns the row after the change.
pub async fn request_cancel(
    db: &D1Database,
    id: &str,
    now: &str,
) -> Result<Option<GenRow>, ApiError> {
    db::first(sql!(
        db,
        &format!(
            "UPDATE generations SET cancel_requested = 1, updated_at = ?2, \
             status = CASE status WHEN 'queued' THEN 'cancelled' ELSE status END, \
             finished_at = CASE status WHEN 'queued' THEN ?2 ELSE finished_at END \
             WHERE id = ?1 AND status IN ('queued', 'running') RETURNING {COLUMNS}"
        ),
        id,
        now
    ))
    .await
}
