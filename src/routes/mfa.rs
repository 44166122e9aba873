//! `/v1/me/mfa`: the signed-in user's second factor. Enrolling an authenticator app takes the
//! password (a stolen access token alone cannot lock the owner out behind a factor they do
//! not hold) and is confirmed by a first code, which also issues the recovery codes, shown
//! once and stored hashed. Disabling takes the password and a current code or recovery code;
//! so does replacing the recovery codes.

use super::auth::{factor, token_body};
use super::identity::{user_orgs, UserRow};
use crate::audit::{self, Actor, Event};
use crate::auth::{self, mfa as factors, SignedIn};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::{self, ApiResult};
use crate::platform;
use crate::sql;
use edge_core::mfa::{totp, Authn};
use edge_core::{password, ApiError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, D1PreparedStatement};

/// `GET /v1/me/mfa`.
pub async fn status(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT created_at, confirmed_at FROM totp_factors WHERE user_id = ?1",
        &me.user_id
    ))
    .await?;
    let totp = match &row {
        Some(r) if !r["confirmed_at"].is_null() => {
            json!({"status": "enabled", "confirmed_at": r["confirmed_at"]})
        }
        Some(r) => json!({"status": "pending", "created_at": r["created_at"]}),
        None => json!({"status": "none"}),
    };
    let remaining = factors::recovery_remaining(&db, &me.user_id).await?;
    let passkeys = auth::passkeys::count(&db, &me.user_id).await?;
    http::json(
        200,
        &json!({
            "enabled": totp["status"] == "enabled" || passkeys > 0,
            "totp": totp,
            "passkeys": passkeys,
            "recovery_codes_remaining": remaining,
            "session": {"amr": me.authn.amr, "auth_time": me.authn.auth_time},
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    password: String,
}

async fn user_row(db: &D1Database, user_id: &str) -> Result<UserRow, ApiError> {
    db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))
}

fn wrong_password() -> ApiError {
    ApiError::forbidden("The password is wrong.")
}

/// Audit entries of `action` by the user in each of their organizations.
async fn events(
    db: &D1Database,
    me: &SignedIn,
    action: &'static str,
    details: Value,
) -> Result<Vec<Event>, ApiError> {
    Ok(user_orgs(db, &me.user_id)
        .await?
        .iter()
        .map(|o| Event::new(&o.id, action, Actor::user(&me.user_id)).details(details.clone()))
        .collect())
}

/// Writes `stmts` with the audit entries of `events` in one batch (shared by the second-factor
/// routes, so the generic `audit::write` is instantiated once for all of them).
pub(super) async fn commit(
    cx: &Ctx,
    db: &D1Database,
    events: &[Event],
    stmts: Vec<D1PreparedStatement>,
) -> Result<Vec<worker::D1Result>, ApiError> {
    audit::write(db, &auth::audit_origin(cx), events, || Ok(stmts.clone()))
        .await
        .map_err(audit::WriteError::into_api)
}

/// `POST /v1/me/mfa/totp`: a new pending secret (201), replacing a pending one; 409 once a
/// factor is enabled.
pub async fn enroll(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: PasswordBody = body.json().await?;
    let db = db::database(&cx.env)?;
    let user = user_row(&db, &me.user_id).await?;
    auth::mfa::count_attempt(cx, &me.user_id).await?;
    if !password::verify(&body.password, &user.password_hash) {
        return Err(wrong_password());
    }
    if factors::enrolled(&db, &me.user_id).await? {
        return Err(ApiError::conflict(
            "An authenticator app is already enabled: disable it first to replace it.",
        ));
    }
    let secret: [u8; totp::SECRET_BYTES] = platform::random();
    db::run(factors::pending_stmt(cx, &db, &me.user_id, &secret)).await?;
    let issuer = issuer(&cx.config.jwt_issuer);
    http::json(
        201,
        &json!({
            "status": "pending",
            "secret": totp::base32(&secret),
            "otpauth_uri": totp::otpauth_uri(&issuer, &user.email, &secret),
            "algorithm": "SHA1", "digits": totp::DIGITS, "period": totp::STEP_SECONDS,
        }),
    )
}

/// The issuer label apps show: the host of the token issuer.
fn issuer(jwt_issuer: &str) -> String {
    worker::Url::parse(jwt_issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| jwt_issuer.to_owned())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

/// `POST /v1/me/mfa/totp/confirm`: the first code enables the factor, issues the recovery
/// codes and records the second factor on this session (the access token returned says so).
pub async fn confirm(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: CodeBody = body.json().await?;
    let db = db::database(&cx.env)?;
    auth::mfa::count_attempt(cx, &me.user_id).await?;
    let pending = factors::totp(cx, &db, &me.user_id)
        .await?
        .filter(|t| !t.confirmed)
        .ok_or_else(|| {
            ApiError::conflict(
                "There is no pending enrollment: start one with POST /v1/me/mfa/totp.",
            )
        })?;
    let step = factors::accept_code(&db, &me.user_id, &pending, &body.code).await?;
    let now = platform::now();
    let stamp = platform::rfc3339(now);
    let authn = Authn::password_and_otp(now.timestamp());
    // Everything after the confirmation applies only if this very batch confirmed the secret
    // the code was checked against (a re-enrollment or a second confirmation meanwhile).
    let confirmed = "SELECT 1 FROM totp_factors WHERE user_id = ?1 AND confirmed_at = ?2";
    let mut stmts = vec![sql!(
        db,
        "UPDATE totp_factors SET confirmed_at = ?3 WHERE user_id = ?1 AND secret_sealed = ?2 AND confirmed_at IS NULL",
        &me.user_id,
        &pending.sealed,
        &stamp
    )?];
    let (codes, code_stmts) = factors::new_recovery_codes(&db, &me.user_id, Some(&stamp))?;
    stmts.extend(code_stmts);
    stmts.push(sql!(
        db,
        &format!(
            "UPDATE sessions SET amr = ?3, auth_time = ?4, last_used_at = ?2 WHERE id = ?5 \
             AND revoked_at IS NULL AND user_id = ?1 AND EXISTS ({confirmed})"
        ),
        &me.user_id,
        &stamp,
        authn.stored_amr(),
        authn.auth_time,
        &me.session_id
    )?);
    let events: Vec<Event> = events(
        &db,
        &me,
        "auth.mfa_enabled",
        json!({"factor": "totp", "step": step}),
    )
    .await?
    .into_iter()
    .map(|e| {
        e.only_if(
            confirmed,
            vec![V::from(me.user_id.as_str()), V::from(stamp.as_str())],
        )
    })
    .collect();
    let results = commit(cx, &db, &events, stmts).await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(ApiError::conflict(
            "The enrollment changed meanwhile: start again with POST /v1/me/mfa/totp.",
        ));
    }
    let mut answer = token_body(cx, &me.user_id, &me.session_id, &authn)?;
    answer["recovery_codes"] = json!(codes);
    http::json(200, &answer)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    password: String,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    code: Option<String>,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    recovery_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactorBody {
    #[serde(default, deserialize_with = "edge_core::json::present")]
    code: Option<String>,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    recovery_code: Option<String>,
}

/// The password (when asked for) and a second factor, both right.
async fn prove(
    cx: &Ctx,
    db: &D1Database,
    me: &SignedIn,
    password: Option<&str>,
    body: &FactorBody,
) -> Result<(), ApiError> {
    let factor = factor(body.code.as_deref(), body.recovery_code.as_deref())?;
    if let Some(given) = password {
        let user = user_row(db, &me.user_id).await?;
        if !password::verify(given, &user.password_hash) {
            auth::mfa::count_attempt(cx, &me.user_id).await?;
            return Err(wrong_password());
        }
    }
    auth::mfa::check(cx, db, &me.user_id, &factor).await
}

/// `POST /v1/me/mfa/totp/disable`: the factor and its recovery codes removed.
pub async fn disable(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: DisableBody = body.json().await?;
    let db = db::database(&cx.env)?;
    let factor = FactorBody {
        code: body.code,
        recovery_code: body.recovery_code,
    };
    prove(cx, &db, &me, Some(&body.password), &factor).await?;
    let events = events(&db, &me, "auth.mfa_disabled", json!({"factor": "totp"})).await?;
    let stmts = vec![
        sql!(
            db,
            "DELETE FROM totp_factors WHERE user_id = ?1",
            &me.user_id
        )?,
        sql!(
            db,
            "DELETE FROM recovery_codes WHERE user_id = ?1",
            &me.user_id
        )?,
    ];
    commit(cx, &db, &events, stmts).await?;
    Ok(http::empty(204))
}

/// `POST /v1/me/mfa/recovery-codes`: a new set of recovery codes; the old ones stop working.
pub async fn regenerate(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: FactorBody = body.json().await?;
    let db = db::database(&cx.env)?;
    prove(cx, &db, &me, None, &body).await?;
    let (codes, stmts) = factors::new_recovery_codes(&db, &me.user_id, None)?;
    let events = events(&db, &me, "auth.recovery_codes_regenerated", json!({})).await?;
    commit(cx, &db, &events, stmts).await?;
    http::json(200, &json!({"recovery_codes": codes}))
}
