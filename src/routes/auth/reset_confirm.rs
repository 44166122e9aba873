//! `POST /v1/auth/password-reset/confirm`: a reset token is single-use, and spending one
//! spends every outstanding reset token of the user, in the same D1 batch as the password
//! change, the revocation of every session and the audit entries (which say how many tokens
//! were spent). The batch is claimed with a value only this request knows
//! (`platform::claim`), never the client-chosen request id, so of two concurrent
//! confirmations exactly one applies.

use super::verify::invalid_token;
use crate::audit::{self, Actor, Event};
use crate::auth::{self, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::{self, ApiResult};
use crate::routes::identity::user_orgs;
use crate::sql;
use crate::{platform, realtime};
use edge_core::rooms;
use edge_core::tokens::{self, SecretKind};
use edge_core::{password, ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

/// Attempts when a reset of the same user is requested while we confirm (the count of
/// outstanding tokens the audit entry states must be exact).
const ATTEMPTS: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetConfirmBody {
    token: String,
    new_password: String,
}

#[derive(Deserialize)]
struct ResetRow {
    user_id: String,
    used_at: Option<String>,
    expires_at: i64,
}

#[derive(Deserialize)]
struct Count {
    n: i64,
}

/// The user's unused, unexpired reset tokens (`?1` user, `?2` now in unix s).
const OUTSTANDING: &str =
    "SELECT COUNT(*) AS n FROM password_resets WHERE user_id = ?1 AND used_at IS NULL AND expires_at >= ?2";

pub async fn confirm(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: ResetConfirmBody = body.json().await?;
    if let Err(m) = password::check_policy(&body.new_password) {
        return Err(
            ApiError::validation_failed("The new password does not meet the policy.")
                .with_errors(vec![FieldError::new("new_password", m)]),
        );
    }
    if !tokens::is_secret(SecretKind::PasswordReset, &body.token) {
        return Err(invalid_token("password reset"));
    }
    let db = db::database(&cx.env)?;
    let hash = tokens::secret_hash(&body.token);
    let new_hash = password::hash(&body.new_password, platform::random())
        .map_err(|e| http::internal("hash password", e))?;
    let mut breach_checked = false;
    for _ in 0..ATTEMPTS {
        let now = platform::now();
        let row: Option<ResetRow> = db::first(sql!(
            db,
            "SELECT user_id, used_at, expires_at FROM password_resets WHERE hash = ?1",
            &hash
        ))
        .await?;
        let row = row
            .filter(|r| r.used_at.is_none() && r.expires_at >= now.timestamp())
            .ok_or_else(|| invalid_token("password reset"))?;
        if !breach_checked {
            // Only for a live token: a made-up one causes no outbound request.
            auth::pwned::refuse_breached(cx, "new_password", &body.new_password).await?;
            breach_checked = true;
        }
        let outstanding: Option<Count> =
            db::first(sql!(db, OUTSTANDING, &row.user_id, now.timestamp())).await?;
        let spent = outstanding.map_or(1, |c| c.n);
        let claim = platform::claim();
        let stamp = platform::rfc3339(now);
        let used = "SELECT 1 FROM password_resets WHERE hash = ?1 AND used_by = ?2";
        let used_args = || vec![V::from(&hash), V::from(&claim)];
        let orgs = user_orgs(&db, &row.user_id).await?;
        let events: Vec<Event> = orgs
            .iter()
            .map(|o| {
                Event::new(&o.id, "auth.password_reset", Actor::user(&row.user_id))
                    .target("user", &row.user_id)
                    .details(json!({"effect": "all sessions revoked", "reset_tokens_spent": spent}))
                    .only_if(used, used_args())
            })
            .collect();
        let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
            Ok(vec![
                // Claims the presented token, only if the outstanding count is still the one
                // the audit entry states.
                sql!(
                    db,
                    &format!(
                        "UPDATE password_resets SET used_at = ?2, used_by = ?3 WHERE hash = ?1 \
                         AND used_at IS NULL AND expires_at >= ?5 AND ({}) = ?6",
                        OUTSTANDING.replace("?1", "?4").replace("?2", "?5")
                    ),
                    &hash,
                    &stamp,
                    &claim,
                    &row.user_id,
                    now.timestamp(),
                    spent
                )?,
                // Every other outstanding reset token of the user is spent with it.
                sql!(
                    db,
                    "UPDATE password_resets SET used_at = ?2, used_by = ?3 WHERE user_id = ?1 \
                     AND used_at IS NULL AND expires_at >= ?4 \
                     AND EXISTS (SELECT 1 FROM password_resets WHERE hash = ?5 AND used_by = ?3)",
                    &row.user_id,
                    &stamp,
                    &claim,
                    now.timestamp(),
                    &hash
                )?,
                sql!(
                    db,
                    "UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1 AND EXISTS \
                     (SELECT 1 FROM password_resets WHERE hash = ?4 AND used_by = ?5)",
                    &row.user_id,
                    &new_hash,
                    &stamp,
                    &hash,
                    &claim
                )?,
                sessions::revoke_all_stmt(
                    &db,
                    &row.user_id,
                    "password_reset",
                    Some((used, used_args())),
                )?,
            ])
        })
        .await
        .map_err(audit::WriteError::into_api)?;
        if results.first().map(db::changes) != Some(1) {
            // Spent by a concurrent confirmation (the next read refuses it), or a new reset
            // was requested meanwhile (count again).
            continue;
        }
        // Every session was revoked: so are all the user's realtime sockets.
        for o in &orgs {
            realtime::close_sockets(
                &cx.env,
                &o.id,
                realtime::Whose::User(&row.user_id),
                rooms::CLOSE_SESSION_REVOKED,
                "session revoked",
            )
            .await;
        }
        return Ok(http::empty(204));
    }
    Err(
        ApiError::conflict("Password resets of this account are being requested; try again.")
            .with_header("Retry-After", "1"),
    )
}
