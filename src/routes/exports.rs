//! `/v1/me/exports`: a signed-in user's exports of their own data (GDPR articles 15 and 20).
//! Starting one is a sensitive action (a recent second factor when the user has one), at most
//! [`rules::PER_DAY`] a day, and a second click while one is pending answers with that one.
//! The file is fetched signed in, or by a short-lived signed URL that binds the user, the
//! export and the SHA-256 of the object. Another user's export is a 404 like none.

use super::identity::user_orgs;
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::ctx::Ctx;
use crate::db;
use crate::exports::{self, ExportRow, COLUMNS};
use crate::http::{self, ApiResult, OrInternal};
use crate::{platform, sql, storage};
use edge_core::account_export::{self as rules, Grant, Start};
use edge_core::ids::IdKind;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Response;

fn not_found() -> ApiError {
    ApiError::not_found("No such export.")
}

fn forbidden_url() -> ApiError {
    ApiError::forbidden("This signed URL is invalid or expired.")
}

fn content_path(id: &str) -> String {
    format!("/v1/me/exports/{id}/content")
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(platform::rfc3339)
        .unwrap_or_default()
}

/// The public form of `row`, with a fresh signed download URL when it is ready.
fn represent(cx: &Ctx, row: &ExportRow) -> Result<Value, ApiError> {
    let now = platform::now().timestamp();
    let download = match (&row.sha256, row.expires_at) {
        (Some(sha256), Some(kept_until)) if row.downloadable(now) => {
            let expires = (now + cx.config.signed_url_ttl_seconds).min(kept_until);
            let path = content_path(&row.id);
            let signature = Grant {
                path: &path,
                user_id: &row.user_id,
                export_id: &row.id,
                sha256,
                expires,
            }
            .sign(cx.config.url_signing_secret.as_bytes());
            let mut url =
                worker::Url::parse(&format!("{}{path}", cx.head.base)).or_internal("url")?;
            url.query_pairs_mut()
                .append_pair("expires", &expires.to_string())
                .append_pair("signature", &signature);
            Some((url.to_string(), rfc3339(expires)))
        }
        _ => None,
    };
    Ok(row.public(download))
}

#[derive(Deserialize)]
struct Pending {
    id: String,
}

#[derive(Deserialize)]
struct Started {
    created_unix: i64,
}

/// `POST /v1/me/exports`: starts assembling an export (202), or answers with the pending one.
pub async fn create(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    let db = db::database(&cx.env)?;
    let user = me.user_id.as_str();
    // Twice at most: a concurrent request may start one between the read and the insert.
    for _ in 0..2 {
        let now = platform::now();
        let pending: Option<Pending> = db::first(sql!(
            db,
            "SELECT id FROM account_exports WHERE user_id = ?1 AND status IN ('queued', 'running') \
             ORDER BY created_unix DESC LIMIT 1",
            user
        ))
        .await?;
        let started: Vec<Started> = db::all(sql!(
            db,
            "SELECT created_unix FROM account_exports WHERE user_id = ?1 AND created_unix > ?2",
            user,
            now.timestamp() - 24 * 3600
        ))
        .await?;
        let started: Vec<i64> = started.into_iter().map(|s| s.created_unix).collect();
        let id = match rules::start(pending.map(|p| p.id).as_deref(), &started, now.timestamp()) {
            Start::Reuse(id) => return answer(cx, &db, user, &id).await,
            Start::Refused { retry_after } => {
                return Err(ApiError::rate_limited(format!(
                    "At most {} exports a day; the next one can start in {retry_after} s.",
                    rules::PER_DAY
                ))
                .with_header("Retry-After", retry_after.to_string()))
            }
            Start::New => platform::new_id(IdKind::Export),
        };
        let stamp = platform::rfc3339(now);
        let events: Vec<Event> = user_orgs(&db, user)
            .await?
            .iter()
            .map(|o| {
                Event::new(&o.id, "account.export_requested", Actor::user(user))
                    .target("user", user)
                    .details(json!({"export_id": id}))
                    .only_if(
                        "SELECT 1 FROM account_exports WHERE id = ?1",
                        vec![db::V::from(id.as_str())],
                    )
            })
            .collect();
        // The same rules again, inside the write: no second pending export, five a day.
        let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
            Ok(vec![sql!(
                db,
                "INSERT INTO account_exports (id, user_id, status, request_id, created_at, \
                 created_unix, updated_at) SELECT ?1, ?2, 'queued', ?3, ?4, ?5, ?4 \
                 WHERE NOT EXISTS (SELECT 1 FROM account_exports WHERE user_id = ?2 \
                   AND status IN ('queued', 'running')) \
                 AND (SELECT COUNT(*) FROM account_exports WHERE user_id = ?2 \
                   AND created_unix > ?5 - 86400) < ?6",
                &id,
                user,
                &cx.request_id,
                &stamp,
                now.timestamp(),
                rules::PER_DAY as i64
            )?])
        })
        .await
        .map_err(audit::WriteError::into_api)?;
        if results.first().map(db::changes) == Some(1) {
            exports::send(&cx.env, &id).await;
            return answer(cx, &db, user, &id).await;
        }
    }
    Err(ApiError::conflict(
        "Another export request changed this meanwhile; try again.",
    ))
}

/// 202 with the export and its `Location`.
async fn answer(cx: &Ctx, db: &worker::D1Database, user: &str, id: &str) -> ApiResult {
    let row = exports::load(db, user, id).await?.ok_or_else(not_found)?;
    let mut resp = http::json(202, &represent(cx, &row)?)?;
    let _ = resp
        .headers_mut()
        .set("Location", &format!("/v1/me/exports/{id}"));
    Ok(resp)
}

/// `GET /v1/me/exports`: the user's exports, newest first (the last 50).
pub async fn list(cx: &Ctx) -> ApiResult {
    let (user, _) = auth::user(cx).await?;
    let db = db::database(&cx.env)?;
    let rows: Vec<ExportRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM account_exports WHERE user_id = ?1 \
             ORDER BY created_unix DESC, id DESC LIMIT 50"
        ),
        &user
    ))
    .await?;
    let items = rows
        .iter()
        .map(|r| represent(cx, r))
        .collect::<Result<Vec<_>, _>>()?;
    http::json(200, &json!({ "items": items }))
}

/// `GET /v1/me/exports/{id}`: one export; a ready one carries a fresh download URL.
pub async fn get(cx: &Ctx) -> ApiResult {
    let (user, _) = auth::user(cx).await?;
    let db = db::database(&cx.env)?;
    let row = exports::load(&db, &user, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    http::json(200, &represent(cx, &row)?)
}

/// `DELETE /v1/me/exports/{id}`: the file goes now; a pending export is cancelled (its
/// assembly finds the row gone and removes what it wrote).
pub async fn delete(cx: &Ctx) -> ApiResult {
    let (user, _) = auth::user(cx).await?;
    let db = db::database(&cx.env)?;
    let row = exports::load(&db, &user, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    if row.attempts > 0 {
        storage::bucket(&cx.env)?
            .delete(row.key()?)
            .await
            .or_internal("R2 delete (export)")?;
    }
    db::run(sql!(
        db,
        "DELETE FROM account_exports WHERE id = ?1 AND user_id = ?2",
        &row.id,
        &user
    ))
    .await?;
    Ok(http::empty(204))
}

/// `GET /v1/me/exports/{id}/content`: the file, signed in or by its signed URL.
pub async fn content(cx: &Ctx) -> ApiResult {
    let db = db::database(&cx.env)?;
    let now = platform::now().timestamp();
    let id = cx.param("id");
    let row = if cx.query("signature").is_some() {
        // An unknown, unready or pending-deletion export is the same 403 as a bad signature.
        let row: Option<ExportRow> = if edge_core::ids::is_id(IdKind::Export, id) {
            db::first(sql!(
                db,
                &format!(
                    "SELECT {COLUMNS} FROM account_exports e WHERE id = ?1 AND EXISTS \
                     (SELECT 1 FROM users u WHERE u.id = e.user_id AND u.deleted_at IS NULL)"
                ),
                id
            ))
            .await?
        } else {
            None
        };
        let row = row
            .filter(|r| r.downloadable(now))
            .ok_or_else(forbidden_url)?;
        let expires: i64 = cx
            .query("expires")
            .and_then(|e| e.parse().ok())
            .ok_or_else(forbidden_url)?;
        let signature = cx.query("signature").unwrap_or_default();
        Grant {
            path: &cx.head.path,
            user_id: &row.user_id,
            export_id: &row.id,
            sha256: row.sha256.as_deref().unwrap_or_default(),
            expires,
        }
        .verify(cx.config.url_signing_secret.as_bytes(), &signature, now)
        .map_err(|why| {
            worker::console_log!(
                "{}",
                json!({"level": "info", "msg": "signed url refused", "why": why, "request_id": cx.request_id})
            );
            forbidden_url()
        })?;
        row
    } else {
        let (user, _) = auth::user(cx).await?;
        let row = exports::load(&db, &user, id).await?.ok_or_else(not_found)?;
        if !row.downloadable(now) {
            return Err(ApiError::conflict(format!(
                "The export is `{}`: only a ready export has a file.",
                row.status
            )));
        }
        row
    };
    serve(cx, &row).await
}

async fn serve(cx: &Ctx, row: &ExportRow) -> ApiResult {
    let object = storage::bucket(&cx.env)?
        .get(row.key()?)
        .execute()
        .await
        .or_internal("R2 get (export)")?
        .ok_or_else(|| http::internal("R2 get", "the object of a ready export is missing"))?;
    let mut resp = match object.body() {
        Some(body) => Response::from_body(body.response_body().or_internal("R2 body")?)
            .or_internal("response")?,
        None => Response::empty().or_internal("response")?,
    };
    let h = resp.headers_mut();
    let _ = h.set("Content-Type", "application/json");
    let _ = h.set("Content-Length", &object.size().to_string());
    let _ = h.set(
        "Content-Disposition",
        &format!("attachment; filename=\"account-export-{}.json\"", row.id),
    );
    let _ = h.set("Cache-Control", "private, no-store");
    if let Some(sha) = &row.sha256 {
        let _ = h.set("ETag", &format!("\"{sha}\""));
    }
    Ok(resp)
}
