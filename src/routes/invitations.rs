//! Invitations: an admin invites an email with a role; an `email` job carries a sealed,
//! expiring link; the invitee, signed in with that email, accepts it once.

use super::identity::UserRow;
use crate::admin;
use crate::audit::{Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::sql;
use crate::{jobs, platform};
use edge_core::ids::{self, IdKind};
use edge_core::policy::{Action, Role};
use edge_core::sealed::{self, Expiring};
use edge_core::validate::Email;
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const PURPOSE: &str = "invitation";
const TTL_SECONDS: i64 = 7 * 24 * 3600;

#[derive(Debug, Serialize, Deserialize)]
struct InvitationRow {
    id: String,
    org_id: String,
    email: String,
    role: String,
    invited_by: Option<String>,
    created_at: String,
    expires_at: i64,
    accepted_at: Option<String>,
    revoked_at: Option<String>,
}

impl InvitationRow {
    fn status(&self, now: i64) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.accepted_at.is_some() {
            "accepted"
        } else if self.expires_at < now {
            "expired"
        } else {
            "pending"
        }
    }

    fn public(&self) -> Value {
        json!({
            "id": self.id, "email": self.email, "role": self.role,
            "status": self.status(platform::now().timestamp()),
            "invited_by": self.invited_by, "created_at": self.created_at,
            "expires_at": rfc3339_of(self.expires_at),
        })
    }
}

fn rfc3339_of(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(platform::rfc3339)
        .unwrap_or_default()
}

#[derive(Serialize, Deserialize)]
struct Claims {
    i: String,
    exp: i64,
}

impl Expiring for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    email: String,
    role: String,
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::InvitationsManage).await?;
    let bytes = body.json_bytes().await?;
    crate::idempotency::run(cx, &access, &bytes, || invite(cx, &access, &bytes)).await
}

async fn invite(cx: &Ctx, access: &auth::OrgAccess, bytes: &[u8]) -> ApiResult {
    let body: CreateBody = edge_core::json::decode(bytes)?;
    let email = Email::parse(&body.email);
    let role = Role::parse(&body.role);
    let mut errors = Vec::new();
    if let Err(m) = &email {
        errors.push(FieldError::new("email", *m));
    }
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            "must be owner, admin, member or viewer",
        ));
    }
    let (Ok(email), Some(role)) = (email, role) else {
        return Err(ApiError::validation_failed("The invitation is invalid.").with_errors(errors));
    };
    access.require(Action::InvitationCreate { role })?;

    let db = db::database(&cx.env)?;
    let already: Option<Value> = db::first(sql!(
        db,
        "SELECT 1 AS one FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?1 AND u.email = ?2",
        &access.org_id,
        email.as_str()
    ))
    .await?;
    if already.is_some() {
        return Err(
            ApiError::conflict("That email already belongs to a member.")
                .with_errors(vec![FieldError::new("email", "already a member")]),
        );
    }
    let id = platform::new_id(IdKind::Invitation);
    let now = platform::now();
    let expires = now.timestamp() + TTL_SECONDS;
    let invited_by = access.user_id().map(str::to_owned);
    let events = [admin::event(access, "invitation.created")
        .target("invitation", &id)
        .details(json!({"email": email.as_str(), "role": role.as_str()}))];
    admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "INSERT INTO invitations (id, org_id, email, role, invited_by, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &id,
            &access.org_id,
            email.as_str(),
            role.as_str(),
            invited_by.clone(),
            platform::rfc3339(now),
            expires
        )?])
    })
    .await?;

    let token = sealed::seal(
        cx.config.url_signing_secret.as_bytes(),
        PURPOSE,
        &Claims {
            i: id.clone(),
            exp: expires,
        },
    );
    let org_name: Option<Value> = db::first(sql!(
        db,
        "SELECT name FROM organizations WHERE id = ?1",
        &access.org_id
    ))
    .await?;
    let payload = json!({
        "template": "invitation", "to": email.as_str(), "token": token, "invitation_id": id,
        "org_id": access.org_id, "org_name": org_name.and_then(|o| o["name"].as_str().map(str::to_owned)),
        "role": role.as_str(), "invited_by": invited_by,
    });
    let env = cx.env.clone();
    let org_id = access.org_id.clone();
    cx.ctx
        .wait_until(async move { jobs::send_email(&env, Some(&org_id), payload).await });

    http::json(
        201,
        &json!({"id": id, "email": email.as_str(), "role": role.as_str(), "status": "pending",
                "expires_at": rfc3339_of(expires), "created_at": platform::rfc3339(now)}),
    )
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::InvitationsManage).await?;
    let page = Page::from_query(cx, "invitations", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<InvitationRow> = db::all(sql!(
        db,
        "SELECT * FROM invitations WHERE org_id = ?1 AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
         ORDER BY created_at DESC, id DESC LIMIT ?4",
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |r| (r.created_at.clone(), r.id.clone()),
        InvitationRow::public,
    )
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::InvitationsManage).await?;
    let id = cx.param("id");
    let not_found = || ApiError::not_found("No such invitation.");
    if !ids::is_id(IdKind::Invitation, id) {
        return Err(not_found());
    }
    let db = db::database(&cx.env)?;
    let row: InvitationRow = db::first(sql!(
        db,
        "SELECT * FROM invitations WHERE id = ?1 AND org_id = ?2",
        id,
        &access.org_id
    ))
    .await?
    .ok_or_else(not_found)?;
    if row.accepted_at.is_some() {
        return Err(ApiError::conflict(
            "This invitation was already accepted; remove the member instead.",
        ));
    }
    if row.revoked_at.is_none() {
        let events = [admin::event(&access, "invitation.revoked").target("invitation", id)];
        admin::commit(cx, &db, &events, || {
            Ok(vec![sql!(
                db,
                "UPDATE invitations SET revoked_at = ?3 WHERE id = ?1 AND org_id = ?2 AND revoked_at IS NULL",
                id,
                &access.org_id,
                platform::rfc3339(platform::now())
            )?])
        })
        .await?;
    }
    Ok(http::empty(204))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
}

fn invalid() -> ApiError {
    ApiError::validation_failed("The invitation is invalid, expired, revoked or already used.")
        .with_errors(vec![FieldError::new(
            "token",
            "invalid, expired, revoked or already used",
        )])
}

pub async fn accept(mut body: Body, cx: &Ctx) -> ApiResult {
    let (user_id, _) = auth::user(cx).await?;
    let body: AcceptBody = body.json().await?;
    let now = platform::now();
    let claims: Claims = sealed::open_expiring(
        cx.config.url_signing_secret.as_bytes(),
        PURPOSE,
        &body.token,
        now.timestamp(),
    )
    .map_err(|_| invalid())?;
    let db = db::database(&cx.env)?;
    let inv: InvitationRow = db::first(sql!(
        db,
        "SELECT * FROM invitations WHERE id = ?1",
        &claims.i
    ))
    .await?
    .filter(|r: &InvitationRow| r.status(now.timestamp()) == "pending")
    .ok_or_else(invalid)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    if user.email != inv.email {
        return Err(ApiError::forbidden(
            "This invitation was sent to another email address.",
        ));
    }
    let stamp = platform::rfc3339(now);
    let accepted = "SELECT 1 FROM invitations WHERE id = ?1 AND accepted_by = ?2";
    let events = [
        Event::new(&inv.org_id, "invitation.accepted", Actor::user(&user_id))
            .target("invitation", &inv.id)
            .details(json!({"role": inv.role}))
            .only_if(accepted, vec![V::from(&inv.id), V::from(&user_id)]),
    ];
    let results = admin::commit(cx, &db, &events, || {
        Ok(vec![
            sql!(
                db,
                "UPDATE invitations SET accepted_at = ?2, accepted_by = ?3 \
                 WHERE id = ?1 AND accepted_at IS NULL AND revoked_at IS NULL",
                &inv.id,
                &stamp,
                &user_id
            )?,
            sql!(
                db,
                "INSERT INTO memberships (org_id, user_id, role, created_at) SELECT ?1, ?2, ?3, ?4 \
                 WHERE EXISTS (SELECT 1 FROM invitations WHERE id = ?5 AND accepted_by = ?2) \
                 ON CONFLICT (org_id, user_id) DO NOTHING",
                &inv.org_id,
                &user_id,
                &inv.role,
                &stamp,
                &inv.id
            )?,
        ])
    })
    .await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(invalid());
    }
    let role: Option<Value> = db::first(sql!(
        db,
        "SELECT role, created_at FROM memberships WHERE org_id = ?1 AND user_id = ?2",
        &inv.org_id,
        &user_id
    ))
    .await?;
    let role = role.unwrap_or_default();
    http::json(
        200,
        &json!({"org_id": inv.org_id, "user_id": user_id, "role": role["role"], "joined_at": role["created_at"]}),
    )
}
