//! `/v1/me/sessions`: the signed-in user's live sessions (device, address, how they signed
//! in) and ending them, one or all but the current. Ending a session works as logout does: its
//! refresh token and access tokens stop at once (every request reads the session row) and its
//! realtime sockets are closed.

use super::identity::user_orgs;
use crate::audit::{self, Actor, Event};
use crate::auth::{self, SignedIn};
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::realtime;
use crate::sql;
use edge_core::mfa::Authn;
use edge_core::{rooms, ApiError};
use serde::Deserialize;
use serde_json::json;
use worker::D1Database;

/// The most sessions listed (newest first); older live ones still end with "all others".
const LISTED: i64 = 200;

#[derive(Deserialize)]
struct Row {
    id: String,
    created_at: String,
    last_used_at: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    amr: String,
    auth_time: i64,
}

/// `GET /v1/me/sessions`.
pub async fn list(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let rows: Vec<Row> = db::all(sql!(
        db,
        "SELECT id, created_at, last_used_at, ip, user_agent, amr, auth_time FROM sessions \
         WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at >= ?2 \
         ORDER BY created_at DESC, id DESC LIMIT ?3",
        &me.user_id,
        platform::now().timestamp(),
        LISTED
    ))
    .await?;
    let items: Vec<_> = rows
        .into_iter()
        .map(|r| {
            let authn = Authn::from_stored(&r.amr, r.auth_time);
            json!({
                "id": r.id,
                "created_at": r.created_at,
                "last_used_at": r.last_used_at.unwrap_or_else(|| r.created_at.clone()),
                "ip": r.ip,
                "user_agent": r.user_agent,
                "method": authn.method(),
                "amr": authn.amr,
                "current": r.id == me.session_id,
            })
        })
        .collect();
    http::json(200, &json!({ "items": items }))
}

/// Revokes `ids` of the user (`reason` recorded), audits it and closes their sockets.
async fn end(
    cx: &Ctx,
    db: &D1Database,
    me: &SignedIn,
    ids: &[String],
    reason: &str,
) -> Result<(), ApiError> {
    let orgs = user_orgs(db, &me.user_id).await?;
    let now = platform::rfc3339(platform::now());
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.session_revoked", Actor::user(&me.user_id))
                .target("user", &me.user_id)
                .details(json!({"sessions": ids, "reason": reason, "by_session": me.session_id}))
        })
        .collect();
    audit::write(db, &auth::audit_origin(cx), &events, || {
        ids.iter()
            .map(|id| {
                sql!(
                    db,
                    "UPDATE sessions SET revoked_at = ?3, revoke_reason = ?4 \
                     WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                    id,
                    &me.user_id,
                    &now,
                    reason
                )
            })
            .collect()
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    for o in &orgs {
        for id in ids {
            realtime::close_sockets(
                &cx.env,
                &o.id,
                realtime::Whose::Session(id),
                rooms::CLOSE_SESSION_REVOKED,
                "session revoked",
            )
            .await;
        }
    }
    Ok(())
}

/// `DELETE /v1/me/sessions/{session}`: 204; a session that is not the user's live one is 404.
pub async fn delete(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let id = cx.param("session");
    let live: Option<serde_json::Value> = db::first(sql!(
        db,
        "SELECT 1 AS live FROM sessions WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
        id,
        &me.user_id
    ))
    .await?;
    if live.is_none() {
        return Err(ApiError::not_found("No such session."));
    }
    end(cx, &db, &me, &[id.to_owned()], "revoked_by_user").await?;
    Ok(http::empty(204))
}

/// `POST /v1/me/sessions/revoke-others`: every live session of the user but this one.
pub async fn revoke_others(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let others: Vec<serde_json::Value> = db::all(sql!(
        db,
        "SELECT id FROM sessions WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL",
        &me.user_id,
        &me.session_id
    ))
    .await?;
    let ids: Vec<String> = others
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    if !ids.is_empty() {
        end(cx, &db, &me, &ids, "revoked_others").await?;
    }
    http::json(200, &json!({"revoked": ids.len()}))
}
