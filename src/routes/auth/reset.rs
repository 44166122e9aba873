//! `POST /v1/auth/password-reset`: the request half of a reset. It answers 202 whether or not
//! the account exists and does the work after the response; redeeming the token is
//! `reset_confirm`, not here.

use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::routes::identity::{user_orgs, UserRow};
use crate::sql;
use crate::{jobs, platform};
use edge_core::tokens::{self, SecretKind};
use edge_core::validate::Email;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

const RESET_TTL_SECONDS: i64 = 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    email: String,
}

pub async fn password_reset(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: ResetBody = body.json().await?;
    let email = Email::parse(&body.email).map_err(|m| {
        ApiError::validation_failed("The email is invalid.")
            .with_errors(vec![FieldError::new("email", m)])
    })?;
    auth::limit_attempt(cx, Some(email.as_str())).await?;
    // The work happens after the response, so its presence or absence cannot be timed.
    let env = cx.env.clone();
    let origin = auth::audit_origin(cx);
    cx.ctx.wait_until(async move {
        if let Err(e) = start_reset(env, origin, email).await {
            let _ = http::internal("password reset", e);
        }
    });
    http::json(202, &json!({"status": "accepted"}))
}

async fn start_reset(
    env: worker::Env,
    origin: audit::Origin,
    email: Email,
) -> Result<(), ApiError> {
    let db = db::database(&env)?;
    let Some(user) = db::first::<UserRow>(sql!(
        db,
        "SELECT * FROM users WHERE email = ?1",
        email.as_str()
    ))
    .await?
    else {
        return Ok(());
    };
    let token = tokens::new_secret(SecretKind::PasswordReset, platform::random());
    let now = platform::now();
    let events: Vec<Event> = user_orgs(&db, &user.id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.password_reset_requested", Actor::anonymous())
                .target("user", &user.id)
        })
        .collect();
    audit::write(&db, &origin, &events, || {
        Ok(vec![sql!(
            db,
            "INSERT INTO password_resets (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            tokens::secret_hash(&token),
            &user.id,
            platform::rfc3339(now),
            now.timestamp() + RESET_TTL_SECONDS
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    let payload = json!({"template": "password_reset", "to": user.email, "name": user.name, "user_id": user.id, "token": token});
    jobs::send_email(&env, None, payload).await;
    Ok(())
}
