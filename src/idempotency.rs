//! The `Idempotency-Key` layer every creating POST goes through: one run per (organization,
//! credential, key), the stored first response replayed with `Idempotent-Replayed: true`.
//! The rules are `edge_core::idempotency`; the record lives in D1, and taking a key is one
//! `INSERT … ON CONFLICT DO NOTHING`, so of concurrent requests with one key exactly one runs.
//! The record names its owner, a value generated for the request that took it
//! (`platform::claim`): storing the response or releasing the key is conditional on it, and a
//! record whose lock expired is taken over by one conditional `UPDATE` (on the owner and
//! creation time that were judged stale). An owner whose record was taken over writes nothing
//! (its client still gets its response; a retry gets the new owner's).

use crate::auth::{Credential, OrgAccess};
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult, OrInternal};
use crate::platform;
use crate::sql;
use edge_core::idempotency::{self, Record, Verdict};
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::future::Future;
use worker::{D1Database, Headers, Response};

/// Headers of the first response that a replay repeats.
const REPLAYED_HEADERS: [&str; 3] = ["Content-Type", "Location", "ETag"];

#[derive(Deserialize)]
struct Row {
    fingerprint: String,
    done: i64,
    response_status: Option<u16>,
    response_headers: Option<String>,
    response_body: Option<String>,
    created_at: i64,
    expires_at: i64,
    owner: Option<String>,
}

/// Runs `handler` under the request's `Idempotency-Key`, if it has one.
pub async fn run<F, Fut>(cx: &Ctx, access: &OrgAccess, body: &[u8], handler: F) -> ApiResult
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ApiResult>,
{
    let Some(key) = cx.header("Idempotency-Key") else {
        return handler().await;
    };
    if !idempotency::valid_key(&key) {
        return Err(ApiError::validation_failed(
            "The Idempotency-Key header must be 1 to 255 visible ASCII characters.",
        )
        .with_errors(vec![FieldError::new("Idempotency-Key", "invalid")]));
    }
    let credential = match &access.credential {
        Credential::User { user_id, .. } => user_id.clone(),
        Credential::ApiKey(k) => k.id.clone(),
    };
    let scope = format!("{}:{credential}", access.org_id);
    let fingerprint = idempotency::fingerprint(&cx.head.method, &cx.head.path, body);
    let db = db::database(&cx.env)?;

    let owner = platform::claim();
    let mut taken = false;
    for _ in 0..3 {
        let now = platform::now().timestamp();
        let inserted = db::run(sql!(
            db,
            "INSERT INTO idempotency_keys (scope, key, fingerprint, done, created_at, expires_at, owner) \
             VALUES (?1, ?2, ?3, 0, ?4, ?5, ?6) ON CONFLICT (scope, key) DO NOTHING",
            &scope,
            &key,
            &fingerprint,
            now,
            now + idempotency::TTL_SECONDS,
            &owner
        ))
        .await?;
        if inserted == 1 {
            taken = true;
            break;
        }
        let Some(row) = db::first::<Row>(sql!(
            db,
            "SELECT fingerprint, done, response_status, response_headers, response_body, created_at, expires_at, owner \
             FROM idempotency_keys WHERE scope = ?1 AND key = ?2",
            &scope,
            &key
        ))
        .await?
        else {
            continue;
        };
        let record = Record {
            fingerprint: row.fingerprint.clone(),
            done: row.done != 0,
            created_at: row.created_at,
            expires_at: row.expires_at,
        };
        match idempotency::judge(&record, &fingerprint, now) {
            Verdict::Replay => return replay(&row),
            Verdict::Mismatch => {
                return Err(ApiError::idempotency_key_reused(
                    "This Idempotency-Key was used with a different request; use a new key.",
                ))
            }
            Verdict::InFlight => {
                return Err(ApiError::conflict(
                    "A request with this Idempotency-Key is still being processed.",
                )
                .with_header("Retry-After", "1"))
            }
            Verdict::Stale => {
                // Taken over only as judged: same owner, same creation, same state.
                let took = db::run(sql!(
                    db,
                    "UPDATE idempotency_keys SET fingerprint = ?3, done = 0, response_status = NULL, \
                     response_headers = NULL, response_body = NULL, created_at = ?4, expires_at = ?5, owner = ?6 \
                     WHERE scope = ?1 AND key = ?2 AND created_at = ?7 AND done = ?8 AND owner IS ?9",
                    &scope,
                    &key,
                    &fingerprint,
                    now,
                    now + idempotency::TTL_SECONDS,
                    &owner,
                    row.created_at,
                    row.done,
                    row.owner.clone()
                ))
                .await?;
                if took == 1 {
                    taken = true;
                    break;
                }
            }
        }
    }
    if !taken {
        return Err(
            ApiError::conflict("The Idempotency-Key is contended; try again.")
                .with_header("Retry-After", "1"),
        );
    }

    let result = handler().await;
    let (status, headers, body, result) = match result {
        Ok(mut resp) => {
            let status = resp.status_code();
            let headers = resp.headers().clone();
            let bytes = resp
                .bytes()
                .await
                .or_internal("read response for idempotency")?;
            let rebuilt = Response::builder()
                .with_status(status)
                .with_headers(headers.clone())
                .fixed(bytes.clone());
            (status, headers, bytes, Ok(rebuilt))
        }
        Err(err) => {
            let body = err.to_problem(&cx.request_id).to_string().into_bytes();
            let headers = Headers::new();
            let _ = headers.set("Content-Type", "application/problem+json");
            (err.status, headers, body, Err(err))
        }
    };
    store(&db, (&scope, &key, &owner), status, &headers, &body).await;
    result
}

/// Records the outcome: kept for replay, or released so a retry runs again.
async fn store(
    db: &D1Database,
    (scope, key, owner): (&str, &str, &str),
    status: u16,
    headers: &Headers,
    body: &[u8],
) {
    let outcome = if idempotency::keep(status) {
        let kept: Map<String, Value> = REPLAYED_HEADERS
            .iter()
            .filter_map(|h| {
                headers
                    .get(h)
                    .ok()
                    .flatten()
                    .map(|v| ((*h).to_owned(), Value::from(v)))
            })
            .collect();
        db::run(sql!(
            db,
            "UPDATE idempotency_keys SET done = 1, response_status = ?3, response_headers = ?4, response_body = ?5 \
             WHERE scope = ?1 AND key = ?2 AND owner = ?6 AND done = 0",
            scope,
            key,
            u32::from(status),
            Value::Object(kept).to_string(),
            String::from_utf8_lossy(body).into_owned(),
            owner
        ))
        .await
    } else {
        db::run(sql!(
            db,
            "DELETE FROM idempotency_keys WHERE scope = ?1 AND key = ?2 AND owner = ?3 AND done = 0",
            scope,
            key,
            owner
        ))
        .await
    };
    match outcome {
        Ok(1) => {}
        // Our lock expired and another request took the record over: it is theirs now.
        Ok(_) => {
            worker::console_warn!("idempotency record taken over; this response is not stored")
        }
        Err(e) => {
            let _ = http::internal("store idempotency record", e);
        }
    }
}

fn replay(row: &Row) -> ApiResult {
    let headers = Headers::new();
    let stored: Map<String, Value> = row
        .response_headers
        .as_deref()
        .and_then(|h| serde_json::from_str(h).ok())
        .unwrap_or_default();
    for (k, v) in &stored {
        if let Some(v) = v.as_str() {
            let _ = headers.set(k, v);
        }
    }
    let _ = headers.set("Idempotent-Replayed", "true");
    Ok(Response::builder()
        .with_status(row.response_status.unwrap_or(200))
        .with_headers(headers)
        .fixed(row.response_body.clone().unwrap_or_default().into_bytes()))
}
