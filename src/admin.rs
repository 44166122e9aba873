//! The one shape of an administrative action (members, invitations, API keys, the webhook
//! secret, the organization itself, and the routes the next capabilities add): the caller
//! admitted to the organization of the path and allowed the action, then the conditional write
//! and its audit entries committed together (one D1 batch, appended to the organization's
//! chain). Who may do what is `edge_core::policy`; what to load and write is the route's.

use crate::audit::{self, Event};
use crate::auth::{self, OrgAccess};
use crate::ctx::Ctx;
use edge_core::policy::Action;
use edge_core::ApiError;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// The caller's access to the organization of the path (`{org}`), allowed `action`; another
/// organization's id is a 404 and a missing right a 403, before anything is read.
pub async fn enter(cx: &Ctx, action: Action) -> Result<OrgAccess, ApiError> {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(action)?;
    Ok(access)
}

/// [`enter`] for a sensitive action: a user with a second factor also needs a recent one
/// (`step_up_required`, see `auth::require_recent_factor`).
pub async fn enter_sensitive(cx: &Ctx, action: Action) -> Result<OrgAccess, ApiError> {
    let access = enter(cx, action).await?;
    auth::require_recent_factor(cx, &access).await?;
    Ok(access)
}

/// The audit event of kind `kind` by the caller, in its organization.
pub fn event(access: &OrgAccess, kind: &'static str) -> Event {
    Event::new(&access.org_id, kind, access.actor())
}

/// Commits `build`'s statements with `events`' audit entries in one batch (rebuilt and retried
/// if another writer took the chain's next place); the results are `build`'s, in order.
pub async fn commit<F>(
    cx: &Ctx,
    db: &D1Database,
    events: &[Event],
    build: F,
) -> Result<Vec<D1Result>, ApiError>
where
    F: Fn() -> Result<Vec<D1PreparedStatement>, ApiError>,
{
    audit::write_built(db, &auth::audit_origin(cx), events, &build)
        .await
        .map_err(audit::WriteError::into_api)
}
