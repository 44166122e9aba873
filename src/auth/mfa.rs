//! A user's second factors: the authenticator-app secret (sealed at rest), recovery codes, and
//! the check of a presented factor: counted against the user's attempts first (exact, in the
//! user's limiter object), then accepted at most once (a TOTP step by a conditional update of
//! `last_step`, a recovery code by a conditional update of `used_at`). The rules are
//! `edge_core::mfa`; routes compose the answers and audit entries.

use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::platform;
use crate::sql;
use edge_core::mfa::{self, totp, vault, Factor};
use edge_core::ApiError;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// The authenticator-app factor of a user, opened.
pub struct Totp {
    pub secret: Vec<u8>,
    /// The stored (sealed) form, to make a later write conditional on the same secret.
    pub sealed: String,
    pub confirmed: bool,
    pub last_step: i64,
}

#[derive(Deserialize)]
struct TotpRow {
    secret_sealed: String,
    confirmed_at: Option<String>,
    last_step: i64,
}

pub fn code_invalid() -> ApiError {
    ApiError::new(
        403,
        "mfa_code_invalid",
        "Invalid second factor",
        "The code is wrong, expired or already used.",
    )
}

pub fn not_enrolled() -> ApiError {
    ApiError::new(
        409,
        "mfa_not_enrolled",
        "No second factor",
        "This account has no confirmed second factor: enroll one with POST /v1/me/mfa/totp.",
    )
}

/// The user's TOTP factor, confirmed or pending.
pub async fn totp(cx: &Ctx, db: &D1Database, user_id: &str) -> Result<Option<Totp>, ApiError> {
    let row: Option<TotpRow> = db::first(sql!(
        db,
        "SELECT secret_sealed, confirmed_at, last_step FROM totp_factors WHERE user_id = ?1",
        user_id
    ))
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let secret = vault::open(
        cx.config.url_signing_secret.as_bytes(),
        user_id,
        &row.secret_sealed,
    )
    .ok_or_else(|| crate::http::internal("open TOTP secret", "sealed secret does not open"))?;
    Ok(Some(Totp {
        secret,
        sealed: row.secret_sealed,
        confirmed: row.confirmed_at.is_some(),
        last_step: row.last_step,
    }))
}

/// Whether the user has a confirmed second factor.
pub async fn enrolled(db: &D1Database, user_id: &str) -> Result<bool, ApiError> {
    let row: Option<serde_json::Value> = db::first(sql!(
        db,
        "SELECT 1 AS yes FROM totp_factors WHERE user_id = ?1 AND confirmed_at IS NOT NULL",
        user_id
    ))
    .await?;
    Ok(row.is_some())
}

/// The statement storing a new pending secret for `user_id` (replacing a pending one; a
/// confirmed one is left alone, and the caller checks it had none).
pub fn pending_stmt(
    cx: &Ctx,
    db: &D1Database,
    user_id: &str,
    secret: &[u8],
) -> Result<D1PreparedStatement, ApiError> {
    let sealed = vault::seal(
        cx.config.url_signing_secret.as_bytes(),
        user_id,
        secret,
        platform::random(),
    );
    sql!(
        db,
        "INSERT INTO totp_factors (user_id, secret_sealed, created_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, \
         created_at = excluded.created_at, last_step = 0 WHERE totp_factors.confirmed_at IS NULL",
        user_id,
        &sealed,
        platform::rfc3339(platform::now())
    )
}

/// Counts one second-factor attempt of `user_id`: 429 beyond the configured attempts per window,
/// whatever the route, so guessing cannot be spread over login, step-up and disabling.
pub async fn count_attempt(cx: &Ctx, user_id: &str) -> Result<(), ApiError> {
    let d = crate::limits::hit(
        &cx.env,
        &format!("mfa:{user_id}"),
        None,
        "attempts",
        cx.config.limits.mfa_attempts,
        mfa::ATTEMPT_WINDOW_SECONDS,
    )
    .await?;
    if d.allowed {
        Ok(())
    } else {
        Err(crate::limits::refused(
            "mfa",
            &d,
            "for second-factor codes of this account",
        ))
    }
}

/// Accepts `code` for `factor` at most once: the step it matches is stored only if it is later
/// than the last one accepted, by a conditional update that two concurrent uses cannot both
/// win. Returns the step.
pub async fn accept_code(
    db: &D1Database,
    user_id: &str,
    factor: &Totp,
    code: &str,
) -> Result<i64, ApiError> {
    let now = platform::now().timestamp();
    let step =
        totp::verify(&factor.secret, code, now, factor.last_step).ok_or_else(code_invalid)?;
    let won = db::run(sql!(
        db,
        "UPDATE totp_factors SET last_step = ?2 WHERE user_id = ?1 AND last_step < ?2",
        user_id,
        step
    ))
    .await?;
    if won == 1 {
        Ok(step)
    } else {
        Err(code_invalid())
    }
}

/// Spends one recovery code of `user_id`.
async fn accept_recovery(db: &D1Database, user_id: &str, code: &str) -> Result<(), ApiError> {
    let hash = mfa::recovery_hash(code).ok_or_else(code_invalid)?;
    let won = db::run(sql!(
        db,
        "UPDATE recovery_codes SET used_at = ?3 WHERE user_id = ?1 AND hash = ?2 AND used_at IS NULL",
        user_id,
        &hash,
        platform::rfc3339(platform::now())
    ))
    .await?;
    if won == 1 {
        Ok(())
    } else {
        Err(code_invalid())
    }
}

/// Checks a presented factor of an enrolled user: the attempt counted, then the code or the
/// recovery code accepted once. 409 if the user has no confirmed factor.
pub async fn check(
    cx: &Ctx,
    db: &D1Database,
    user_id: &str,
    factor: &Factor,
) -> Result<(), ApiError> {
    count_attempt(cx, user_id).await?;
    let totp = totp(cx, db, user_id)
        .await?
        .filter(|t| t.confirmed)
        .ok_or_else(not_enrolled)?;
    match factor {
        Factor::Code(code) => accept_code(db, user_id, &totp, code).await.map(|_| ()),
        Factor::Recovery(code) => accept_recovery(db, user_id, code).await,
    }
}

/// Fresh recovery codes for `user_id` and the statements replacing the old ones; with
/// `confirmed_at`, each statement applies only if the factor was confirmed at that instant
/// (by the same batch), so a confirmation that lost a race writes no codes.
pub fn new_recovery_codes(
    db: &D1Database,
    user_id: &str,
    confirmed_at: Option<&str>,
) -> Result<(Vec<String>, Vec<D1PreparedStatement>), ApiError> {
    let now = platform::rfc3339(platform::now());
    let codes: Vec<String> = (0..mfa::RECOVERY_CODES)
        .map(|_| mfa::recovery_code(platform::random()))
        .collect();
    // `?n` is the confirmation instant, after the statement's own parameters.
    let guard = |n: usize| match confirmed_at {
        Some(_) => format!(
            " AND EXISTS (SELECT 1 FROM totp_factors WHERE user_id = ?1 AND confirmed_at = ?{n})"
        ),
        None => String::new(),
    };
    let with_stamp = |mut args: Vec<V>| {
        if let Some(at) = confirmed_at {
            args.push(V::from(at));
        }
        args.into_iter().map(|v| v.0).collect()
    };
    let mut stmts = vec![db::prepare(
        db,
        &format!("DELETE FROM recovery_codes WHERE user_id = ?1{}", guard(2)),
        with_stamp(vec![V::from(user_id)]),
    )?];
    for code in &codes {
        let hash = mfa::recovery_hash(code)
            .ok_or_else(|| crate::http::internal("recovery code", "does not normalize"))?;
        stmts.push(db::prepare(
            db,
            &format!(
                "INSERT INTO recovery_codes (user_id, hash, created_at) SELECT ?1, ?2, ?3 WHERE 1{}",
                guard(4)
            ),
            with_stamp(vec![V::from(user_id), V::from(hash), V::from(now.as_str())]),
        )?);
    }
    Ok((codes, stmts))
}

/// How many unused recovery codes `user_id` has.
pub async fn recovery_remaining(db: &D1Database, user_id: &str) -> Result<i64, ApiError> {
    let row: Option<serde_json::Value> = db::first(sql!(
        db,
        "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        user_id
    ))
    .await?;
    Ok(row.and_then(|r| r["n"].as_i64()).unwrap_or(0))
}
