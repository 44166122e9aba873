//! A user's passkeys: the single-use ceremony challenges, the credential rows, the opaque user
//! handle, and the signature check through WebCrypto (`crypto.subtle`, native in workerd: no
//! signature crate in the wasm). The rules are `edge_core::webauthn`; routes compose answers
//! and audit entries.

use crate::ctx::Ctx;
use crate::db;
use crate::platform;
use crate::sql;
use crate::storage::{call, get, wait};
use edge_core::encoding::{base64url, hex};
use edge_core::signature::sha256;
use edge_core::webauthn::{self, cose::PublicKey, Ceremony, Descriptor, Failure};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

/// A stored passkey.
#[derive(Debug, Clone, Deserialize)]
pub struct Row {
    pub id: String,
    pub user_id: String,
    pub credential_id: String,
    pub public_key: String,
    pub sign_count: i64,
    pub backup_eligible: i64,
    pub backed_up: i64,
    pub transports: String,
    pub aaguid: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl Row {
    /// What the API shows of a passkey (never the key).
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "credential_id": self.credential_id,
            "aaguid": self.aaguid,
            "transports": self.transport_list(),
            "backup_eligible": self.backup_eligible != 0,
            "backed_up": self.backed_up != 0,
            "sign_count": self.sign_count,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
        })
    }

    pub fn transport_list(&self) -> Vec<String> {
        serde_json::from_str(&self.transports).unwrap_or_default()
    }

    pub fn key(&self) -> Result<PublicKey, ApiError> {
        edge_core::encoding::unbase64url(&self.public_key)
            .and_then(|b| PublicKey::from_cose(&b))
            .ok_or_else(|| crate::http::internal("passkey", "stored key does not parse"))
    }

    pub fn stored_count(&self) -> u32 {
        u32::try_from(self.sign_count).unwrap_or(u32::MAX)
    }
}

const COLUMNS: &str = "id, user_id, credential_id, public_key, sign_count, backup_eligible, \
     backed_up, transports, aaguid, name, created_at, last_used_at";

/// The user's passkeys, oldest first.
pub async fn list(db: &D1Database, user_id: &str) -> Result<Vec<Row>, ApiError> {
    db::all(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = ?1 ORDER BY created_at, id"),
        user_id
    ))
    .await
}

/// One of the user's passkeys by its id (another user's is `None`).
pub async fn of_user(db: &D1Database, user_id: &str, id: &str) -> Result<Option<Row>, ApiError> {
    db::first(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM passkeys WHERE id = ?1 AND user_id = ?2"),
        id,
        user_id
    ))
    .await
}

/// A passkey by the authenticator's credential id.
pub async fn by_credential(db: &D1Database, credential_id: &str) -> Result<Option<Row>, ApiError> {
    db::first(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?1"),
        credential_id
    ))
    .await
}

/// How many passkeys the user has.
pub async fn count(db: &D1Database, user_id: &str) -> Result<i64, ApiError> {
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?1",
        user_id
    ))
    .await?;
    Ok(row.and_then(|r| r["n"].as_i64()).unwrap_or(0))
}

/// The descriptors of `rows` for `excludeCredentials` / `allowCredentials`.
pub fn descriptors(rows: &[Row]) -> Vec<Descriptor<'_>> {
    rows.iter()
        .map(|r| Descriptor {
            id: &r.credential_id,
            transports: r.transport_list(),
        })
        .collect()
}

/// The user's opaque WebAuthn handle, made on first use (32 random bytes).
pub async fn handle(db: &D1Database, user_id: &str) -> Result<Vec<u8>, ApiError> {
    let fresh = base64url(&platform::random::<32>());
    db::run(sql!(
        db,
        "UPDATE users SET webauthn_handle = ?2 WHERE id = ?1 AND webauthn_handle IS NULL",
        user_id,
        &fresh
    ))
    .await?;
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT webauthn_handle FROM users WHERE id = ?1",
        user_id
    ))
    .await?;
    row.and_then(|r| r["webauthn_handle"].as_str().map(str::to_owned))
        .and_then(|h| edge_core::encoding::unbase64url(&h))
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))
}

/// The user a handle names, if any.
pub async fn user_of_handle(db: &D1Database, handle: &str) -> Result<Option<String>, ApiError> {
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT id FROM users WHERE webauthn_handle = ?1",
        handle
    ))
    .await?;
    Ok(row.and_then(|r| r["id"].as_str().map(str::to_owned)))
}

/// A new challenge of `ceremony` (bound to `user_id` when given) and the statement storing it.
pub fn open_challenge(
    db: &D1Database,
    ceremony: Ceremony,
    user_id: Option<&str>,
) -> Result<(Vec<u8>, D1PreparedStatement), ApiError> {
    let challenge = platform::random::<{ webauthn::CHALLENGE_BYTES }>().to_vec();
    let now = platform::now();
    let stmt = sql!(
        db,
        "INSERT INTO webauthn_challenges (hash, ceremony, user_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        hex(&sha256(&challenge)),
        ceremony.as_str(),
        user_id,
        platform::rfc3339(now),
        now.timestamp() + webauthn::CHALLENGE_TTL_SECONDS
    )?;
    Ok((challenge, stmt))
}

/// Whether `challenge` is live for `ceremony` (and `user_id`, when bound), without taking it.
pub async fn challenge_live(
    db: &D1Database,
    challenge: &[u8],
    ceremony: Ceremony,
    user_id: Option<&str>,
) -> Result<(), ApiError> {
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT 1 AS live FROM webauthn_challenges WHERE hash = ?1 AND ceremony = ?2 \
         AND user_id IS ?3 AND used_at IS NULL AND expires_at >= ?4",
        hex(&sha256(challenge)),
        ceremony.as_str(),
        user_id,
        platform::now().timestamp()
    ))
    .await?;
    row.map(|_| ()).ok_or_else(|| Failure::Challenge.problem())
}

/// The statement taking the challenge: applies once, so a batch can check it changed a row.
pub fn take_stmt(db: &D1Database, challenge: &[u8]) -> Result<D1PreparedStatement, ApiError> {
    sql!(
        db,
        "UPDATE webauthn_challenges SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at >= ?3",
        hex(&sha256(challenge)),
        platform::rfc3339(platform::now()),
        platform::now().timestamp()
    )
}

/// Takes the challenge: exactly one caller wins it.
pub async fn take(db: &D1Database, challenge: &[u8]) -> Result<(), ApiError> {
    if db::run(take_stmt(db, challenge)).await? == 1 {
        Ok(())
    } else {
        Err(Failure::Challenge.problem())
    }
}

/// Verifies `assertion`'s signature with `key` through WebCrypto.
pub async fn verify_signature(
    key: &PublicKey,
    assertion: &webauthn::Assertion,
) -> Result<(), ApiError> {
    let js = |v: &Value| js_sys::JSON::parse(&v.to_string());
    let attempt = async {
        let subtle = get(&get(&js_sys::global(), "crypto")?, "subtle")?;
        let alg = js(&key.webcrypto_algorithm())?;
        let usages: js_sys::Array = std::iter::once(JsValue::from_str("verify")).collect();
        let imported = wait(call(
            &subtle,
            "importKey",
            &[
                JsValue::from_str("jwk"),
                js(&key.jwk())?,
                alg.clone(),
                JsValue::FALSE,
                usages.into(),
            ],
        )?)
        .await?;
        let ok = wait(call(
            &subtle,
            "verify",
            &[
                alg,
                imported,
                js_sys::Uint8Array::from(assertion.signature.as_slice()).into(),
                js_sys::Uint8Array::from(assertion.signed.as_slice()).into(),
            ],
        )?)
        .await?;
        Ok::<bool, JsValue>(ok.as_bool() == Some(true))
    };
    match attempt.await {
        Ok(true) => Ok(()),
        Ok(false) => Err(Failure::Signature.problem()),
        // A key WebCrypto will not import (e.g. a point off the curve) verifies nothing.
        Err(_) => Err(Failure::Signature.problem()),
    }
}

/// Whether the user has any second factor: a confirmed authenticator app or a passkey.
pub async fn has_factor(db: &D1Database, user_id: &str) -> Result<bool, ApiError> {
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT (EXISTS (SELECT 1 FROM totp_factors WHERE user_id = ?1 AND confirmed_at IS NOT NULL) \
         OR EXISTS (SELECT 1 FROM passkeys WHERE user_id = ?1)) AS yes",
        user_id
    ))
    .await?;
    Ok(row.and_then(|r| r["yes"].as_i64()) == Some(1))
}

/// The relying party of this deployment.
pub fn rp(cx: &Ctx) -> &webauthn::RelyingParty {
    &cx.config.webauthn
}
