//! `DELETE /v1/me`: a signed-in user deletes their account. It takes the password (and, for
//! a user with a second factor, a recent one: a sensitive action), is refused with
//! `last_owner` while the user is the only owner of an organization others belong to, and
//! starts the grace period: every session ends at once (tokens and sockets), a notice goes
//! out, and the sweep removes the account at `purge_at` unless it is restored before.

use super::identity::{user_orgs, UserRow};
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{jobs, platform, realtime};
use edge_core::{account, password, rooms, ApiError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    password: String,
}

fn last_owner(orgs: Vec<String>) -> ApiError {
    ApiError::new(
        409,
        "last_owner",
        "Last owner",
        "You are the only owner of an organization that has other members: make another \
         member an owner (or remove the others) first.",
    )
    .with_extension("orgs", json!(orgs))
}

pub async fn delete(mut body: Body, cx: &Ctx) -> ApiResult {
    let me = auth::signed_in(cx).await?;
    let body: DeleteBody = body.json().await?;
    let db = db::database(&cx.env)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &me.user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    auth::limit_attempt(cx, Some(&user.email)).await?;
    if !password::verify(&body.password, &user.password_hash) {
        return Err(ApiError::forbidden("The password is wrong."));
    }
    let now = platform::now();
    let enrolled = auth::mfa::enrolled(&db, &me.user_id).await?;
    edge_core::mfa::sensitive(enrolled, &me.authn, now.timestamp())
        .map_err(edge_core::mfa::Hold::problem)?;
    let plan =
        account::plan(&crate::account::memberships(&db, &me.user_id).await?).map_err(last_owner)?;
    let purge_at = account::purge_at(now.timestamp(), cx.config.account_deletion_grace_seconds);
    let stamp = platform::rfc3339(now);
    let sessions: Vec<serde_json::Value> = db::all(sql!(
        db,
        "SELECT id FROM sessions WHERE user_id = ?1 AND revoked_at IS NULL",
        &me.user_id
    ))
    .await?;
    let ended: Vec<String> = sessions
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .collect();
    let orgs = user_orgs(&db, &me.user_id).await?;
    let deleted = "SELECT 1 FROM users WHERE id = ?1 AND deleted_at = ?2";
    let guard = || {
        vec![
            db::V::from(me.user_id.as_str()),
            db::V::from(stamp.as_str()),
        ]
    };
    let events: Vec<Event> = orgs
        .iter()
        .map(|o| {
            Event::new(
                &o.id,
                "account.deletion_requested",
                Actor::user(&me.user_id),
            )
            .target("user", &me.user_id)
            .details(json!({
                "purge_at": purge_at, "sessions_ended": ended.len(),
                "org_deleted_at_purge": plan.sole.contains(&o.id),
            }))
            .only_if(deleted, guard())
        })
        .collect();
    let not_last_owner = crate::account::NOT_LAST_OWNER;
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![
            db::prepare(
                &db,
                &format!(
                    "UPDATE users SET deleted_at = ?2, purge_at = ?3, updated_at = ?2 \
                     WHERE id = ?1 AND deleted_at IS NULL AND password_hash = ?4 AND {not_last_owner}"
                ),
                vec![
                    db::V::from(me.user_id.as_str()).0,
                    db::V::from(stamp.as_str()).0,
                    db::V::from(purge_at).0,
                    db::V::from(user.password_hash.as_str()).0,
                ],
            )?,
            sql!(
                db,
                "UPDATE sessions SET revoked_at = ?2, revoke_reason = 'account_deleted' \
                 WHERE user_id = ?1 AND revoked_at IS NULL \
                 AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND deleted_at = ?2)",
                &me.user_id,
                &stamp
            )?,
        ])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if results.first().map(db::changes) != Some(1) {
        return Err(ApiError::conflict(
            "The account changed meanwhile (its password, or an organization's owners): try again.",
        ));
    }
    for o in &orgs {
        realtime::close_sockets(
            &cx.env,
            &o.id,
            realtime::Whose::User(&me.user_id),
            rooms::CLOSE_SESSION_REVOKED,
            "account deleted",
        )
        .await;
    }
    let purge = chrono::DateTime::from_timestamp(purge_at, 0).map(platform::rfc3339);
    let payload = json!({
        "template": "account_deletion_scheduled", "to": user.email, "name": user.name,
        "user_id": user.id, "at": stamp, "purge_at": purge, "ip": cx.caller.ip,
    });
    let env = cx.env.clone();
    cx.ctx
        .wait_until(async move { jobs::send_email(&env, None, payload).await });
    http::json(
        202,
        &json!({"status": "pending_deletion", "deleted_at": stamp, "purge_at": purge,
                "orgs_deleted_at_purge": plan.sole}),
    )
}
