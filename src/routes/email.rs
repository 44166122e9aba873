//! The change of a signed-in user's email address. `POST /v1/me/email` takes the password
//! (attempts limited like login) and, for a user with a factor, a recent one; it stores a
//! single-use token (hashed) bound to the user and the new address, superseding any earlier
//! pending request, mails it to the new address and a notice to the current one.
//! `POST /v1/auth/email/confirm` redeems it: in one batch the address changes (only if no
//! other account took it meanwhile), the token is spent and every session of the user ends —
//! none is kept, so whoever changed the address cannot keep a session through it either; the
//! user signs in again with the new address. A notice goes to the old address.

use super::auth::invalid_token;
use super::identity::{user_orgs, UserRow};
use crate::audit::{self, Actor, Event};
use crate::auth::{self, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{jobs, platform, realtime};
use edge_core::email_change::{self, Pending, TTL_SECONDS};
use edge_core::tokens::{self, SecretKind};
use edge_core::validate::Email;
use edge_core::{password, rooms, ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestBody {
    new_email: String,
    password: String,
}

fn taken() -> ApiError {
    ApiError::conflict("Another account uses this email address.")
}

async fn in_use(db: &worker::D1Database, email: &str) -> Result<bool, ApiError> {
    let row: Option<serde_json::Value> =
        db::first(sql!(db, "SELECT id FROM users WHERE email = ?1", email)).await?;
    Ok(row.is_some())
}

fn send(cx: &Ctx, payload: serde_json::Value) {
    let env = cx.env.clone();
    cx.ctx
        .wait_until(async move { jobs::send_email(&env, None, payload).await });
}

pub async fn request(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: RequestBody = body.json().await?;
    let bad = |m: &str| {
        ApiError::validation_failed("The new email is invalid.")
            .with_errors(vec![FieldError::new("new_email", m)])
    };
    let new = Email::parse(&body.new_email).map_err(bad)?;
    let db = db::database(&cx.env)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &me.user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    auth::limit_attempt(cx, Some(&user.email)).await?;
    if !password::verify(&body.password, &user.password_hash) {
        return Err(ApiError::forbidden("The password is wrong."));
    }
    auth::require_recent_factor_of(cx, &me.user_id, &me.authn).await?;
    let new = email_change::requested(&user.email, new)
        .map_err(|_| bad("is the account's current address"))?;
    if in_use(&db, new.as_str()).await? {
        return Err(taken());
    }
    let token = tokens::new_secret(SecretKind::EmailChange, platform::random());
    let hash = tokens::secret_hash(&token);
    let now = platform::now();
    let stamp = platform::rfc3339(now);
    let expires = now.timestamp() + TTL_SECONDS;
    let events: Vec<Event> = user_orgs(&db, &me.user_id)
        .await?
        .iter()
        .map(|o| {
            Event::new(
                &o.id,
                "user.email_change_requested",
                Actor::user(&me.user_id),
            )
            .target("user", &me.user_id)
            .details(json!({"new_email": new.as_str(), "expires_at": expires}))
        })
        .collect();
    audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![
            // Older pending requests stop working.
            sql!(
                db,
                "UPDATE email_changes SET superseded_at = ?2 \
                 WHERE user_id = ?1 AND used_at IS NULL AND superseded_at IS NULL",
                &me.user_id,
                &stamp
            )?,
            sql!(
                db,
                "INSERT INTO email_changes (hash, user_id, new_email, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &hash,
                &me.user_id,
                new.as_str(),
                &stamp,
                expires
            )?,
        ])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    let expires_at = chrono::DateTime::from_timestamp(expires, 0).map(platform::rfc3339);
    send(
        cx,
        json!({
            "template": "email_change_verify", "to": new.as_str(), "name": user.name,
            "user_id": user.id, "token": token, "expires_at": expires_at,
        }),
    );
    send(
        cx,
        json!({
            "template": "email_change_requested", "to": user.email, "name": user.name,
            "user_id": user.id, "new_email": new.as_str(), "at": stamp, "ip": cx.caller.ip,
        }),
    );
    http::json(
        202,
        &json!({"pending_email": new.as_str(), "expires_at": expires_at}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmBody {
    token: String,
}

#[derive(Deserialize)]
struct ChangeRow {
    user_id: String,
    new_email: String,
    expires_at: i64,
    used_at: Option<String>,
    superseded_at: Option<String>,
}

pub async fn confirm(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: ConfirmBody = body.json().await?;
    let invalid = || invalid_token("email change");
    if !tokens::is_secret(SecretKind::EmailChange, &body.token) {
        return Err(invalid());
    }
    let db = db::database(&cx.env)?;
    let hash = tokens::secret_hash(&body.token);
    let now = platform::now();
    let row: ChangeRow = db::first(sql!(
        db,
        "SELECT user_id, new_email, expires_at, used_at, superseded_at FROM email_changes WHERE hash = ?1",
        &hash
    ))
    .await?
    .filter(|r: &ChangeRow| {
        let p = Pending {
            used: r.used_at.is_some(),
            superseded: r.superseded_at.is_some(),
            expires_at: r.expires_at,
        };
        email_change::redeemable(&p, now.timestamp())
    })
    .ok_or_else(invalid)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &row.user_id))
        .await?
        .filter(|u: &UserRow| u.deleted_at.is_none())
        .ok_or_else(invalid)?;
    if in_use(&db, &row.new_email).await? {
        return Err(taken());
    }
    let claim = platform::claim();
    let stamp = platform::rfc3339(now);
    let used = "SELECT 1 FROM email_changes WHERE hash = ?1 AND used_by = ?2";
    let used_args = || vec![V::from(&hash), V::from(&claim)];
    let orgs = user_orgs(&db, &row.user_id).await?;
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(&o.id, "user.email_changed", Actor::user(&row.user_id))
                .target("user", &row.user_id)
                .details(json!({
                    "old_email": user.email, "new_email": row.new_email,
                    "effect": "all sessions revoked",
                }))
                .only_if(used, used_args())
        })
        .collect();
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![
            // Claims the token only while it is live, the account is the one it was read
            // as, and no other account holds the address.
            sql!(
                db,
                "UPDATE email_changes SET used_at = ?2, used_by = ?3 WHERE hash = ?1 \
                 AND used_at IS NULL AND superseded_at IS NULL AND expires_at >= ?4 \
                 AND EXISTS (SELECT 1 FROM users WHERE id = ?5 AND email = ?6 AND deleted_at IS NULL) \
                 AND NOT EXISTS (SELECT 1 FROM users WHERE email = ?7)",
                &hash,
                &stamp,
                &claim,
                now.timestamp(),
                &row.user_id,
                &user.email,
                &row.new_email
            )?,
            sql!(
                db,
                "UPDATE users SET email = ?2, email_verified = 1, updated_at = ?3 WHERE id = ?1 \
                 AND EXISTS (SELECT 1 FROM email_changes WHERE hash = ?4 AND used_by = ?5)",
                &row.user_id,
                &row.new_email,
                &stamp,
                &hash,
                &claim
            )?,
            sessions::revoke_all_stmt(&db, &row.user_id, "email_changed", Some((used, used_args())))?,
        ])
    })
    .await
    .map_err(|e| match e {
        // The unique index is the last word on a race the guard above did not see; the
        // batch then changed nothing.
        audit::WriteError::Db(d) if d.to_string().contains("UNIQUE") => taken(),
        e => e.into_api(),
    })?;
    if results.first().map(db::changes) != Some(1) {
        return Err(if in_use(&db, &row.new_email).await? {
            taken()
        } else {
            invalid()
        });
    }
    for o in &orgs {
        realtime::close_sockets(
            &cx.env,
            &o.id,
            realtime::Whose::User(&row.user_id),
            rooms::CLOSE_SESSION_REVOKED,
            "session revoked",
        )
        .await;
    }
    send(
        cx,
        json!({
            "template": "email_changed", "to": user.email, "name": user.name,
            "user_id": user.id, "new_email": row.new_email, "at": stamp, "ip": cx.caller.ip,
        }),
    );
    let changed: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &row.user_id))
        .await?
        .ok_or_else(invalid)?;
    http::json(200, &changed.public())
}
