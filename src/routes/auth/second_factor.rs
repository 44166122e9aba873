//! The second factor at sign-in and after it: `POST /v1/auth/mfa` completes a login that
//! answered `mfa_required`, and `POST /v1/auth/step-up` records a fresh second factor on the
//! current session (no new session) and returns an access token that says so (`amr`,
//! `auth_time`), which sensitive actions require for [`mfa::STEP_UP_SECONDS`].

use super::login;
use crate::audit::{self, Actor, Event};
use crate::auth::{self, challenge, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::routes::identity::{user_orgs, UserRow};
use crate::sql;
use edge_core::mfa::{self, Authn, Factor};
use edge_core::tokens::ACCESS_TTL_SECONDS;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteBody {
    mfa_token: String,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    code: Option<String>,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    recovery_code: Option<String>,
    /// As at login: `cookie` for a browser session cookie.
    #[serde(default, deserialize_with = "edge_core::json::present")]
    session: Option<edge_core::cookies::SessionMode>,
}

/// The factor of a body, or 400 naming the fields.
pub(crate) fn factor(code: Option<&str>, recovery: Option<&str>) -> Result<Factor, ApiError> {
    Factor::from_fields(code, recovery).map_err(|m| {
        ApiError::validation_failed("A second factor is required.")
            .with_errors(vec![FieldError::new("code", m)])
    })
}

pub async fn complete(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: CompleteBody = body.json().await?;
    let factor = factor(body.code.as_deref(), body.recovery_code.as_deref())?;
    auth::limit_attempt(cx, None).await?;
    let db = db::database(&cx.env)?;
    let user_id = challenge::user_of(&db, &body.mfa_token).await?;
    if let Err(e) = auth::mfa::check(cx, &db, &user_id, &factor).await {
        let events: Vec<Event> = user_orgs(&db, &user_id)
            .await?
            .iter()
            .map(|o| {
                Event::new(&o.id, "auth.mfa_failed", Actor::anonymous())
                    .target("user", &user_id)
                    .details(json!({"stage": "login", "problem": e.code}))
            })
            .collect();
        audit::record(&db, &auth::audit_origin(cx), &events).await?;
        return Err(e);
    }
    challenge::take(&db, &body.mfa_token).await?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &user_id))
        .await?
        .ok_or_else(challenge::invalid)?;
    let now = platform::now().timestamp();
    let mode = body.session.unwrap_or_default();
    let authn = Authn::password_and_otp(now);
    login::finish_as(cx, &db, &user, &authn, Vec::new(), mode).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepUpBody {
    #[serde(default, deserialize_with = "edge_core::json::present")]
    code: Option<String>,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    recovery_code: Option<String>,
}

pub async fn step_up(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: StepUpBody = body.json().await?;
    let factor = factor(body.code.as_deref(), body.recovery_code.as_deref())?;
    let db = db::database(&cx.env)?;
    auth::mfa::check(cx, &db, &me.user_id, &factor).await?;
    let now = platform::now().timestamp();
    let authn = Authn::password_and_otp(now);
    let events: Vec<Event> = user_orgs(&db, &me.user_id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.step_up", Actor::user(&me.user_id)).details(json!({
                "session_id": me.session_id,
                "factor": match factor { Factor::Code(_) => "totp", Factor::Recovery(_) => "recovery_code" },
            }))
        })
        .collect();
    audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![record_stmt(&db, &me.session_id, &authn)?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    http::json(200, &token_body(cx, &me.user_id, &me.session_id, &authn)?)
}

/// The statement recording `authn` on a live session: its later tokens (refreshes) carry it.
pub(super) fn record_stmt(
    db: &worker::D1Database,
    session_id: &str,
    authn: &Authn,
) -> Result<worker::D1PreparedStatement, ApiError> {
    sql!(
        db,
        "UPDATE sessions SET amr = ?2, auth_time = ?3, last_used_at = ?4 WHERE id = ?1 AND revoked_at IS NULL",
        session_id,
        authn.stored_amr(),
        authn.auth_time,
        platform::rfc3339(platform::now())
    )
}

/// An access token of the session recording `authn` (the refresh token is unchanged).
pub(crate) fn token_body(
    cx: &Ctx,
    user_id: &str,
    session_id: &str,
    authn: &Authn,
) -> Result<serde_json::Value, ApiError> {
    let access_token = sessions::access(cx, user_id, session_id, authn)?;
    Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TTL_SECONDS,
            "amr": authn.amr,
            "auth_time": authn.auth_time,
            "step_up_expires_in": mfa::STEP_UP_SECONDS,
    }))
}
