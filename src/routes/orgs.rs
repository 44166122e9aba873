//! `/v1/orgs` and members: organizations of the caller, their settings, and role management
//! under the rules of `edge_core::policy` plus one data rule checked inside the write: an
//! organization always keeps at least one owner.

use super::identity::OrgBrief;
use super::member_writes;
use crate::admin;
use crate::audit::{Actor, Event};
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::platform;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::policy::{Action, Role};
use edge_core::validate;
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
struct OrgRow {
    id: String,
    name: String,
    plan: String,
    created_at: String,
    updated_at: String,
}

impl OrgRow {
    fn public(&self, role: Option<Role>) -> Value {
        json!({
            "id": self.id, "name": self.name, "plan": self.plan,
            "role": role.map(Role::as_str),
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

fn org_name(raw: &str) -> Result<String, ApiError> {
    validate::name(raw, 100).map_err(|m| {
        ApiError::validation_failed("The name is invalid.")
            .with_errors(vec![FieldError::new("name", m)])
    })
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let (user_id, _) = auth::user(cx).await?;
    let page = Page::from_query(cx, "orgs", &user_id)?;
    let db = db::database(&cx.env)?;
    let (k, i) = page.after_key();
    let rows: Vec<OrgBrief> = db::all(sql!(
        db,
        "SELECT o.id, o.name, m.role, o.plan, m.created_at AS created_at FROM memberships m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?1 \
         AND (m.created_at < ?2 OR (m.created_at = ?2 AND o.id < ?3)) \
         ORDER BY m.created_at DESC, o.id DESC LIMIT ?4",
        &user_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |o| (o.created_at.clone(), o.id.clone()),
        |o| json!({"id": o.id, "name": o.name, "role": o.role, "plan": o.plan}),
    )
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let (user_id, _) = auth::user(cx).await?;
    let body: NameBody = body.json().await?;
    let name = org_name(&body.name)?;
    let db = db::database(&cx.env)?;
    let org_id = platform::new_id(IdKind::Org);
    let now = platform::rfc3339(platform::now());
    let events = [Event::new(&org_id, "org.created", Actor::user(&user_id)).target("org", &org_id)];
    admin::commit(cx, &db, &events, || {
        Ok(vec![
            sql!(
                db,
                "INSERT INTO organizations (id, name, plan, created_at, updated_at) VALUES (?1, ?2, 'free', ?3, ?3)",
                &org_id,
                &name,
                &now
            )?,
            sql!(
                db,
                "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES (?1, ?2, 'owner', ?3)",
                &org_id,
                &user_id,
                &now
            )?,
        ])
    })
    .await?;
    let mut resp = http::json(
        201,
        &json!({"id": org_id, "name": name, "plan": "free", "role": "owner", "created_at": now, "updated_at": now}),
    )?;
    let _ = resp
        .headers_mut()
        .set("Location", &format!("/v1/orgs/{org_id}"));
    Ok(resp)
}

async fn load(cx: &Ctx, access: &OrgAccess) -> Result<OrgRow, ApiError> {
    let db = db::database(&cx.env)?;
    db::first(sql!(
        db,
        "SELECT * FROM organizations WHERE id = ?1",
        &access.org_id
    ))
    .await?
    .ok_or_else(|| ApiError::not_found("No such organization."))
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::OrgRead).await?;
    http::json(200, &load(cx, &access).await?.public(access.role))
}

pub async fn patch(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::OrgUpdate).await?;
    let body: NameBody = body.json().await?;
    let name = org_name(&body.name)?;
    let db = db::database(&cx.env)?;
    let now = platform::rfc3339(platform::now());
    let events = [admin::event(&access, "org.renamed")
        .target("org", &access.org_id)
        .details(json!({"name": name}))];
    admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE organizations SET name = ?2, updated_at = ?3 WHERE id = ?1",
            &access.org_id,
            &name,
            &now
        )?])
    })
    .await?;
    http::json(200, &load(cx, &access).await?.public(access.role))
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::OrgDelete).await?;
    let db = db::database(&cx.env)?;
    let events = [admin::event(&access, "org.deleted").target("org", &access.org_id)];
    // Memberships, keys, invitations, jobs and file rows go with it (ON DELETE CASCADE); the
    // audit chain stays, as the record of what happened. Its R2 objects and open multipart
    // uploads are recorded for purging in the same batch, then purged (the sweep finishes).
    admin::commit(cx, &db, &events, || {
        Ok(vec![
            crate::jobs::purge::record_org(&db, &access.org_id)?,
            sql!(
                db,
                "DELETE FROM organizations WHERE id = ?1",
                &access.org_id
            )?,
        ])
    })
    .await?;
    if let Some(prefix) = edge_core::purge::org_prefix(&access.org_id) {
        crate::jobs::purge::run_now(&cx.env, &prefix).await;
    }
    crate::realtime::close_sockets(
        &cx.env,
        &access.org_id,
        crate::realtime::Whose::Everyone,
        edge_core::rooms::CLOSE_MEMBERSHIP_REMOVED,
        "organization deleted",
    )
    .await;
    Ok(http::empty(204))
}

#[derive(Debug, Serialize, Deserialize)]
struct MemberRow {
    user_id: String,
    email: String,
    name: String,
    role: String,
    joined_at: String,
}

impl MemberRow {
    fn public(&self) -> Value {
        json!({"user_id": self.user_id, "email": self.email, "name": self.name, "role": self.role, "joined_at": self.joined_at})
    }
}

const MEMBER_SELECT: &str = "SELECT m.user_id, u.email, u.name, m.role, m.created_at AS joined_at \
     FROM memberships m JOIN users u ON u.id = m.user_id";

pub async fn members(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::MembersRead).await?;
    let page = Page::from_query(cx, "members", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<MemberRow> = db::all(sql!(
        db,
        &format!(
            "{MEMBER_SELECT} WHERE m.org_id = ?1 AND (m.created_at < ?2 OR (m.created_at = ?2 AND m.user_id < ?3)) \
             ORDER BY m.created_at DESC, m.user_id DESC LIMIT ?4"
        ),
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |m| (m.joined_at.clone(), m.user_id.clone()),
        MemberRow::public,
    )
}

async fn member(cx: &Ctx, org_id: &str, user_id: &str) -> Result<MemberRow, ApiError> {
    let not_found = || ApiError::not_found("No such member.");
    if !ids::is_id(IdKind::User, user_id) {
        return Err(not_found());
    }
    let db = db::database(&cx.env)?;
    db::first(sql!(
        db,
        &format!("{MEMBER_SELECT} WHERE m.org_id = ?1 AND m.user_id = ?2"),
        org_id,
        user_id
    ))
    .await?
    .ok_or_else(not_found)
}

fn last_owner() -> ApiError {
    ApiError::conflict(
        "An organization must keep at least one owner; make someone else owner first.",
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: String,
}

pub async fn member_patch(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::MembersRead).await?;
    let target = member(cx, &access.org_id, cx.param("user")).await?;
    let body: RoleBody = body.json().await?;
    let to = Role::parse(&body.role).ok_or_else(|| {
        ApiError::validation_failed("Unknown role.").with_errors(vec![FieldError::new(
            "role",
            "must be owner, admin, member or viewer",
        )])
    })?;
    let from = Role::parse(&target.role).unwrap_or(Role::Viewer);
    let is_self = access.user_id() == Some(target.user_id.as_str());
    access.require(Action::MemberChangeRole { from, to, is_self })?;
    if from != to {
        let db = db::database(&cx.env)?;
        let events = [admin::event(&access, "member.role_changed")
            .target("user", &target.user_id)
            .details(json!({"from": from.as_str(), "to": to.as_str()}))
            .only_if(member_writes::CHANGED_ONE, vec![])];
        let results = admin::commit(cx, &db, &events, || {
            Ok(vec![member_writes::change_role(
                &db,
                &access,
                &target.user_id,
                from,
                to,
            )?])
        })
        .await?;
        if results.first().map(db::changes) != Some(1) {
            return Err(
                member_writes::refusal(&db, &access, &target.user_id, from, last_owner()).await,
            );
        }
        // Open sockets carry the old rights (a demoted member could still send): close them,
        // so a reconnect gets the new ones.
        crate::realtime::close_sockets(
            &cx.env,
            &access.org_id,
            crate::realtime::Whose::User(&target.user_id),
            edge_core::rooms::CLOSE_ROLE_CHANGED,
            "role changed",
        )
        .await;
    }
    http::json(
        200,
        &member(cx, &access.org_id, &target.user_id).await?.public(),
    )
}

pub async fn member_delete(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    let target = member(cx, &access.org_id, cx.param("user")).await?;
    let is_self = access.user_id() == Some(target.user_id.as_str());
    let role = Role::parse(&target.role).unwrap_or(Role::Viewer);
    access.require(Action::MemberRemove {
        target: role,
        is_self,
    })?;
    let db = db::database(&cx.env)?;
    let events = [Event::new(
        &access.org_id,
        if is_self {
            "member.left"
        } else {
            "member.removed"
        },
        access.actor(),
    )
    .target("user", &target.user_id)
    .details(json!({"role": target.role}))
    .only_if(member_writes::CHANGED_ONE, vec![])];
    let results = admin::commit(cx, &db, &events, || {
        Ok(vec![member_writes::remove(
            &db,
            &access,
            &target.user_id,
            role,
        )?])
    })
    .await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(
            member_writes::refusal(&db, &access, &target.user_id, role, last_owner()).await,
        );
    }
    crate::realtime::close_sockets(
        &cx.env,
        &access.org_id,
        crate::realtime::Whose::User(&target.user_id),
        edge_core::rooms::CLOSE_MEMBERSHIP_REMOVED,
        "membership removed",
    )
    .await;
    Ok(http::empty(204))
}
