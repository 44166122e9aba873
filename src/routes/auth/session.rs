//! `/v1/auth/session`: what a browser app signed in with the session cookie asks of its
//! session. `GET` tells who is signed in and gives the CSRF token again (a page reload loses
//! it; the cookie is `HttpOnly`); `POST` mints a short access token of the same session for an
//! SPA that wants a bearer (e.g. for another host). Both are for cookie sessions only: a bearer
//! must not extend itself without its refresh token.

use crate::auth::{self, cookie, sessions};
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use edge_core::tokens::ACCESS_TTL_SECONDS;
use edge_core::ApiError;
use serde_json::json;

fn cookie_only() -> ApiError {
    ApiError::unauthenticated(
        "This endpoint is for browser sessions: sign in with \"session\": \"cookie\" and send \
         the session cookie.",
    )
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let Some(c) = cookie::presented(cx) else {
        return Err(cookie_only());
    };
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let row: Option<serde_json::Value> = db::first(sql!(
        db,
        "SELECT created_at, expires_at FROM sessions WHERE id = ?1",
        &me.session_id
    ))
    .await?;
    let row = row.unwrap_or_default();
    let mut resp = http::json(
        200,
        &json!({
            "session_id": me.session_id,
            "user_id": me.user_id,
            "created_at": row["created_at"],
            "expires_at": row["expires_at"],
            "amr": me.authn.amr,
            "auth_time": me.authn.auth_time,
            "csrf_token": edge_core::cookies::csrf_token(cx.config.url_signing_secret.as_bytes(), c),
        }),
    )?;
    let _ = resp.headers_mut().set("Cache-Control", "no-store");
    Ok(resp)
}

pub async fn exchange(cx: &Ctx) -> ApiResult {
    if cookie::presented(cx).is_none() {
        return Err(cookie_only());
    }
    let me = auth::signed_in(cx).await?;
    let access_token = sessions::access(cx, &me.user_id, &me.session_id, &me.authn)?;
    let mut resp = http::json(
        200,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECONDS,
        }),
    )?;
    let _ = resp.headers_mut().set("Cache-Control", "no-store");
    Ok(resp)
}
