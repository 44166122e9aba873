//! Passkey sign-in and step-up. `POST /v1/auth/passkey/options` (public, limited per address
//! like login) gives request options: with an `email`, that account's passkeys as
//! `allowCredentials`, else none (the browser offers its discoverable passkeys). `POST
//! /v1/auth/passkey/verify` checks the assertion and completes a full sign-in through
//! [`login::finish`]: a passkey is a second factor on its own (`amr` `hwk mfa`). `POST
//! /v1/auth/step-up/passkey/options` and `/v1/auth/step-up/passkey` record a fresh passkey on
//! the current session, as the TOTP step-up does. A refused assertion changes nothing but the
//! audit line that records it once the passkey is known (`auth.passkey_failed`).

use super::login;
use super::second_factor::{record_stmt, token_body};
use crate::audit::{self, Actor, Event};
use crate::auth::{self, passkeys};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::routes::identity::{user_orgs, UserRow};
use crate::routes::passkeys::bytes;
use crate::sql;
use edge_core::encoding::base64url;
use edge_core::mfa::Authn;
use edge_core::validate::Email;
use edge_core::webauthn::{self, Ceremony, Failure};
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::D1Database;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptionsBody {
    #[serde(default, deserialize_with = "edge_core::json::present")]
    email: Option<String>,
}

/// `POST /v1/auth/passkey/options`.
pub async fn options(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: OptionsBody = body.json().await?;
    let email = match body.email.as_deref() {
        None => None,
        Some(e) => Some(Email::parse(e).map_err(|m| {
            ApiError::validation_failed("The email is not valid.")
                .with_errors(vec![FieldError::new("email", m)])
        })?),
    };
    auth::limit_attempt(cx, email.as_ref().map(|e| e.as_str())).await?;
    let db = db::database(&cx.env)?;
    let allow = match &email {
        Some(e) => {
            let row: Option<Value> = db::first(sql!(
                db,
                "SELECT id FROM users WHERE email = ?1",
                e.as_str()
            ))
            .await?;
            match row.and_then(|r| r["id"].as_str().map(str::to_owned)) {
                Some(uid) => passkeys::list(&db, &uid).await?,
                None => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    let (challenge, stmt) = passkeys::open_challenge(&db, Ceremony::Authenticate, None)?;
    db::run(Ok(stmt)).await?;
    let options =
        webauthn::request_options(passkeys::rp(cx), &challenge, &passkeys::descriptors(&allow));
    http::json(200, &options)
}

/// The `response` member of an `AuthenticationResponseJSON`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssertionResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AssertionBody {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AssertionResponse,
    // Read by nothing: the checked parts are in `response`.
    #[serde(default, rename = "authenticatorAttachment")]
    _attachment: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "clientExtensionResults")]
    _extensions: Option<serde::de::IgnoredAny>,
    /// Sign-in only, as at login: `cookie` for a browser session cookie.
    #[serde(default, deserialize_with = "edge_core::json::present")]
    session: Option<edge_core::cookies::SessionMode>,
}

/// Audits a refusal of a known passkey in each of its user's organizations.
async fn refused(
    cx: &Ctx,
    db: &D1Database,
    row: &passkeys::Row,
    ceremony: Ceremony,
    e: ApiError,
) -> ApiError {
    let reason = e
        .to_problem("")
        .get("reason")
        .cloned()
        .unwrap_or(Value::Null);
    let events: Vec<Event> = match user_orgs(db, &row.user_id).await {
        Ok(orgs) => orgs
            .iter()
            .map(|o| {
                Event::new(&o.id, "auth.passkey_failed", Actor::anonymous())
                    .target("passkey", &row.id)
                    .details(json!({"user_id": row.user_id, "stage": ceremony.as_str(), "reason": reason}))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if reason == json!("sign_count") {
        worker::console_warn!(
            "{}",
            json!({"msg": "passkey counter did not increase: refused as a possible clone",
                   "passkey_id": row.id, "request_id": cx.request_id})
        );
    }
    match audit::record(db, &auth::audit_origin(cx), &events).await {
        Ok(()) => e,
        Err(audit_error) => audit_error,
    }
}

/// Checks an assertion of `ceremony` (by `user_id`'s passkeys only, when bound) and, if it
/// holds, takes its challenge and raises the passkey's counter. Returns the passkey.
async fn assert(
    cx: &Ctx,
    db: &D1Database,
    body: AssertionBody,
    ceremony: Ceremony,
    user_id: Option<&str>,
) -> Result<passkeys::Row, ApiError> {
    if body.kind != "public-key" || body.id != body.raw_id {
        return Err(Failure::Malformed("credential").problem());
    }
    let raw_id = bytes(&body.raw_id, "rawId")?;
    let client_data = bytes(&body.response.client_data_json, "clientDataJSON")?;
    let auth_data = bytes(&body.response.authenticator_data, "authenticatorData")?;
    let signature = bytes(&body.response.signature, "signature")?;
    let row = passkeys::by_credential(db, &base64url(&raw_id))
        .await?
        .filter(|r| user_id.is_none_or(|u| u == r.user_id))
        .ok_or_else(|| Failure::UnknownCredential.problem())?;
    let checked = async {
        if let Some(handle) = body
            .response
            .user_handle
            .as_deref()
            .filter(|h| !h.is_empty())
        {
            let owner = passkeys::user_of_handle(db, handle).await?;
            if owner.as_deref() != Some(row.user_id.as_str()) {
                return Err(Failure::UserHandle.problem());
            }
        }
        let key = row.key()?;
        let a = webauthn::check_assertion(
            &client_data,
            &auth_data,
            &signature,
            ceremony,
            &key,
            passkeys::rp(cx),
        )
        .map_err(|f| f.problem())?;
        passkeys::challenge_live(db, &a.challenge, ceremony, user_id).await?;
        passkeys::verify_signature(&key, &a).await?;
        webauthn::counter(row.stored_count(), a.sign_count).map_err(|f| f.problem())?;
        Ok(a)
    };
    let a = match checked.await {
        Ok(a) => a,
        Err(e) => return Err(refused(cx, db, &row, ceremony, e).await),
    };
    passkeys::take(db, &a.challenge).await?;
    let raised = db::run(sql!(
        db,
        "UPDATE passkeys SET sign_count = ?3, backed_up = ?4, last_used_at = ?5 \
         WHERE id = ?1 AND sign_count = ?2",
        &row.id,
        row.sign_count,
        a.sign_count,
        a.backed_up,
        platform::rfc3339(platform::now())
    ))
    .await?;
    if raised != 1 {
        // Another assertion of this passkey was accepted meanwhile with the same counter.
        return Err(refused(cx, db, &row, ceremony, Failure::SignCount.problem()).await);
    }
    Ok(row)
}

/// `POST /v1/auth/passkey/verify`: a full sign-in.
pub async fn verify(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: AssertionBody = body.json().await?;
    let mode = body.session.unwrap_or_default();
    auth::limit_attempt(cx, None).await?;
    let db = db::database(&cx.env)?;
    let row = assert(cx, &db, body, Ceremony::Authenticate, None).await?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &row.user_id))
        .await?
        .ok_or_else(|| Failure::UnknownCredential.problem())?;
    let now = platform::now().timestamp();
    login::finish_as(cx, &db, &user, &Authn::passkey(now), Vec::new(), mode).await
}

/// `POST /v1/auth/step-up/passkey/options`: request options for the user's own passkeys.
pub async fn step_up_options(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let mine = passkeys::list(&db, &me.user_id).await?;
    if mine.is_empty() {
        return Err(ApiError::new(
            409,
            "mfa_not_enrolled",
            "No passkey",
            "This account has no passkey: register one with POST /v1/me/passkeys/options.",
        ));
    }
    let (challenge, stmt) = passkeys::open_challenge(&db, Ceremony::StepUp, Some(&me.user_id))?;
    db::run(Ok(stmt)).await?;
    let options =
        webauthn::request_options(passkeys::rp(cx), &challenge, &passkeys::descriptors(&mine));
    http::json(200, &options)
}

/// `POST /v1/auth/step-up/passkey`: a fresh passkey recorded on this session.
pub async fn step_up(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: AssertionBody = body.json().await?;
    if body.session.is_some() {
        // A step-up stays in the session it was made in.
        return Err(ApiError::unknown_field("session"));
    }
    let db = db::database(&cx.env)?;
    let row = assert(cx, &db, body, Ceremony::StepUp, Some(&me.user_id)).await?;
    let authn = Authn::passkey(platform::now().timestamp());
    let events: Vec<Event> = user_orgs(&db, &me.user_id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.step_up", Actor::user(&me.user_id)).details(
                json!({"session_id": me.session_id, "factor": "passkey", "passkey_id": row.id}),
            )
        })
        .collect();
    let record = record_stmt(&db, &me.session_id, &authn)?;
    crate::routes::mfa::commit(cx, &db, &events, vec![record]).await?;
    http::json(200, &token_body(cx, &me.user_id, &me.session_id, &authn)?)
}
