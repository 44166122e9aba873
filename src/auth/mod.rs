//! Authentication: who is calling (`Bearer` access JWT, API key, or a browser's session
//! cookie, see [`cookie`]) and, for organization
//! routes, in what role. Every authenticated request makes exactly one D1 read: the session's
//! revocation state comes joined with the membership that authorization needs anyway, so
//! logout and password reset take effect at once at no extra round trip.

pub mod challenge;
pub mod cookie;
pub mod keyring;
pub mod mfa;
mod org;
pub mod passkeys;
pub mod pwned;
pub mod sessions;

use crate::ctx::Ctx;
use crate::db;
use crate::door::Caller;
use crate::platform;
use crate::sql;
use edge_core::limits::Plan;
use edge_core::mfa::Authn;
use edge_core::policy::{self, Action, Principal, Role, Scope};
use edge_core::tokens::{self, SecretKind};
use edge_core::ApiError;
use serde::Deserialize;

/// The verified credential.
#[derive(Debug, Clone)]
pub enum Credential {
    User {
        user_id: String,
        session_id: String,
        /// How the user authenticated (the token's `amr` and `auth_time`).
        authn: Authn,
    },
    ApiKey(ApiKey),
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub scopes: Vec<Scope>,
    pub plan: Plan,
    /// The key's `expires_at` (unix ms): its room sockets are closed then.
    pub expires_at: Option<i64>,
}

/// A caller allowed into one organization, with what authorization needs.
#[derive(Debug, Clone)]
pub struct OrgAccess {
    pub org_id: String,
    pub credential: Credential,
    /// The user's role; `None` for an API key.
    pub role: Option<Role>,
    /// The organization's plan, as of this request.
    pub plan: Plan,
}

impl OrgAccess {
    pub fn principal(&self) -> Principal<'_> {
        match (&self.credential, self.role) {
            (Credential::ApiKey(k), _) => Principal::ApiKey(&k.scopes),
            (Credential::User { .. }, Some(role)) => Principal::User(role),
            // A user always has a role here; refuse everything if not.
            (Credential::User { .. }, None) => Principal::ApiKey(&[]),
        }
    }

    /// 403 with the policy's reason unless `action` is allowed.
    pub fn require(&self, action: Action) -> Result<(), ApiError> {
        policy::authorize(self.principal(), action).map_err(|d| ApiError::forbidden(d.0))
    }

    pub fn user_id(&self) -> Option<&str> {
        match &self.credential {
            Credential::User { user_id, .. } => Some(user_id),
            Credential::ApiKey(_) => None,
        }
    }

    /// The id that owns what this caller creates: the user, or the API key.
    pub fn actor_id(&self) -> String {
        match &self.credential {
            Credential::User { user_id, .. } => user_id.clone(),
            Credential::ApiKey(k) => k.id.clone(),
        }
    }

    pub fn actor(&self) -> crate::audit::Actor {
        match &self.credential {
            Credential::User { user_id, .. } => crate::audit::Actor::user(user_id),
            Credential::ApiKey(k) => crate::audit::Actor::api_key(&k.id),
        }
    }
}

pub(crate) fn unauthenticated() -> ApiError {
    ApiError::unauthenticated("A valid access token or API key is required.")
        .with_header("WWW-Authenticate", "Bearer")
}

fn bearer(caller: &Caller) -> Result<&str, ApiError> {
    caller.bearer().ok_or_else(unauthenticated)
}

/// Whether the request carries an access token that verifies (signature, issuer, audience,
/// expiry; from the isolate's cache after the first time). Such a request is limited exactly
/// per user by the tenant limiter, so the coarse per-IP flood filter need not run for it.
pub fn has_verified_token(caller: &Caller, config: &edge_core::config::Config) -> bool {
    let Ok(token) = bearer(caller) else {
        return false;
    };
    if token.starts_with(SecretKind::ApiKey.prefix()) {
        return false;
    }
    keyring::get(config)
        .ok()
        .is_some_and(|ring| keyring::verify_cached(&ring, token).is_ok())
}

/// Verifies the bearer credential's own validity (signature and claims, or the key's hash,
/// expiry and revocation). Session revocation is checked by [`org_access`] / [`user`].
pub async fn credential(cx: &Ctx) -> Result<Credential, ApiError> {
    if let Some(c) = cookie::presented(cx) {
        return cookie::credential(cx, c).await;
    }
    let token = bearer(&cx.caller)?;
    if token.starts_with(SecretKind::ApiKey.prefix()) {
        return api_key(token, cx).await.map(Credential::ApiKey);
    }
    let ring = keyring::get(&cx.config).map_err(|e| crate::http::internal("JWT keys", e))?;
    let claims = keyring::verify_cached(&ring, token).map_err(|_| unauthenticated())?;
    let authn = claims.authn();
    Ok(Credential::User {
        user_id: claims.sub,
        session_id: claims.sid,
        authn,
    })
}

#[derive(Deserialize)]
struct KeyRow {
    id: String,
    org_id: String,
    scopes: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
    plan: String,
}

async fn api_key(secret: &str, cx: &Ctx) -> Result<ApiKey, ApiError> {
    if !tokens::is_secret(SecretKind::ApiKey, secret) {
        return Err(unauthenticated());
    }
    let db = db::database(&cx.env)?;
    let row: Option<KeyRow> = db::first(sql!(
        db,
        "SELECT k.id, k.org_id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, o.plan \
         FROM api_keys k JOIN organizations o ON o.id = k.org_id WHERE k.hash = ?1",
        tokens::secret_hash(secret)
    ))
    .await?;
    let row = row.ok_or_else(unauthenticated)?;
    let now = platform::now();
    let expires_at = row
        .expires_at
        .as_deref()
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok());
    let expired = expires_at.is_some_and(|e| e <= now);
    if row.revoked_at.is_some() || expired {
        return Err(unauthenticated());
    }
    // Record use at most once a minute, off the request's critical path.
    let stale = row.last_used_at.as_deref().is_none_or(|t| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map_or(true, |t| (now - t.to_utc()).num_seconds() >= 60)
    });
    if stale {
        let stmt = sql!(
            db,
            "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
            &row.id,
            platform::rfc3339(now)
        );
        cx.ctx.wait_until(async move {
            let _ = db::run(stmt).await;
        });
    }
    let scopes = serde_json::from_str::<Vec<String>>(&row.scopes)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect();
    let plan = Plan::parse(&row.plan).unwrap_or(Plan::Free);
    Ok(ApiKey {
        id: row.id,
        org_id: row.org_id,
        scopes,
        plan,
        expires_at: expires_at.map(|e| e.timestamp_millis()),
    })
}

/// The caller's access to `org_id`. Another organization's id, or one the user is not a
/// member of, is a 404, indistinguishable from a missing organization.
///
/// One D1 read (session ⋈ membership ⋈ plan) and, at the same time, one call to the
/// organization's `TENANT` object that counts the request in the caller's window and in the
/// organization's usage: the count does not need the plan, only the decision does, so neither
/// waits for the other. A request that is then refused (not a member, a revoked session, over
/// the limit) has its usage count taken back alongside the answer.
pub async fn org_access(cx: &Ctx, org_id: &str) -> Result<OrgAccess, ApiError> {
    org_access_reading::<serde_json::Value>(cx, org_id, None)
        .await
        .map(|(access, _)| access)
}

/// [`org_access`], with `read` (a query of the organization's data the handler will need, e.g.
/// the document of a GET) sent in the same D1 batch as the authorization read, while the
/// limiter counts at the same time: one round trip instead of three. The first row of `read`
/// is handed over only if access is granted (the handler checks its action's rights before
/// looking at it).
pub async fn org_access_reading<T: serde::de::DeserializeOwned>(
    cx: &Ctx,
    org_id: &str,
    read: Option<Result<worker::D1PreparedStatement, ApiError>>,
) -> Result<(OrgAccess, Result<Option<T>, ApiError>), ApiError> {
    let credential = credential(cx).await?;
    org::org_access_reading_as(cx, credential, org_id, read).await
}

/// [`org_access`] for a credential already verified another way (a room ticket names the
/// user and session it was issued to; they are checked again here).
pub async fn org_access_as(
    cx: &Ctx,
    credential: Credential,
    org_id: &str,
) -> Result<OrgAccess, ApiError> {
    org::org_access_reading_as::<serde_json::Value>(cx, credential, org_id, None)
        .await
        .map(|(access, _)| access)
}

/// A signed-in user (not an API key) whose session is live: `(user_id, session_id)`.
pub async fn user(cx: &Ctx) -> Result<(String, String), ApiError> {
    signed_in(cx).await.map(|s| (s.user_id, s.session_id))
}

/// A signed-in user of a live session, with how they authenticated.
pub struct SignedIn {
    pub user_id: String,
    pub session_id: String,
    pub authn: Authn,
}

/// [`user`], with the token's authentication (`amr`, `auth_time`).
pub async fn signed_in(cx: &Ctx) -> Result<SignedIn, ApiError> {
    match credential(cx).await? {
        Credential::ApiKey(_) => Err(ApiError::forbidden(
            "This endpoint is for signed-in users, not API keys.",
        )),
        Credential::User {
            user_id,
            session_id,
            authn,
        } => {
            let db = db::database(&cx.env)?;
            let live: Option<i64> = db::first(sql!(
                db,
                "SELECT 1 AS live FROM sessions WHERE id = ?1 AND user_id = ?2 AND revoked_at IS NULL",
                &session_id,
                &user_id
            ))
            .await
            .map(|r: Option<serde_json::Value>| r.and_then(|v| v["live"].as_i64()))?;
            if live.is_none() {
                return Err(unauthenticated());
            }
            let signed_in = SignedIn {
                user_id: user_id.clone(),
                session_id,
                authn,
            };
            if !cx.config.rate_limits {
                return Ok(signed_in);
            }
            // Account-level routes (no organization) are limited per user at the free rate.
            let limit = cx.config.limits.free.requests_per_minute;
            let headers = crate::limits::enforce(
                &cx.env,
                &format!("user:{user_id}"),
                None,
                "user",
                "requests",
                limit,
                "per user",
            )
            .await?;
            cx.rate_headers.borrow_mut().extend(headers);
            Ok(signed_in)
        }
    }
}

/// A sensitive action (API keys, roles, removals, deleting the organization, the
/// organization's MFA requirement): a user who has a second factor needs a recent one
/// (`step_up_required`). API keys are not held: their rights are their scopes.
pub async fn require_recent_factor(cx: &Ctx, access: &OrgAccess) -> Result<(), ApiError> {
    let Credential::User { user_id, authn, .. } = &access.credential else {
        return Ok(());
    };
    require_recent_factor_of(cx, user_id, authn).await
}

/// [`require_recent_factor`] for a signed-in user's own account (their passkeys, password):
/// held when they have a factor (an authenticator app or a passkey) and `authn` has no
/// recent one.
pub async fn require_recent_factor_of(
    cx: &Ctx,
    user_id: &str,
    authn: &Authn,
) -> Result<(), ApiError> {
    let now = platform::now().timestamp();
    if authn.recent_second_factor(now) {
        return Ok(());
    }
    let db = db::database(&cx.env)?;
    let enrolled = passkeys::has_factor(&db, user_id).await?;
    edge_core::mfa::sensitive(enrolled, authn, now).map_err(edge_core::mfa::Hold::problem)
}

/// The audit origin of this request.
pub fn audit_origin(cx: &Ctx) -> crate::audit::Origin {
    crate::audit::Origin {
        ip: cx.caller.ip.clone(),
        request_id: cx.request_id.clone(),
        outbox: Some(cx.outbox.clone()),
    }
}

/// The attempt limits of signup, login and password reset: per client IP and per account
/// (the email, hashed), counted the same whether or not the account exists.
pub async fn limit_attempt(cx: &Ctx, email: Option<&str>) -> Result<(), ApiError> {
    let limit = cx.config.limits.auth_per_minute;
    let ip = cx.caller.ip_or_unknown();
    let mut passed = Vec::new();
    let d = crate::limits::hit(
        &cx.env,
        &format!("auth-ip:{ip}"),
        None,
        "attempts",
        limit,
        60,
    )
    .await?;
    if !d.allowed {
        return Err(crate::limits::refused("auth-ip", &d, "from this address"));
    }
    passed.push(("auth-ip", d));
    if let Some(email) = email {
        let subject = edge_core::encoding::hex(&edge_core::signature::sha256(email.as_bytes()));
        let d = crate::limits::hit(
            &cx.env,
            &format!("auth-account:{subject}"),
            None,
            "attempts",
            limit,
            60,
        )
        .await?;
        if !d.allowed {
            return Err(crate::limits::refused(
                "auth-account",
                &d,
                "for this account",
            ));
        }
        passed.push(("auth-account", d));
    }
    cx.rate_headers
        .borrow_mut()
        .extend(edge_core::limits::combined_headers(&passed));
    Ok(())
}
