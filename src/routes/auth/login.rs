//! `POST /v1/auth/login`: email and password for a session. Unknown emails and wrong passwords
//! take the same Argon2 work and answer the same 401; failures are audited. A user with a
//! second factor gets `mfa_required` and a challenge instead of tokens (`auth::mfa` completes
//! it). It mints sessions through `crate::auth::sessions` and never refreshes or revokes them.

use crate::audit::{self, Actor, Event};
use crate::auth::{self, challenge, sessions};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::routes::identity::{user_orgs, UserRow};
use crate::sql;
use crate::{jobs, platform};
use edge_core::cookies::SessionMode;
use edge_core::json::Checks;
use edge_core::mfa::Authn;
use edge_core::validate::Email;
use edge_core::{password, ApiError};
use serde::Deserialize;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement};

fn bad_credentials() -> ApiError {
    ApiError::unauthenticated("Invalid email or password.")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
    /// `cookie`: a browser session cookie instead of tokens (see `edge_core::cookies`).
    #[serde(default, deserialize_with = "edge_core::json::present")]
    session: Option<SessionMode>,
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
    // An account past its purge time answers as an unknown one (the sweep will remove it).
    let gone = |u: &UserRow| {
        edge_core::account::standing(u.purge_at, platform::now().timestamp())
            == edge_core::account::Standing::Gone
    };
    if user.as_ref().is_some_and(gone) {
        return Err(bad_credentials());
    }
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
    let rehash_stmt = |db: &D1Database| -> Result<Vec<D1PreparedStatement>, ApiError> {
        match &rehash {
            Some(h) => Ok(vec![sql!(
                db,
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                &user.id,
                h
            )?]),
            None => Ok(Vec::new()),
        }
    };
    if auth::mfa::enrolled(&db, &user.id).await? {
        // The password was right; the session waits for the second factor.
        let (token, stmt) = challenge::open(&db, &user.id)?;
        let mut stmts = rehash_stmt(&db)?;
        stmts.push(stmt);
        db::batch(&db, stmts)
            .await
            .map_err(|e| http::internal("open MFA challenge", e))?;
        let passkey = auth::passkeys::count(&db, &user.id).await? > 0;
        return Err(mfa_required(token, passkey));
    }
    let now = platform::now().timestamp();
    let mode = body.session.unwrap_or_default();
    let authn = Authn::password(now);
    finish_as(cx, &db, &user, &authn, rehash_stmt(&db)?, mode).await
}

/// 403 `mfa_required`, carrying the challenge `POST /v1/auth/mfa` completes; `passkey` when
/// the user also has one (a passkey sign-in is a full login that counts as the second factor,
/// so the app may offer it instead of a code).
fn mfa_required(token: String, passkey: bool) -> ApiError {
    let methods: &[&str] = if passkey {
        &["totp", "recovery_code", "passkey"]
    } else {
        &["totp", "recovery_code"]
    };
    ApiError::new(
        403,
        "mfa_required",
        "Second factor required",
        "The password is right; complete the sign-in with POST /v1/auth/mfa, giving `mfa_token` \
         and a `code` from the authenticator app (or a `recovery_code`), or sign in with a \
         passkey if `methods` lists one.",
    )
    .with_extension("mfa_token", json!(token))
    .with_extension("methods", json!(methods))
    .with_extension("expires_in", json!(edge_core::mfa::CHALLENGE_TTL_SECONDS))
}

/// Completes a sign-in: the session minted (with `extra`, e.g. a rehash, in its batch), the
/// login audited in each of the user's organizations, a notice to the user when the device
/// is new to the account, and the user with the token pair, or (cookie mode) with the
/// session's id and CSRF token while the cookie goes in `Set-Cookie`.
pub(super) async fn finish_as(
    cx: &Ctx,
    db: &D1Database,
    user: &UserRow,
    authn: &Authn,
    extra: Vec<D1PreparedStatement>,
    mode: SessionMode,
) -> ApiResult {
    match edge_core::account::standing(user.purge_at, platform::now().timestamp()) {
        edge_core::account::Standing::Active => {}
        edge_core::account::Standing::PendingDeletion { purge_at } => {
            return Err(crate::account::pending_deletion(db, &user.id, purge_at).await)
        }
        edge_core::account::Standing::Gone => return Err(bad_credentials()),
    }
    let new_device = is_new_device(cx, db, &user.id).await?;
    let (minted, session_stmts) = Minted::new(cx, db, &user.id, authn, mode)?;
    let events: Vec<Event> = user_orgs(db, &user.id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "auth.login", Actor::user(&user.id)).details(
                json!({"session_id": minted.session_id(), "method": authn.method(), "amr": authn.amr, "mode": mode.name()}),
            )
        })
        .collect();
    audit::write(db, &auth::audit_origin(cx), &events, || {
        let mut stmts = session_stmts.clone();
        stmts.extend(extra.iter().cloned());
        Ok(stmts)
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if new_device {
        let payload = json!({
            "template": "new_sign_in", "to": user.email, "name": user.name, "user_id": user.id,
            "session_id": minted.session_id(), "ip": cx.caller.ip, "user_agent": sessions::user_agent(cx),
            "at": platform::rfc3339(platform::now()),
        });
        let env = cx.env.clone();
        cx.ctx
            .wait_until(async move { jobs::send_email(&env, None, payload).await });
    }
    minted.answer(cx, user)
}

/// The session a sign-in mints, in the form its mode hands over.
pub(super) enum Minted {
    Tokens(sessions::NewSession),
    Cookie(sessions::CookieSession),
}

impl Minted {
    pub(super) fn new(
        cx: &Ctx,
        db: &D1Database,
        user_id: &str,
        authn: &Authn,
        mode: SessionMode,
    ) -> Result<(Minted, Vec<D1PreparedStatement>), ApiError> {
        Ok(match mode {
            SessionMode::Tokens => {
                let (s, stmts) = sessions::mint(cx, db, user_id, authn)?;
                (Minted::Tokens(s), stmts)
            }
            SessionMode::Cookie => {
                let (s, stmts) = sessions::mint_cookie(cx, db, user_id, authn)?;
                (Minted::Cookie(s), stmts)
            }
        })
    }

    fn session_id(&self) -> &str {
        match self {
            Minted::Tokens(s) => &s.session_id,
            Minted::Cookie(s) => &s.session_id,
        }
    }

    fn answer(&self, cx: &Ctx, user: &UserRow) -> ApiResult {
        self.respond(cx, 200, |out| out["user"] = user.public())
    }

    /// The sign-in's answer: its body (`complete` adds what the route tells), with the cookie
    /// in `Set-Cookie` in cookie mode.
    pub(super) fn respond(
        &self,
        cx: &Ctx,
        status: u16,
        complete: impl FnOnce(&mut serde_json::Value),
    ) -> ApiResult {
        let (mut out, cookie) = match self {
            Minted::Tokens(s) => (s.body(), None),
            Minted::Cookie(s) => (s.body(cx), Some(s.set_cookie())),
        };
        complete(&mut out);
        let mut resp = http::json(status, &out)?;
        if let Some(c) = cookie {
            let _ = resp.headers_mut().set("Set-Cookie", &c);
            let _ = resp.headers_mut().set("Cache-Control", "no-store");
        }
        Ok(resp)
    }
}

/// A sign-in from a user agent none of the user's sessions has had (the account's first
/// session is not "new": there is nothing to compare with).
async fn is_new_device(cx: &Ctx, db: &D1Database, user_id: &str) -> Result<bool, ApiError> {
    let row: Option<serde_json::Value> = db::first(sql!(
        db,
        "SELECT COUNT(*) AS n, COALESCE(MAX(user_agent IS ?2), 0) AS seen FROM sessions WHERE user_id = ?1",
        user_id,
        sessions::user_agent(cx).as_deref()
    ))
    .await?;
    let row = row.unwrap_or_default();
    Ok(row["n"].as_i64().unwrap_or(0) > 0 && row["seen"].as_i64().unwrap_or(0) == 0)
}

async fn user_id_by_email(
    db: &worker::D1Database,
    email: &str,
) -> Result<Option<String>, ApiError> {
    let row: Option<serde_json::Value> =
        db::first(sql!(db, "SELECT id FROM users WHERE email = ?1", email)).await?;
    Ok(row.and_then(|r| r["id"].as_str().map(str::to_owned)))
}
