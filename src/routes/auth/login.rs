//! `POST /v1/auth/login`: email and password for a session. Unknown emails and wrong passwords
//! take the same Argon2 work and answer the same 401; failures are audited. It mints sessions
//! through `crate::auth::sessions` and never refreshes or revokes them.

use crate::audit::{self, Actor, Event};
use crate::auth::{self, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::routes::identity::{user_orgs, UserRow};
use crate::sql;
use edge_core::json::Checks;
use edge_core::validate::Email;
use edge_core::{password, ApiError};
use serde::Deserialize;
use serde_json::json;

fn bad_credentials() -> ApiError {
    ApiError::unauthenticated("Invalid email or password.")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

pub async fn login(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: LoginBody = body.json().await?;
    let email = Email::parse(&body.email);
    let mut checks = Checks::new();
    if let Err(m) = &email {
        checks.check(false, "email", *m);
    }
    checks.length("password", &body.password, 1, password::MAX_LEN);
    checks.finish()?;
    let Ok(email) = email else {
        return Err(bad_credentials());
    };

    auth::limit_attempt(cx, Some(email.as_str())).await?;
    let db = db::database(&cx.env)?;
    let origin = auth::audit_origin(cx);
    let user: Option<UserRow> = db::first(sql!(
        db,
        "SELECT * FROM users WHERE email = ?1",
        email.as_str()
    ))
    .await?;
    // The same Argon2 work whether or not the account exists.
    let stored = user
        .as_ref()
        .map_or(password::DUMMY_HASH, |u| u.password_hash.as_str());
    let matches = password::verify(&body.password, stored);
    let Some(user) = user.filter(|_| matches) else {
        let events = match user_id_by_email(&db, email.as_str()).await? {
            Some(uid) => user_orgs(&db, &uid)
                .await?
                .iter()
                .map(|o| {
                    Event::new(&o.id, "auth.login_failed", Actor::anonymous()).target("user", &uid)
                })
                .collect::<Vec<_>>(),
            None => vec![
                Event::new(audit::PLATFORM, "auth.login_failed", Actor::anonymous())
                    .details(json!({"email": email.as_str()})),
            ],
        };
        audit::record(&db, &origin, &events).await?;
        return Err(bad_credentials());
    };

    let rehash = if password::needs_rehash(&user.password_hash) {
        Some(
            password::hash(&body.password, platform::random())
                .map_err(|e| http::internal("rehash", e))?,
        )
    } else {
        None
    };
    let (session, session_stmts) = sessions::mint(cx, &db, &user.id)?;
    let events: Vec<Event> = user_orgs(&db, &user.id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.login", Actor::user(&user.id))
                .details(json!({"session_id": session.session_id}))
        })
        .collect();
    audit::write(&db, &origin, &events, || {
        let mut stmts = session_stmts.clone();
        if let Some(h) = &rehash {
            stmts.push(sql!(
                db,
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                &user.id,
                h
            )?);
        }
        Ok(stmts)
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    let mut out = session.body();
    out["user"] = user.public();
    http::json(200, &out)
}

async fn user_id_by_email(
    db: &worker::D1Database,
    email: &str,
) -> Result<Option<String>, ApiError> {
    let row: Option<serde_json::Value> =
        db::first(sql!(db, "SELECT id FROM users WHERE email = ?1", email)).await?;
    Ok(row.and_then(|r| r["id"].as_str().map(str::to_owned)))
}
