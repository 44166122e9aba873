//! `/v1/me/passkeys`: the signed-in user's passkeys. Registering one adds a factor, so a user
//! who already has one (an authenticator app or a passkey) needs a recent one, as for removing
//! one; renaming and listing do not. Registration is audited as TOTP enrollment is
//! (`auth.passkey_added` in each of the user's organizations, no email). The checks are
//! `edge_core::webauthn`; the demo page (`GET /demo/passkeys`, served by `crate::assets`) runs
//! both ceremonies.

use super::identity::{user_orgs, UserRow};
use super::mfa::commit;
use crate::audit::{Actor, Event};
use crate::auth::{self, passkeys, SignedIn};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult, OrInternal};
use crate::platform;
use crate::sql;
use edge_core::encoding::{base64url, hex, unbase64url};
use edge_core::webauthn::{self, Ceremony, Failure};
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::D1Database;

fn not_found() -> ApiError {
    ApiError::not_found("No such passkey.")
}

/// Audit entries of `action` by the user in each of their organizations.
async fn events(
    db: &D1Database,
    me: &SignedIn,
    action: &'static str,
    passkey_id: &str,
    details: Value,
) -> Result<Vec<Event>, ApiError> {
    Ok(user_orgs(db, &me.user_id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, action, Actor::user(&me.user_id))
                .target("passkey", passkey_id)
                .details(details.clone())
        })
        .collect())
}

/// `POST /v1/me/passkeys/options`: creation options with a fresh challenge (5 minutes, this
/// user, registration only).
pub async fn options(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    let db = db::database(&cx.env)?;
    let existing = passkeys::list(&db, &me.user_id).await?;
    if existing.len() >= webauthn::MAX_PER_USER {
        return Err(ApiError::conflict(
            "This account has the most passkeys it may have: remove one first.",
        ));
    }
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &me.user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    let handle = passkeys::handle(&db, &me.user_id).await?;
    let (challenge, stmt) = passkeys::open_challenge(&db, Ceremony::Register, Some(&me.user_id))?;
    db::run(Ok(stmt)).await?;
    let options = webauthn::creation_options(
        passkeys::rp(cx),
        &handle,
        &user.email,
        &user.name,
        &challenge,
        &passkeys::descriptors(&existing),
    );
    http::json(200, &options)
}

/// The `response` member of a `RegistrationResponseJSON`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AttestationResponse {
    #[serde(rename = "clientDataJSON")]
    client_data_json: String,
    attestation_object: String,
    #[serde(default)]
    transports: Option<Vec<String>>,
    // What `toJSON()` adds for convenience; the attestation object is what is checked.
    #[serde(default, rename = "authenticatorData")]
    _authenticator_data: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "publicKey")]
    _public_key: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "publicKeyAlgorithm")]
    _public_key_algorithm: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RegisterBody {
    id: String,
    raw_id: String,
    #[serde(rename = "type")]
    kind: String,
    response: AttestationResponse,
    // Read by nothing: the checked parts are in `response`.
    #[serde(default, rename = "authenticatorAttachment")]
    _attachment: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "clientExtensionResults")]
    _extensions: Option<serde::de::IgnoredAny>,
    #[serde(default, deserialize_with = "edge_core::json::present")]
    name: Option<String>,
}

/// A base64url member, or the ceremony's `malformed` refusal naming it.
pub(crate) fn bytes(value: &str, part: &'static str) -> Result<Vec<u8>, ApiError> {
    unbase64url(value).ok_or_else(|| Failure::Malformed(part).problem())
}

fn name_of(given: Option<&str>) -> Result<String, ApiError> {
    webauthn::name(given.unwrap_or("Passkey")).map_err(|m| {
        ApiError::validation_failed("The passkey name is not valid.")
            .with_errors(vec![FieldError::new("name", m)])
    })
}

/// `POST /v1/me/passkeys`: the browser's answer verified, the passkey stored (201).
pub async fn register(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: RegisterBody = body.json().await?;
    let name = name_of(body.name.as_deref())?;
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    if body.kind != "public-key" || body.id != body.raw_id {
        return Err(Failure::Malformed("credential").problem());
    }
    let raw_id = bytes(&body.raw_id, "rawId")?;
    let client_data = bytes(&body.response.client_data_json, "clientDataJSON")?;
    let attestation = bytes(&body.response.attestation_object, "attestationObject")?;
    let reg = webauthn::verify_registration(&client_data, &attestation, &raw_id, passkeys::rp(cx))
        .map_err(|f| f.problem())?;
    let db = db::database(&cx.env)?;
    passkeys::challenge_live(&db, &reg.challenge, Ceremony::Register, Some(&me.user_id)).await?;
    let credential_id = base64url(&reg.credential.id);
    if passkeys::by_credential(&db, &credential_id)
        .await?
        .is_some()
    {
        return Err(duplicate());
    }
    passkeys::take(&db, &reg.challenge).await?;
    let id = platform::new_id(edge_core::ids::IdKind::Passkey);
    let transports = webauthn::transports(&body.response.transports.unwrap_or_default());
    let transports = serde_json::to_string(&transports).or_internal("transports")?;
    let now = platform::rfc3339(platform::now());
    let events = events(
        &db,
        &me,
        "auth.passkey_added",
        &id,
        json!({"factor": "passkey", "alg": reg.credential.key.alg(), "backup_eligible": reg.backup_eligible}),
    )
    .await?;
    let insert = sql!(
        db,
        "INSERT INTO passkeys (id, user_id, credential_id, public_key, alg, sign_count, \
         backup_eligible, backed_up, transports, aaguid, name, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        &id,
        &me.user_id,
        &credential_id,
        base64url(&reg.credential.cose),
        reg.credential.key.alg(),
        reg.sign_count,
        reg.backup_eligible,
        reg.backed_up,
        &transports,
        hex(&reg.credential.aaguid),
        &name,
        &now
    )?;
    if let Err(e) = commit(cx, &db, &events, vec![insert]).await {
        // A concurrent registration of the same credential won the UNIQUE index.
        return Err(match passkeys::by_credential(&db, &credential_id).await? {
            Some(_) => duplicate(),
            None => e,
        });
    }
    let row = passkeys::of_user(&db, &me.user_id, &id)
        .await?
        .ok_or_else(|| http::internal("passkey", "not found after insert"))?;
    http::json(201, &row.public())
}

fn duplicate() -> ApiError {
    ApiError::conflict("This passkey is already registered.")
}

/// `GET /v1/me/passkeys`.
pub async fn list(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let db = db::database(&cx.env)?;
    let items: Vec<Value> = passkeys::list(&db, &me.user_id)
        .await?
        .iter()
        .map(passkeys::Row::public)
        .collect();
    http::json(200, &json!({ "items": items }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

/// `PATCH /v1/me/passkeys/{id}`: a new name.
pub async fn rename(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: RenameBody = body.json().await?;
    let name = name_of(Some(&body.name))?;
    let db = db::database(&cx.env)?;
    let id = cx.param("id");
    passkeys::of_user(&db, &me.user_id, id)
        .await?
        .ok_or_else(not_found)?;
    let events = events(&db, &me, "auth.passkey_renamed", id, json!({"name": name})).await?;
    let update = sql!(
        db,
        "UPDATE passkeys SET name = ?3 WHERE id = ?1 AND user_id = ?2",
        id,
        &me.user_id,
        &name
    )?;
    commit(cx, &db, &events, vec![update]).await?;
    let row = passkeys::of_user(&db, &me.user_id, id)
        .await?
        .ok_or_else(not_found)?;
    http::json(200, &row.public())
}

/// `DELETE /v1/me/passkeys/{id}`: sensitive (a recent second factor when the user has one).
pub async fn delete(cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    let db = db::database(&cx.env)?;
    let id = cx.param("id");
    passkeys::of_user(&db, &me.user_id, id)
        .await?
        .ok_or_else(not_found)?;
    let events = events(
        &db,
        &me,
        "auth.passkey_removed",
        id,
        json!({"factor": "passkey"}),
    )
    .await?;
    let delete = sql!(
        db,
        "DELETE FROM passkeys WHERE id = ?1 AND user_id = ?2",
        id,
        &me.user_id
    )?;
    let results = commit(cx, &db, &events, vec![delete]).await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(not_found());
    }
    Ok(http::empty(204))
}
