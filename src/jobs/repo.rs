//! The `jobs` table. Every status change is one conditional UPDATE, so concurrent or
//! duplicate deliveries cannot both win: the claim moves `queued → running` (or retakes a
//! `running` job whose lease ran out), and the finish only applies to the attempt that claimed.

use crate::http::OrInternal;
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::D1Database;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub org_id: Option<String>,
    #[serde(rename = "type")]
    pub job_type: String,
    pub status: String,
    pub payload: String,
    /// `system` or `api` (`edge_core::jobs::JobSource`); older rows and lists without it: `api`.
    #[serde(default = "api_source")]
    pub source: String,
    pub attempts: u32,
    pub result: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn api_source() -> String {
    "api".to_owned()
}

impl JobRow {
    /// The job as the API shows it.
    pub fn public(&self) -> Value {
        let result = self
            .result
            .as_deref()
            .map(|r| serde_json::from_str::<Value>(r).unwrap_or_else(|_| Value::from(r)));
        json!({
            "id": self.id,
            "org_id": self.org_id,
            "type": self.job_type,
            "status": self.status,
            "attempts": self.attempts,
            "result": result,
            "error": self.error,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

fn s(v: &str) -> JsValue {
    JsValue::from(v)
}

fn opt(v: Option<&str>) -> JsValue {
    v.map(JsValue::from).unwrap_or(JsValue::NULL)
}

pub async fn insert(db: &D1Database, row: &JobRow) -> Result<(), ApiError> {
    db.prepare(
        "INSERT INTO jobs (id, org_id, type, status, payload, attempts, created_at, updated_at, source) \
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)",
    )
    .bind(&[
        s(&row.id),
        opt(row.org_id.as_deref()),
        s(&row.job_type),
        s(&row.status),
        s(&row.payload),
        s(&row.created_at),
        s(&row.updated_at),
        s(&row.source),
    ])
    .or_internal("bind job insert")?
    .run()
    .await
    .or_internal("insert job")?;
    Ok(())
}

pub async fn delete(db: &D1Database, id: &str) -> Result<(), ApiError> {
    db.prepare("DELETE FROM jobs WHERE id = ?1")
        .bind(&[s(id)])
        .or_internal("bind job delete")?
        .run()
        .await
        .or_internal("delete job")?;
    Ok(())
}

const COLUMNS: &str =
    "id, org_id, type, status, payload, source, attempts, result, error, created_at, updated_at";

/// Whether `file_id` names a file of `org_id` (in any state but being deleted).
pub async fn file_of_org(db: &D1Database, file_id: &str, org_id: &str) -> Result<bool, ApiError> {
    let row = db
        .prepare(
            "SELECT 1 AS one FROM files WHERE id = ?1 AND org_id = ?2 AND status <> 'deleting'",
        )
        .bind(&[s(file_id), s(org_id)])
        .or_internal("bind file lookup")?
        .first::<Value>(None)
        .await
        .or_internal("file lookup")?;
    Ok(row.is_some())
}

pub async fn get(db: &D1Database, id: &str) -> Result<Option<JobRow>, ApiError> {
    db.prepare(format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))
        .bind(&[s(id)])
        .or_internal("bind job get")?
        .first::<JobRow>(None)
        .await
        .or_internal("get job")
}

/// Takes the job for one delivery: `queued`, or `running` with an expired lease, becomes
/// `running` with `attempts + 1` and a lease until `lease_until_ms`. `None` if another
/// delivery holds it or it is final.
pub async fn claim(
    db: &D1Database,
    id: &str,
    now_ms: i64,
    lease_until_ms: i64,
    now: &str,
) -> Result<Option<JobRow>, ApiError> {
    db.prepare(format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_until = ?2, \
         updated_at = ?3 \
         WHERE id = ?1 AND (status = 'queued' OR (status = 'running' AND lease_until < ?4)) \
         RETURNING {COLUMNS}"
    ))
    .bind(&[
        s(id),
        JsValue::from(lease_until_ms as f64),
        s(now),
        JsValue::from(now_ms as f64),
    ])
    .or_internal("bind job claim")?
    .first::<JobRow>(None)
    .await
    .or_internal("claim job")
}

/// Records the outcome of the delivery that claimed `attempt`. Returns whether it applied
/// (false if the lease was lost and another delivery took over).
/// Finishes the attempt that claimed the job, with `also` (its outbox event) in the same
/// batch; `true` if this attempt's finish applied.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    db: &D1Database,
    id: &str,
    attempt: u32,
    status: &str,
    result: Option<&str>,
    error: Option<&str>,
    now: &str,
    also: Vec<worker::D1PreparedStatement>,
) -> Result<(bool, Vec<worker::D1Result>), ApiError> {
    let update = db
        .prepare(
            "UPDATE jobs SET status = ?3, result = COALESCE(?4, result), error = ?5, \
             lease_until = NULL, updated_at = ?6 \
             WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        )
        .bind(&[
            s(id),
            JsValue::from(attempt),
            s(status),
            opt(result),
            opt(error),
            s(now),
        ])
        .or_internal("bind job finish")?;
    let mut stmts = vec![update];
    stmts.extend(also);
    let results = db.batch(stmts).await.or_internal("finish job")?;
    Ok((results.first().map_or(0, crate::db::changes) > 0, results))
}

/// A job whose message reached the dead-letter queue: `dead` unless already final.
pub async fn mark_dead(db: &D1Database, id: &str, error: &str, now: &str) -> Result<(), ApiError> {
    db.prepare(
        "UPDATE jobs SET status = 'dead', error = COALESCE(error, ?2), lease_until = NULL, \
         updated_at = ?3 WHERE id = ?1 AND status IN ('queued', 'running')",
    )
    .bind(&[s(id), s(error), s(now)])
    .or_internal("bind job dead")?
    .run()
    .await
    .or_internal("mark job dead")?;
    Ok(())
}
