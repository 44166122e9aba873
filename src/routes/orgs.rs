//! `/v1/orgs`: organizations of the caller and their settings (name, the second-factor
//! requirement). Members and roles are `members`.

use super::identity::OrgBrief;
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
use edge_core::ids::IdKind;
use edge_core::policy::{Action, Role};
use edge_core::validate;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
struct OrgRow {
    id: String,
    name: String,
    plan: String,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    require_mfa: i64,
}

impl OrgRow {
    fn public(&self, role: Option<Role>) -> Value {
        json!({
            "id": self.id, "name": self.name, "plan": self.plan,
            "role": role.map(Role::as_str),
            "require_mfa": self.require_mfa != 0,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default, deserialize_with = "edge_core::json::present")]
    name: Option<String>,
    /// Members must use a second factor (sessions without one get `step_up_required` or
    /// `mfa_enrollment_required` on the organization's routes).
    #[serde(default, deserialize_with = "edge_core::json::present")]
    require_mfa: Option<bool>,
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
        &json!({"id": org_id, "name": name, "plan": "free", "role": "owner", "require_mfa": false, "created_at": now, "updated_at": now}),
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
    let body: PatchBody = body.json().await?;
    let name = body.name.as_deref().map(org_name).transpose()?;
    if name.is_none() && body.require_mfa.is_none() {
        return Err(
            ApiError::validation_failed("Nothing to change.").with_errors(vec![FieldError::new(
                "name",
                "give `name` or `require_mfa`",
            )]),
        );
    }
    if body.require_mfa.is_some() {
        // Who may weaken (or strengthen) the organization's sign-in rule proves it is them.
        auth::require_recent_factor(cx, &access).await?;
    }
    let db = db::database(&cx.env)?;
    let now = platform::rfc3339(platform::now());
    let mut events = Vec::new();
    let mut stmts = Vec::new();
    if let Some(name) = &name {
        events.push(
            admin::event(&access, "org.renamed")
                .target("org", &access.org_id)
                .details(json!({"name": name})),
        );
        stmts.push((
            "UPDATE organizations SET name = ?2, updated_at = ?3 WHERE id = ?1",
            db::V::from(name.as_str()),
        ));
    }
    if let Some(required) = body.require_mfa {
        events.push(
            admin::event(&access, "org.mfa_requirement_changed")
                .target("org", &access.org_id)
                .details(json!({"require_mfa": required})),
        );
        stmts.push((
            "UPDATE organizations SET require_mfa = ?2, updated_at = ?3 WHERE id = ?1",
            db::V::from(required),
        ));
    }
    if !stmts.is_empty() {
        admin::commit(cx, &db, &events, || {
            stmts
                .iter()
                .map(|(q, v)| {
                    db::prepare(
                        &db,
                        q,
                        vec![
                            db::V::from(access.org_id.as_str()).0,
                            v.0.clone(),
                            db::V::from(now.as_str()).0,
                        ],
                    )
                })
                .collect()
        })
        .await?;
    }
    http::json(200, &load(cx, &access).await?.public(access.role))
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = admin::enter_sensitive(cx, Action::OrgDelete).await?;
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
