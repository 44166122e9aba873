//! `/v1/orgs/{org}/members`: the members of an organization and role management under the
//! rules of `edge_core::policy`, plus one data rule checked inside the write: an organization
//! always keeps at least one owner. Changing a role and removing someone else are sensitive
//! (step-up); leaving is not.

use super::member_writes;
use crate::admin;
use crate::audit::Event;
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::policy::{Action, Role};
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

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

pub async fn list(cx: &Ctx) -> ApiResult {
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

pub async fn patch(mut body: Body, cx: &Ctx) -> ApiResult {
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
    auth::require_recent_factor(cx, &access).await?;
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

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    let target = member(cx, &access.org_id, cx.param("user")).await?;
    let is_self = access.user_id() == Some(target.user_id.as_str());
    let role = Role::parse(&target.role).unwrap_or(Role::Viewer);
    access.require(Action::MemberRemove {
        target: role,
        is_self,
    })?;
    if !is_self {
        auth::require_recent_factor(cx, &access).await?;
    }
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
