//! `/v1/auth/*` and the JWKS: accounts, sign-in, token refresh, sign-out, email verification
//! and password reset. Unknown emails and wrong passwords take the same path and answer the
//! same 401; password-reset requests answer 202 whether or not the account exists.

use super::identity::{user_orgs, UserRow};
use crate::audit::{self, Actor, Event};
use crate::auth::{self, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{jobs, platform, realtime};
use edge_core::ids::IdKind;
use edge_core::json::Checks;
use edge_core::rooms;
use edge_core::sealed::{self, Expiring};
use edge_core::tokens::{self, SecretKind};
use edge_core::validate::{self, Email};
use edge_core::{password, ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::json;

const VERIFY_PURPOSE: &str = "verify-email";
const VERIFY_TTL_SECONDS: i64 = 24 * 3600;
const RESET_TTL_SECONDS: i64 = 3600;

fn bad_credentials() -> ApiError {
    ApiError::unauthenticated("Invalid email or password.")
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthenticated("The refresh token is invalid, expired or revoked.")
}

pub fn jwks(cx: &Ctx) -> ApiResult {
    let ring = auth::keyring::get(&cx.config).map_err(|e| http::internal("JWT keys", e))?;
    let mut resp = http::json(200, &ring.jwks())?;
    let _ = resp
        .headers_mut()
        .set("Cache-Control", "public, max-age=300");
    Ok(resp)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupBody {
    email: String,
    password: String,
    name: String,
    org_name: String,
}

pub async fn signup(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: SignupBody = body.json().await?;
    let email = Email::parse(&body.email);
    let name = validate::name(&body.name, 100);
    let org_name = validate::name(&body.org_name, 100);
    let mut checks = Checks::new();
    if let Err(m) = &email {
        checks.check(false, "email", *m);
    }
    if let Err(m) = password::check_policy(&body.password) {
        checks.check(false, "password", m);
    }
    if let Err(m) = &name {
        checks.check(false, "name", m.clone());
    }
    if let Err(m) = &org_name {
        checks.check(false, "org_name", m.clone());
    }
    checks.finish()?;
    let (Ok(email), Ok(name), Ok(org_name)) = (email, name, org_name) else {
        return Err(ApiError::internal("unreachable validation state"));
    };

    auth::limit_attempt(cx, Some(email.as_str())).await?;
    let hash = password::hash(&body.password, platform::random())
        .map_err(|e| http::internal("hash password", e))?;
    let db = db::database(&cx.env)?;
    let user_id = platform::new_id(IdKind::User);
    let org_id = platform::new_id(IdKind::Org);
    let now = platform::rfc3339(platform::now());
    let (session, session_stmts) = sessions::mint(cx, &db, &user_id)?;
    let events = [
        Event::new(&org_id, "org.created", Actor::user(&user_id)).target("org", &org_id),
        Event::new(&org_id, "user.signed_up", Actor::user(&user_id)).target("user", &user_id),
    ];
    let written = audit::write(&db, &auth::audit_origin(cx), &events, || {
        let mut stmts = vec![
            sql!(
                db,
                "INSERT INTO users (id, email, name, password_hash, email_verified, created_at, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, 0, ?5, ?5)",
                &user_id,
                email.as_str(),
                &name,
                &hash,
                &now
            )?,
            sql!(
                db,
                "INSERT INTO organizations (id, name, plan, created_at, updated_at) VALUES (?1, ?2, 'free', ?3, ?3)",
                &org_id,
                &org_name,
                &now
            )?,
            sql!(
                db,
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, 'owner', ?3)",
                &org_id,
                &user_id,
                &now
            )?,
        ];
        stmts.extend(session_stmts.iter().cloned());
        Ok(stmts)
    })
    .await;
    match written {
        Ok(_) => {}
        Err(audit::WriteError::Db(e)) if db::is_unique_violation(&e, "users.email") => {
            return Err(
                ApiError::conflict("An account with this email already exists.")
                    .with_errors(vec![FieldError::new("email", "already registered")]),
            );
        }
        Err(e) => return Err(e.into_api()),
    }
    send_verification(cx, &user_id, email.as_str(), &name);

    let user = json!({"id": user_id, "email": email.as_str(), "name": name, "email_verified": false, "created_at": now});
    let org =
        json!({"id": org_id, "name": org_name, "plan": "free", "role": "owner", "created_at": now});
    let mut out = session.body();
    out["user"] = user;
    out["org"] = org;
    http::json(201, &out)
}

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
fn send_verification(cx: &Ctx, user_id: &str, email: &str, name: &str) {
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

pub async fn refresh(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: RefreshBody = body.json().await?;
    let db = db::database(&cx.env)?;
    match sessions::refresh(cx, &db, &body.refresh_token).await? {
        sessions::Refreshed::Ok(session) => http::json(200, &session.body()),
        sessions::Refreshed::Invalid => Err(invalid_refresh()),
        sessions::Refreshed::Reused(user_id, session_id) => {
            let orgs = user_orgs(&db, &user_id).await?;
            let events: Vec<Event> = orgs
                .iter()
                .map(|o| {
                    Event::new(&o.id, "auth.refresh_token_reused", Actor::anonymous())
                        .target("user", &user_id)
                        .details(json!({"session_id": session_id, "effect": "session revoked"}))
                })
                .collect();
            audit::record(&db, &auth::audit_origin(cx), &events).await?;
            for o in &orgs {
                realtime::close_sockets(
                    &cx.env,
                    &o.id,
                    realtime::Whose::Session(&session_id),
                    rooms::CLOSE_SESSION_REVOKED,
                    "session revoked",
                )
                .await;
            }
            Err(invalid_refresh())
        }
    }
}

pub async fn logout(cx: &Ctx) -> ApiResult {
    let (user_id, session_id) = auth::user(cx).await?;
    let db = db::database(&cx.env)?;
    let orgs = user_orgs(&db, &user_id).await?;
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.logout", Actor::user(&user_id))
                .details(json!({"session_id": session_id}))
        })
        .collect();
    let now = platform::rfc3339(platform::now());
    audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE sessions SET revoked_at = ?2, revoke_reason = 'logout' WHERE id = ?1 AND revoked_at IS NULL",
            &session_id,
            &now
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    // The session's realtime sockets go with it.
    for o in &orgs {
        realtime::close_sockets(
            &cx.env,
            &o.id,
            realtime::Whose::Session(&session_id),
            rooms::CLOSE_SESSION_REVOKED,
            "session revoked",
        )
        .await;
    }
    Ok(http::empty(204))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

pub(super) fn invalid_token(what: &str) -> ApiError {
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
