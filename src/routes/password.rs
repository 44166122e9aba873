//! `POST /v1/me/password`: a signed-in user changes their password. It takes the current
//! password (attempts limited like login), is a sensitive action (a user with a second factor
//! needs a recent one), keeps the session it was made from and ends every other one at once
//! (tokens and sockets), and sends a notice email.

use super::identity::{user_orgs, UserRow};
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{jobs, platform, realtime};
use edge_core::{password, rooms, ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    current_password: String,
    new_password: String,
}

pub async fn change(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: ChangeBody = body.json().await?;
    if let Err(m) = password::check_policy(&body.new_password) {
        return Err(
            ApiError::validation_failed("The new password does not meet the policy.")
                .with_errors(vec![FieldError::new("new_password", m)]),
        );
    }
    let db = db::database(&cx.env)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &me.user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    auth::limit_attempt(cx, Some(&user.email)).await?;
    if !password::verify(&body.current_password, &user.password_hash) {
        return Err(ApiError::forbidden("The current password is wrong."));
    }
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    auth::pwned::refuse_breached(cx, "new_password", &body.new_password).await?;
    let new_hash = password::hash(&body.new_password, platform::random())
        .map_err(|e| http::internal("hash password", e))?;
    let others: Vec<serde_json::Value> = db::all(sql!(
        db,
        "SELECT id FROM sessions WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL",
        &me.user_id,
        &me.session_id
    ))
    .await?;
    let ended: Vec<String> = others
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    let orgs = user_orgs(&db, &me.user_id).await?;
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.password_changed", Actor::user(&me.user_id))
                .target("user", &me.user_id)
                .details(json!({"session_id": me.session_id, "sessions_ended": ended}))
                .only_if(
                    "SELECT 1 FROM users WHERE id = ?1 AND password_hash = ?2",
                    vec![
                        crate::db::V::from(me.user_id.as_str()),
                        crate::db::V::from(new_hash.as_str()),
                    ],
                )
        })
        .collect();
    let now = platform::rfc3339(platform::now());
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![
            // Conditional on the hash the current password was checked against.
            sql!(
                db,
                "UPDATE users SET password_hash = ?3, updated_at = ?4 WHERE id = ?1 AND password_hash = ?2",
                &me.user_id,
                &user.password_hash,
                &new_hash,
                &now
            )?,
            sql!(
                db,
                "UPDATE sessions SET revoked_at = ?3, revoke_reason = 'password_changed' \
                 WHERE user_id = ?1 AND id != ?2 AND revoked_at IS NULL \
                 AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND password_hash = ?4)",
                &me.user_id,
                &me.session_id,
                &now,
                &new_hash
            )?,
        ])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if results.first().map(db::changes) != Some(1) {
        return Err(ApiError::conflict(
            "The password changed meanwhile: sign in with the new one and try again.",
        ));
    }
    for o in &orgs {
        for id in &ended {
            realtime::close_sockets(
                &cx.env,
                &o.id,
                realtime::Whose::Session(id),
                rooms::CLOSE_SESSION_REVOKED,
                "session revoked",
            )
            .await;
        }
    }
    let payload = json!({
        "template": "password_changed", "to": user.email, "name": user.name, "user_id": user.id,
        "at": now, "ip": cx.caller.ip, "sessions_ended": ended.len(),
    });
    let env = cx.env.clone();
    cx.ctx
        .wait_until(async move { jobs::send_email(&env, None, payload).await });
    Ok(http::empty(204))
}
