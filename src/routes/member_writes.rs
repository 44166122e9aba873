//! The writes of role changes and member removals, conditional on the state the decision was
//! made on: the target still has the role that was read, the acting user still has the role
//! it acted with, and the organization keeps an owner — all inside the one statement, so a
//! concurrent promotion, demotion or removal makes it write nothing (409 `conflict`). Who may
//! do what to whom stays `edge_core::policy`.

use crate::auth::OrgAccess;
use crate::db::{self, V};
use crate::sql;
use edge_core::policy::Role;
use edge_core::ApiError;
use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

/// The condition that keeps an owner: the member is not an owner, or another owner remains.
const KEEPS_AN_OWNER: &str = "(role != 'owner' OR (SELECT COUNT(*) FROM memberships \
     WHERE org_id = ?1 AND role = 'owner') > 1)";

/// An audit entry's condition: the statement just before it in the batch changed one row.
pub const CHANGED_ONE: &str = "SELECT 1 WHERE changes() = 1";

/// `AND …` that the acting user still has the role it had (`?1` is the org); nothing for an
/// API key (its rights are its scopes, checked on every request).
fn actor_guard(access: &OrgAccess, next: usize) -> (String, Vec<V>) {
    match (access.user_id(), access.role) {
        (Some(user), Some(role)) => (
            format!(
                " AND EXISTS (SELECT 1 FROM memberships WHERE org_id = ?1 AND user_id = ?{} AND role = ?{})",
                next,
                next + 1
            ),
            vec![V::from(user), V::from(role.as_str())],
        ),
        _ => (String::new(), Vec::new()),
    }
}

fn prepare(db: &D1Database, sql: &str, args: Vec<V>) -> Result<D1PreparedStatement, ApiError> {
    db::prepare(db, sql, args.into_iter().map(|v| v.0).collect())
}

/// `target`'s role `from` → `to`, by `access`.
pub fn change_role(
    db: &D1Database,
    access: &OrgAccess,
    target: &str,
    from: Role,
    to: Role,
) -> Result<D1PreparedStatement, ApiError> {
    let keep = if to == Role::Owner {
        "1"
    } else {
        KEEPS_AN_OWNER
    };
    let (actor, actor_args) = actor_guard(access, 5);
    let mut args = vec![
        V::from(&access.org_id),
        V::from(target),
        V::from(to.as_str()),
        V::from(from.as_str()),
    ];
    args.extend(actor_args);
    prepare(
        db,
        &format!(
            "UPDATE memberships SET role = ?3 WHERE org_id = ?1 AND user_id = ?2 AND role = ?4 AND {keep}{actor}"
        ),
        args,
    )
}

/// Removes `target`, who had `role`, by `access`.
pub fn remove(
    db: &D1Database,
    access: &OrgAccess,
    target: &str,
    role: Role,
) -> Result<D1PreparedStatement, ApiError> {
    let (actor, actor_args) = actor_guard(access, 4);
    let mut args = vec![
        V::from(&access.org_id),
        V::from(target),
        V::from(role.as_str()),
    ];
    args.extend(actor_args);
    prepare(
        db,
        &format!(
            "DELETE FROM memberships WHERE org_id = ?1 AND user_id = ?2 AND role = ?3 AND {KEEPS_AN_OWNER}{actor}"
        ),
        args,
    )
}

#[derive(Deserialize)]
struct RoleRow {
    role: String,
}

async fn role_of(db: &D1Database, org: &str, user: &str) -> Result<Option<Role>, ApiError> {
    let row: Option<RoleRow> = db::first(sql!(
        db,
        "SELECT role FROM memberships WHERE org_id = ?1 AND user_id = ?2",
        org,
        user
    ))
    .await?;
    Ok(row.and_then(|r| Role::parse(&r.role)))
}

/// Why a conditional write changed nothing: the state it was decided on changed (409), or it
/// would have left the organization without an owner (409, `last_owner`).
pub async fn refusal(
    db: &D1Database,
    access: &OrgAccess,
    target: &str,
    had: Role,
    last_owner: ApiError,
) -> ApiError {
    let target_now = role_of(db, &access.org_id, target).await;
    let actor_now = match access.user_id() {
        Some(user) => role_of(db, &access.org_id, user)
            .await
            .map(|r| r == access.role),
        None => Ok(true),
    };
    match (target_now, actor_now) {
        (Ok(Some(r)), Ok(true)) if r == had => last_owner,
        (Err(e), _) | (_, Err(e)) => e,
        _ => ApiError::conflict(
            "The member's role or yours changed while this request ran; re-read and retry.",
        ),
    }
}
