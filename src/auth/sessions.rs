//! Sessions and their token pairs: creation, refresh-token rotation with reuse detection, and
//! revocation. A refresh token is single use: the rotation marks it spent and inserts its
//! successor in one batch, the insert conditional on the mark having been made by this very
//! rotation, so two concurrent refreshes with one token cannot both win.

use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::OrInternal;
use crate::platform;
use crate::sql;
use edge_core::ids::IdKind;
use edge_core::mfa::Authn;
use edge_core::tokens::{self, SecretKind, ACCESS_TTL_SECONDS, REFRESH_TTL_SECONDS};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement};

/// A new session's credentials and the statements that store it.
pub struct NewSession {
    pub session_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

impl NewSession {
    /// The token part of auth responses.
    pub fn body(&self) -> Value {
        json!({
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECONDS,
        })
    }
}

/// The user agent a session is listed with (bounded: it is the client's to send).
pub fn user_agent(cx: &Ctx) -> Option<String> {
    cx.header("User-Agent")
        .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect())
}

/// Mints a session for `user_id`, authenticated as `authn` says; `stmts` must be executed (in
/// the caller's batch) for it to exist.
pub fn mint(
    cx: &Ctx,
    db: &D1Database,
    user_id: &str,
    authn: &Authn,
) -> Result<(NewSession, Vec<D1PreparedStatement>), ApiError> {
    let session_id = platform::new_id(IdKind::Session);
    let refresh_token = tokens::new_secret(SecretKind::Refresh, platform::random());
    let now = platform::now();
    let created = platform::rfc3339(now);
    let expires = now.timestamp() + REFRESH_TTL_SECONDS;
    let stmts = vec![
        insert(cx, db, &session_id, user_id, authn, None)?,
        sql!(
            db,
            "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            tokens::secret_hash(&refresh_token),
            &session_id,
            &created,
            expires
        )?,
    ];
    let access_token = access(cx, user_id, &session_id, authn)?;
    Ok((
        NewSession {
            session_id,
            access_token,
            refresh_token,
        },
        stmts,
    ))
}

/// A new browser session: referenced by its cookie, no refresh token.
pub struct CookieSession {
    pub session_id: String,
    pub cookie: String,
    pub expires_at: i64,
}

impl CookieSession {
    /// The session part of a cookie-mode sign-in's body (the cookie itself goes in
    /// `Set-Cookie`, never in the body).
    pub fn body(&self, cx: &Ctx) -> Value {
        json!({
            "session_id": self.session_id,
            "expires_at": self.expires_at,
            "csrf_token": edge_core::cookies::csrf_token(cx.config.url_signing_secret.as_bytes(), &self.cookie),
        })
    }

    pub fn set_cookie(&self) -> String {
        edge_core::cookies::set_cookie(&self.cookie, REFRESH_TTL_SECONDS)
    }
}

/// [`mint`] for a browser: the session is referenced by an opaque cookie and lives
/// `REFRESH_TTL_SECONDS` from sign-in.
pub fn mint_cookie(
    cx: &Ctx,
    db: &D1Database,
    user_id: &str,
    authn: &Authn,
) -> Result<(CookieSession, Vec<D1PreparedStatement>), ApiError> {
    let session_id = platform::new_id(IdKind::Session);
    let cookie = tokens::new_secret(SecretKind::SessionCookie, platform::random());
    let hash = tokens::secret_hash(&cookie);
    let stmt = insert(cx, db, &session_id, user_id, authn, Some(&hash))?;
    let expires_at = platform::now().timestamp() + REFRESH_TTL_SECONDS;
    Ok((
        CookieSession {
            session_id,
            cookie,
            expires_at,
        },
        vec![stmt],
    ))
}

fn insert(
    cx: &Ctx,
    db: &D1Database,
    session_id: &str,
    user_id: &str,
    authn: &Authn,
    cookie_hash: Option<&str>,
) -> Result<D1PreparedStatement, ApiError> {
    let now = platform::now();
    sql!(
        db,
        "INSERT INTO sessions (id, user_id, created_at, expires_at, ip, user_agent, amr, auth_time, last_used_at, cookie_hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?3, ?9)",
        session_id,
        user_id,
        platform::rfc3339(now),
        now.timestamp() + REFRESH_TTL_SECONDS,
        cx.caller.ip.as_deref(),
        user_agent(cx).as_deref(),
        authn.stored_amr(),
        authn.auth_time,
        cookie_hash
    )
}

/// A new access token of the session, carrying how its user authenticated.
pub fn access(
    cx: &Ctx,
    user_id: &str,
    session_id: &str,
    authn: &Authn,
) -> Result<String, ApiError> {
    let ring = super::keyring::get(&cx.config).map_err(|e| crate::http::internal("JWT keys", e))?;
    ring.issue_access_as(
        user_id,
        session_id,
        &platform::new_id(IdKind::Request),
        platform::now(),
        authn,
    )
    .map_err(|e| crate::http::internal("sign access token", e))
}

#[derive(Deserialize)]
struct RefreshRow {
    session_id: String,
    user_id: String,
    used_at: Option<String>,
    expires_at: i64,
    revoked_at: Option<String>,
    amr: String,
    auth_time: i64,
}

/// The outcome of presenting a refresh token.
pub enum Refreshed {
    Ok(NewSession),
    /// A spent token came back: the session was revoked. Carries (user, session).
    Reused(String, String),
    Invalid,
}

/// Rotates `presented` into a new pair, or detects its reuse and revokes the session.
pub async fn refresh(cx: &Ctx, db: &D1Database, presented: &str) -> Result<Refreshed, ApiError> {
    if !tokens::is_secret(SecretKind::Refresh, presented) {
        return Ok(Refreshed::Invalid);
    }
    let old_hash = tokens::secret_hash(presented);
    let row: Option<RefreshRow> = db::first(sql!(
        db,
        "SELECT r.session_id, s.user_id, r.used_at, r.expires_at, s.revoked_at, s.amr, s.auth_time \
         FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.hash = ?1",
        &old_hash
    ))
    .await?;
    let Some(row) = row else {
        return Ok(Refreshed::Invalid);
    };
    let now = platform::now();
    if row.revoked_at.is_some() || row.expires_at < now.timestamp() {
        return Ok(Refreshed::Invalid);
    }
    if row.used_at.is_some() {
        revoke_session(db, &row.session_id, "refresh_token_reuse").await?;
        return Ok(Refreshed::Reused(row.user_id, row.session_id));
    }
    let new_token = tokens::new_secret(SecretKind::Refresh, platform::random());
    let new_hash = tokens::secret_hash(&new_token);
    let stamp = platform::rfc3339(now);
    let expires = now.timestamp() + REFRESH_TTL_SECONDS;
    let results = db::batch(
        db,
        vec![
            sql!(
                db,
                "UPDATE refresh_tokens SET used_at = ?2, rotated_to = ?3 WHERE hash = ?1 AND used_at IS NULL",
                &old_hash,
                &stamp,
                &new_hash
            )?,
            sql!(
                db,
                "INSERT INTO refresh_tokens (hash, session_id, created_at, expires_at) \
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS \
                 (SELECT 1 FROM refresh_tokens WHERE hash = ?5 AND rotated_to = ?1)",
                &new_hash,
                &row.session_id,
                &stamp,
                expires,
                &old_hash
            )?,
            sql!(
                db,
                "UPDATE sessions SET expires_at = ?2, last_used_at = ?3 WHERE id = ?1",
                &row.session_id,
                expires,
                &stamp
            )?,
        ],
    )
    .await
    .or_internal("rotate refresh token")?;
    if results.first().map(db::changes) != Some(1) {
        // Another request spent this token between our read and our write: that is reuse.
        revoke_session(db, &row.session_id, "refresh_token_reuse").await?;
        return Ok(Refreshed::Reused(row.user_id, row.session_id));
    }
    let authn = Authn::from_stored(&row.amr, row.auth_time);
    let access_token = access(cx, &row.user_id, &row.session_id, &authn)?;
    Ok(Refreshed::Ok(NewSession {
        session_id: row.session_id,
        access_token,
        refresh_token: new_token,
    }))
}

/// Revokes one session: its refresh tokens and access tokens stop working at once.
pub async fn revoke_session(
    db: &D1Database,
    session_id: &str,
    reason: &str,
) -> Result<bool, ApiError> {
    let n = db::run(sql!(
        db,
        "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        session_id,
        platform::rfc3339(platform::now()),
        reason
    ))
    .await?;
    Ok(n > 0)
}

/// The statement revoking every live session of a user (password reset).
pub fn revoke_all_stmt(
    db: &D1Database,
    user_id: &str,
    reason: &str,
    only_if: Option<(&str, Vec<V>)>,
) -> Result<D1PreparedStatement, ApiError> {
    let mut args = vec![
        V::from(user_id).0,
        V::from(platform::rfc3339(platform::now())).0,
        V::from(reason).0,
    ];
    let guard = match only_if {
        Some((cond, cond_args)) => {
            let cond = edge_core::sql::shift_params(cond, 3);
            args.extend(cond_args.into_iter().map(|v| v.0));
            format!(" AND EXISTS ({cond})")
        }
        None => String::new(),
    };
    db::prepare(
        db,
        &format!(
            "UPDATE sessions SET revoked_at = ?2, revoke_reason = ?3 WHERE user_id = ?1 AND revoked_at IS NULL{guard}"
        ),
        args,
    )
}
