//! The session's tokens after sign-in: the JWKS that verifies access tokens, refresh (a reused
//! refresh token revokes its session) and sign-out, both closing the session's sockets.
//! It creates no session: that is `login` and `signup`.

use crate::audit::{self, Actor, Event};
use crate::auth::{self, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::routes::identity::user_orgs;
use crate::sql;
use crate::{platform, realtime};
use edge_core::rooms;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::json;

fn invalid_refresh() -> ApiError {
    ApiError::unauthenticated("The refresh token is invalid, expired or revoked.")
}

pub fn jwks(cx: &Ctx) -> ApiResult {
    let ring = auth::keyring::get(&cx.config).map_err(|e| http::internal("JWT keys", e))?;
    let mut resp = http::json(200, &ring.jwks())?;
    let _ = resp
        .headers_mut()
        .set("Cache-Control", "public, max-age=300");
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: RefreshBody = body.json().await?;
    let db = db::database(&cx.env)?;
    match sessions::refresh(cx, &db, &body.refresh_token).await? {
        sessions::Refreshed::Ok(session) => http::json(200, &session.body()),
        sessions::Refreshed::Invalid => Err(invalid_refresh()),
        sessions::Refreshed::Reused(user_id, session_id) => {
            let orgs = user_orgs(&db, &user_id).await?;
            let events: Vec<Event> = orgs
                .iter()
                .map(|o| {
                    Event::new(&o.id, "auth.refresh_token_reused", Actor::anonymous())
                        .target("user", &user_id)
                        .details(json!({"session_id": session_id, "effect": "session revoked"}))
                })
                .collect();
            audit::record(&db, &auth::audit_origin(cx), &events).await?;
            for o in &orgs {
                realtime::close_sockets(
                    &cx.env,
                    &o.id,
                    realtime::Whose::Session(&session_id),
                    rooms::CLOSE_SESSION_REVOKED,
                    "session revoked",
                )
                .await;
            }
            Err(invalid_refresh())
        }
    }
}

pub async fn logout(cx: &Ctx) -> ApiResult {
    let (user_id, session_id) = auth::user(cx).await?;
    let db = db::database(&cx.env)?;
    let orgs = user_orgs(&db, &user_id).await?;
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.logout", Actor::user(&user_id))
                .details(json!({"session_id": session_id}))
        })
        .collect();
    let now = platform::rfc3339(platform::now());
    audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE sessions SET revoked_at = ?2, revoke_reason = 'logout' WHERE id = ?1 AND revoked_at IS NULL",
            &session_id,
            &now
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    // The session's realtime sockets go with it.
    for o in &orgs {
        realtime::close_sockets(
            &cx.env,
            &o.id,
            realtime::Whose::Session(&session_id),
            rooms::CLOSE_SESSION_REVOKED,
            "session revoked",
        )
        .await;
    }
    let mut resp = http::empty(204);
    // A browser session's cookie goes with it.
    if auth::cookie::presented(cx).is_some() {
        let _ = resp
            .headers_mut()
            .set("Set-Cookie", &edge_core::cookies::clear_cookie());
    }
    Ok(resp)
}
