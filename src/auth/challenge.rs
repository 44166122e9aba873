//! Logins awaiting their second factor: the password was right, and the client holds an opaque
//! challenge token (stored only as its hash) for [`mfa::CHALLENGE_TTL_SECONDS`]. The factor is
//! checked first (a typo does not spend the challenge); the challenge is then taken once, by a
//! conditional update, before any session is minted.

use crate::db;
use crate::platform;
use crate::sql;
use edge_core::mfa;
use edge_core::tokens::{self, SecretKind};
use edge_core::ApiError;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

pub fn invalid() -> ApiError {
    ApiError::unauthenticated(
        "The MFA challenge is invalid, expired or already used: sign in with your password again.",
    )
}

/// A new challenge for `user_id`: the token for the client and the statement storing it.
pub fn open(db: &D1Database, user_id: &str) -> Result<(String, D1PreparedStatement), ApiError> {
    let token = tokens::new_secret(SecretKind::MfaChallenge, platform::random());
    let now = platform::now();
    let stmt = sql!(
        db,
        "INSERT INTO mfa_challenges (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        tokens::secret_hash(&token),
        user_id,
        platform::rfc3339(now),
        now.timestamp() + mfa::CHALLENGE_TTL_SECONDS
    )?;
    Ok((token, stmt))
}

#[derive(Deserialize)]
struct Row {
    user_id: String,
}

/// The user a live, unused challenge was opened for.
pub async fn user_of(db: &D1Database, token: &str) -> Result<String, ApiError> {
    if !tokens::is_secret(SecretKind::MfaChallenge, token) {
        return Err(invalid());
    }
    let row: Option<Row> = db::first(sql!(
        db,
        "SELECT user_id FROM mfa_challenges WHERE hash = ?1 AND used_at IS NULL AND expires_at >= ?2",
        tokens::secret_hash(token),
        platform::now().timestamp()
    ))
    .await?;
    row.map(|r| r.user_id).ok_or_else(invalid)
}

/// Spends the challenge: exactly one caller wins it.
pub async fn take(db: &D1Database, token: &str) -> Result<(), ApiError> {
    let won = db::run(sql!(
        db,
        "UPDATE mfa_challenges SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL AND expires_at >= ?3",
        tokens::secret_hash(token),
        platform::rfc3339(platform::now()),
        platform::now().timestamp()
    ))
    .await?;
    if won == 1 {
        Ok(())
    } else {
        Err(invalid())
    }
}
