//! Browser cookie sessions at the door of `auth`: a request that presents the session cookie
//! (and no bearer) passes the CSRF rules of `edge_core::cookies` before its session is looked
//! up by the cookie's hash, then it is the session's user like a bearer of its access token.

use super::Credential;
use crate::ctx::Ctx;
use crate::db;
use crate::platform;
use crate::sql;
use edge_core::cookies::{self, Refusal};
use edge_core::mfa::Authn;
use edge_core::tokens;
use edge_core::ApiError;
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    id: String,
    user_id: String,
    amr: String,
    auth_time: i64,
}

/// 403 `csrf_failed`: the request changes nothing.
pub fn csrf_failed(refusal: Refusal) -> ApiError {
    ApiError::new(403, "csrf_failed", "CSRF check failed", refusal.detail())
}

/// 401 for a cookie that names no live session; the answer removes the cookie.
pub fn stale() -> ApiError {
    super::unauthenticated().with_header("Set-Cookie", cookies::clear_cookie())
}

/// The CSRF decision for this request and `cookie` (no I/O).
pub fn check_csrf(cx: &Ctx, cookie: &str) -> Result<(), ApiError> {
    let fetch_site = cx.header("Sec-Fetch-Site");
    let token = cx.header(cookies::CSRF_HEADER);
    let req = cookies::Request {
        method: &cx.head.method,
        own_origin: &cx.head.base,
        origin: cx.caller.origin.as_deref(),
        sec_fetch_site: fetch_site.as_deref(),
        token: token.as_deref(),
    };
    cookies::check(
        &req,
        &cx.config.cors,
        cx.config.url_signing_secret.as_bytes(),
        cookie,
    )
    .map_err(csrf_failed)
}

/// The session the cookie references, once the request passed the CSRF rules.
pub async fn credential(cx: &Ctx, cookie: &str) -> Result<Credential, ApiError> {
    check_csrf(cx, cookie)?;
    let db = db::database(&cx.env)?;
    let row: Option<Row> = db::first(sql!(
        db,
        "SELECT id, user_id, amr, auth_time FROM sessions \
         WHERE cookie_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
        tokens::secret_hash(cookie),
        platform::now().timestamp()
    ))
    .await?;
    let row = row.ok_or_else(stale)?;
    Ok(Credential::User {
        user_id: row.user_id,
        session_id: row.id,
        authn: Authn::from_stored(&row.amr, row.auth_time),
    })
}

/// The cookie of this request, if it was authenticated by one.
pub fn presented(cx: &Ctx) -> Option<&str> {
    match &cx.caller.credential {
        edge_core::caller::Presented::Cookie(c) => Some(c),
        _ => None,
    }
}
