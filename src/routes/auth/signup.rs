//! `POST /v1/auth/signup`: a new account with its own organization (the caller its owner) and
//! a first session, written and audited in one batch; the verification email is queued after.
//! It signs up only: the verification token and its check belong to `verify`.

use super::verify::send_verification;
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::sql;
use edge_core::ids::IdKind;
use edge_core::json::Checks;
use edge_core::validate::{self, Email};
use edge_core::{password, ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupBody {
    email: String,
    password: String,
    name: String,
    org_name: String,
    /// `cookie`: a browser session cookie instead of tokens, as at login.
    #[serde(default, deserialize_with = "edge_core::json::present")]
    session: Option<edge_core::cookies::SessionMode>,
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
    auth::pwned::refuse_breached(cx, "password", &body.password).await?;
    let hash = password::hash(&body.password, platform::random())
        .map_err(|e| http::internal("hash password", e))?;
    let db = db::database(&cx.env)?;
    let user_id = platform::new_id(IdKind::User);
    let org_id = platform::new_id(IdKind::Org);
    let now = platform::rfc3339(platform::now());
    let (session, session_stmts) = super::login::Minted::new(
        cx,
        &db,
        &user_id,
        &edge_core::mfa::Authn::password(platform::now().timestamp()),
        body.session.unwrap_or_default(),
    )?;
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
    session.respond(cx, 201, |out| {
        out["user"] = user;
        out["org"] = org;
    })
}
