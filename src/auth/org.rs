//! A caller's access to one organization, and where its request is counted
//! (`edge_core::tenancy`): a known member's membership read and rate count run in parallel;
//! anyone else's membership is read first, so an organization's `TENANT` object only hears of
//! its members' and its own keys' requests, and a caller aimed at an organization that is not
//! theirs (or at none) is counted in their own bucket: 404, then 429 over their limit.

use super::{unauthenticated, Credential, OrgAccess};
use crate::ctx::Ctx;
use crate::db;
use crate::platform;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::limits::{Counted, Plan};
use edge_core::mfa;
use edge_core::policy::Role;
use edge_core::tenancy::{self, Caller, Counting, MemberCache};
use edge_core::ApiError;
use serde::Deserialize;
use std::cell::RefCell;

thread_local! {
    /// Memberships this isolate confirmed recently: they choose the parallel path.
    static MEMBERS: RefCell<MemberCache> = RefCell::default();
}

type Read = Option<Result<worker::D1PreparedStatement, ApiError>>;
type Granted<T> = (OrgAccess, Result<Option<T>, ApiError>);

/// What the authorization read found.
enum Authorized<T> {
    Granted(Granted<T>),
    /// A live session, but not a member of the organization (or no such organization).
    NotMember,
}

#[derive(Deserialize)]
struct SessionMembership {
    user_id: String,
    revoked_at: Option<String>,
    role: Option<String>,
    plan: Option<String>,
    require_mfa: Option<i64>,
}

fn no_org() -> ApiError {
    ApiError::not_found("No such organization.")
}

fn count_key(credential: &Credential) -> String {
    match credential {
        Credential::ApiKey(k) => format!("key:{}", k.id),
        Credential::User { user_id, .. } => format!("user:{user_id}"),
    }
}

/// Updates this isolate's memberships for a user credential (API keys are never cached).
fn membership(credential: &Credential, update: impl FnOnce(&mut MemberCache, &str)) {
    if let Credential::User { user_id, .. } = credential {
        MEMBERS.with(|m| update(&mut m.borrow_mut(), user_id));
    }
}

pub(super) async fn org_access_reading_as<T: serde::de::DeserializeOwned>(
    cx: &Ctx,
    credential: Credential,
    org_id: &str,
    read: Read,
) -> Result<Granted<T>, ApiError> {
    let now = platform::now_ms();
    let caller = match &credential {
        Credential::ApiKey(k) => Caller::Key { org: &k.org_id },
        Credential::User { user_id, .. } => Caller::User {
            known_member: MEMBERS.with(|m| m.borrow().is_known(user_id, org_id, now)),
        },
    };
    match tenancy::counting(caller, org_id, ids::is_id(IdKind::Org, org_id)) {
        Counting::OwnBucket => Err(foreign(cx, &credential).await),
        Counting::Parallel => parallel(cx, credential, org_id, read).await,
        Counting::MembershipFirst => membership_first(cx, credential, org_id, read).await,
    }
}

/// Membership read and count at the same time (the count does not need the plan, only the
/// decision does). A request then refused has its usage count taken back.
async fn parallel<T: serde::de::DeserializeOwned>(
    cx: &Ctx,
    credential: Credential,
    org_id: &str,
    read: Read,
) -> Result<Granted<T>, ApiError> {
    let key = count_key(&credential);
    let count = async {
        if cx.config.rate_limits {
            crate::limits::count(&cx.env, org_id, &key, 60)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (authorized, counted) =
        futures_util::join!(authorize(cx, &credential, org_id, read), count);
    let counted = counted?;
    let outcome = match authorized {
        Ok(Authorized::Granted(granted)) => {
            // Confirmed again: the parallel path stays for as long as the member is active.
            let now = platform::now_ms();
            membership(&credential, |m, user| m.remember(user, org_id, now));
            decide(cx, &granted.0, counted).map(|()| granted)
        }
        Ok(Authorized::NotMember) => {
            // No longer a member: the next request reads the membership first.
            membership(&credential, |m, user| m.forget(user, org_id));
            Err(foreign(cx, &credential).await)
        }
        Err(e) => Err(e),
    };
    if outcome.is_err() && counted.is_some() {
        refund(cx, org_id);
    }
    outcome
}

/// The membership first; a member is then counted in the organization's object, anyone else
/// in their own bucket (the organization's object is not touched).
async fn membership_first<T: serde::de::DeserializeOwned>(
    cx: &Ctx,
    credential: Credential,
    org_id: &str,
    read: Read,
) -> Result<Granted<T>, ApiError> {
    let granted = match authorize(cx, &credential, org_id, read).await? {
        Authorized::Granted(granted) => granted,
        Authorized::NotMember => return Err(foreign(cx, &credential).await),
    };
    let now = platform::now_ms();
    membership(&credential, |m, user| m.remember(user, org_id, now));
    if !cx.config.rate_limits {
        return Ok(granted);
    }
    let counted = crate::limits::count(&cx.env, org_id, &count_key(&credential), 60).await?;
    match decide(cx, &granted.0, Some(counted)) {
        Ok(()) => Ok(granted),
        Err(e) => {
            refund(cx, org_id);
            Err(e)
        }
    }
}

fn refund(cx: &Ctx, org_id: &str) {
    let (env, org) = (cx.env.clone(), org_id.to_owned());
    cx.alongside(async move {
        if let Err(e) = crate::limits::refund_request(&env, &org).await {
            let _ = crate::http::internal("refund request usage", e.detail);
        }
    });
}

/// A request aimed at an organization that is not the caller's: counted in the caller's own
/// bucket (an API key's own key window in its organization's object; a user's per-user bucket,
/// the one of the account-level routes), then 404, or 429 over that limit.
async fn foreign(cx: &Ctx, credential: &Credential) -> ApiError {
    if !cx.config.rate_limits {
        return no_org();
    }
    let counted = match credential {
        Credential::ApiKey(k) => {
            crate::limits::enforce(
                &cx.env,
                &k.org_id,
                None,
                "api_key",
                &format!("key:{}", k.id),
                cx.config.limits.plan(k.plan).requests_per_minute,
                "per API key",
            )
            .await
        }
        Credential::User { user_id, .. } => {
            crate::limits::enforce(
                &cx.env,
                &format!("user:{user_id}"),
                None,
                "user",
                "requests",
                cx.config.limits.free.requests_per_minute,
                "per user",
            )
            .await
        }
    };
    match counted {
        Ok(headers) => {
            cx.rate_headers.borrow_mut().extend(headers);
            no_org()
        }
        Err(e) => e,
    }
}

/// The credential's access to `org_id` (membership, role, plan, session not revoked) and the
/// first row of `read`, in one D1 batch for a user. An API key carries its access already.
async fn authorize<T: serde::de::DeserializeOwned>(
    cx: &Ctx,
    credential: &Credential,
    org_id: &str,
    read: Read,
) -> Result<Authorized<T>, ApiError> {
    let db = db::database(&cx.env)?;
    let (user_id, session_id, authn) = match credential {
        Credential::ApiKey(k) => {
            let data = match read {
                Some(stmt) => db::first::<T>(stmt).await,
                None => Ok(None),
            };
            let access = OrgAccess {
                org_id: org_id.to_owned(),
                plan: k.plan,
                credential: credential.clone(),
                role: None,
            };
            return Ok(Authorized::Granted((access, data)));
        }
        Credential::User {
            user_id,
            session_id,
            authn,
        } => (user_id, session_id, authn),
    };
    let membership = sql!(
        db,
        "SELECT s.user_id, s.revoked_at, m.role, o.plan, o.require_mfa FROM sessions s \
         LEFT JOIN memberships m ON m.user_id = s.user_id AND m.org_id = ?2 \
         LEFT JOIN organizations o ON o.id = m.org_id \
         WHERE s.id = ?1",
        session_id,
        org_id
    )?;
    let (statements, with_read) = match read {
        Some(stmt) => (vec![membership, stmt?], true),
        None => (vec![membership], false),
    };
    let results = db::batch(&db, statements)
        .await
        .map_err(|e| crate::http::internal("authorization read", e))?;
    let first = |i: usize| -> Result<Option<serde_json::Value>, ApiError> {
        match results.get(i) {
            Some(r) => Ok(r
                .results::<serde_json::Value>()
                .map_err(|e| crate::http::internal("decode rows", e))?
                .into_iter()
                .next()),
            None => Ok(None),
        }
    };
    let row: SessionMembership = first(0)?
        .and_then(|r| serde_json::from_value(r).ok())
        .ok_or_else(unauthenticated)?;
    if row.revoked_at.is_some() || &row.user_id != user_id {
        return Err(unauthenticated());
    }
    let Some(role) = row.role.as_deref().and_then(Role::parse) else {
        return Ok(Authorized::NotMember);
    };
    if row.require_mfa.unwrap_or(0) != 0 && !authn.has_second_factor() {
        // Only now is it worth asking whether the user has a factor at all.
        let enrolled = super::passkeys::has_factor(&db, user_id).await?;
        mfa::organization(true, authn, enrolled).map_err(mfa::Hold::problem)?;
    }
    let plan = row
        .plan
        .as_deref()
        .and_then(Plan::parse)
        .unwrap_or(Plan::Free);
    let data = if with_read {
        first(1).and_then(|v| {
            v.map(serde_json::from_value::<T>)
                .transpose()
                .map_err(|e| crate::http::internal("decode row", e))
        })
    } else {
        Ok(None)
    };
    let access = OrgAccess {
        org_id: org_id.to_owned(),
        credential: credential.clone(),
        role: Some(role),
        plan,
    };
    Ok(Authorized::Granted((access, data)))
}

/// The per-minute limit of the organization's plan applied to a counted request: 429, or the
/// headers for the response.
fn decide(cx: &Ctx, access: &OrgAccess, counted: Option<Counted>) -> Result<(), ApiError> {
    let Some(counted) = counted else {
        return Ok(());
    };
    let (policy, what) = if access.role.is_some() {
        ("user", "per user in this organization")
    } else {
        ("api_key", "per API key")
    };
    let d = counted.decide(cx.config.limits.plan(access.plan).requests_per_minute);
    if !d.allowed {
        return Err(crate::limits::refused(policy, &d, what));
    }
    cx.rate_headers
        .borrow_mut()
        .extend(edge_core::limits::headers(policy, &d));
    Ok(())
}
