//! Email verification: the sealed token mailed at sign-up and `POST /v1/auth/verify-email`
//! that redeems it, plus the one "invalid token" answer the token routes share.
//! A leaf of `routes::auth`: it imports none of its siblings.

use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{jobs, platform};
use edge_core::sealed::{self, Expiring};
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::json;

const VERIFY_PURPOSE: &str = "verify-email";
const VERIFY_TTL_SECONDS: i64 = 24 * 3600;

#[derive(Serialize, Deserialize)]
struct VerifyClaims {
    u: String,
    e: String,
    exp: i64,
}

impl Expiring for VerifyClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// Queues the verification email (off the response path).
pub(super) fn send_verification(cx: &Ctx, user_id: &str, email: &str, name: &str) {
    let claims = VerifyClaims {
        u: user_id.to_owned(),
        e: email.to_owned(),
        exp: platform::now().timestamp() + VERIFY_TTL_SECONDS,
    };
    let token = sealed::seal(
        cx.config.url_signing_secret.as_bytes(),
        VERIFY_PURPOSE,
        &claims,
    );
    let payload = json!({"template": "verify_email", "to": email, "name": name, "user_id": user_id, "token": token});
    let env = cx.env.clone();
    cx.ctx
        .wait_until(async move { jobs::send_email(&env, None, payload).await });
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

pub fn invalid_token(what: &str) -> ApiError {
    ApiError::validation_failed(format!(
        "The {what} token is invalid, expired or already used."
    ))
    .with_errors(vec![FieldError::new(
        "token",
        "invalid, expired or already used",
    )])
}

pub async fn verify_email(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: TokenBody = body.json().await?;
    let claims: VerifyClaims = sealed::open_expiring(
        cx.config.url_signing_secret.as_bytes(),
        VERIFY_PURPOSE,
        &body.token,
        platform::now().timestamp(),
    )
    .map_err(|_| invalid_token("verification"))?;
    let db = db::database(&cx.env)?;
    // Bound to the address it was sent to: changing the email voids older links.
    let n = db::run(sql!(
        db,
        "UPDATE users SET email_verified = 1, updated_at = ?3 WHERE id = ?1 AND email = ?2",
        &claims.u,
        &claims.e,
        platform::rfc3339(platform::now())
    ))
    .await?;
    if n == 0 {
        return Err(invalid_token("verification"));
    }
    Ok(http::empty(204))
}
