//! `POST /v1/me/restore`: ends an account's deletion during its grace period. The token comes
//! from the `account_pending_deletion` answer of a sign-in (password, and the second factor
//! when enrolled), so it proves what a sign-in proves; it is single use and short-lived. The
//! account is restored and signed in (a new session) in one step.

use super::verify::invalid_token;
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::ApiResult;
use crate::platform;
use crate::routes::identity::{user_orgs, UserRow};
use crate::sql;
use edge_core::mfa::Authn;
use edge_core::tokens::{self, SecretKind};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    token: String,
    /// As at login: `cookie` for a browser session cookie.
    #[serde(default, deserialize_with = "edge_core::json::present")]
    session: Option<edge_core::cookies::SessionMode>,
}

pub async fn restore(mut body: Body, cx: &Ctx) -> ApiResult {
    let body: RestoreBody = body.json().await?;
    if !tokens::is_secret(SecretKind::AccountRestore, &body.token) {
        return Err(invalid_token("restore"));
    }
    auth::limit_attempt(cx, None).await?;
    let db = db::database(&cx.env)?;
    let now = platform::now();
    let stamp = platform::rfc3339(now);
    // Spent here, whatever follows: single use even if two requests race.
    let spent: Option<serde_json::Value> = db::first(sql!(
        db,
        "UPDATE account_restores SET used_at = ?2 WHERE hash = ?1 AND used_at IS NULL \
         AND expires_at > ?3 RETURNING user_id",
        tokens::secret_hash(&body.token),
        &stamp,
        now.timestamp()
    ))
    .await?;
    let user_id = spent
        .and_then(|r| r["user_id"].as_str().map(str::to_owned))
        .ok_or_else(|| invalid_token("restore"))?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", &user_id))
        .await?
        .ok_or_else(|| invalid_token("restore"))?;
    let restored = "SELECT 1 FROM users WHERE id = ?1 AND deleted_at IS NULL AND updated_at = ?2";
    let events: Vec<Event> = user_orgs(&db, &user.id)
        .await?
        .iter()
        .map(|o| {
            Event::new(&o.id, "account.restored", Actor::user(&user.id))
                .target("user", &user.id)
                .details(json!({"deleted_at": user.deleted_at}))
                .only_if(
                    restored,
                    vec![db::V::from(user.id.as_str()), db::V::from(stamp.as_str())],
                )
        })
        .collect();
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE users SET deleted_at = NULL, purge_at = NULL, updated_at = ?2 \
             WHERE id = ?1 AND deleted_at IS NOT NULL AND purge_at > ?3",
            &user.id,
            &stamp,
            now.timestamp()
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if results.first().map(db::changes) != Some(1) {
        return Err(invalid_token("restore"));
    }
    let user = UserRow {
        deleted_at: None,
        purge_at: None,
        ..user
    };
    let authn = Authn::password(now.timestamp());
    let mode = body.session.unwrap_or_default();
    super::login::finish_as(cx, &db, &user, &authn, Vec::new(), mode).await
}
