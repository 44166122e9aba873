//! The account lifecycle's services: the `account_pending_deletion` answer a sign-in gets
//! during the grace period (with its single-use restore token), the memberships the deletion
//! rules look at, and the hard delete the sweep runs once the grace period is over.

use crate::audit::{self, Actor, Event};
use crate::db;
use crate::platform;
use crate::sql;
use edge_core::account::{self, Membership, RESTORE_TTL_SECONDS};
use edge_core::audit::StoredEntry;
use edge_core::tokens::{self, SecretKind};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::json;
use worker::{D1Database, D1PreparedStatement, Env};

/// 403 `account_pending_deletion` with a fresh restore token, or the internal error that
/// prevented opening one.
pub async fn pending_deletion(db: &D1Database, user_id: &str, purge_at: i64) -> ApiError {
    let token = tokens::new_secret(SecretKind::AccountRestore, platform::random());
    let now = platform::now();
    let stored = db::run(sql!(
        db,
        "INSERT INTO account_restores (hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        tokens::secret_hash(&token),
        user_id,
        platform::rfc3339(now),
        now.timestamp() + RESTORE_TTL_SECONDS
    ))
    .await;
    if let Err(e) = stored {
        return e;
    }
    let purge = chrono::DateTime::from_timestamp(purge_at, 0).map(platform::rfc3339);
    ApiError::new(
        403,
        "account_pending_deletion",
        "Account pending deletion",
        "This account was deleted and is removed for good at `purge_at`. Until then, \
         POST /v1/me/restore with `restore_token` restores it and signs in.",
    )
    .with_extension("restore_token", json!(token))
    .with_extension("purge_at", json!(purge))
    .with_extension("expires_in", json!(RESTORE_TTL_SECONDS))
}

#[derive(Deserialize)]
struct MembershipRow {
    org_id: String,
    role: String,
    members: i64,
    owners: i64,
}

/// The user's memberships with each organization's head counts.
pub async fn memberships(db: &D1Database, user_id: &str) -> Result<Vec<Membership>, ApiError> {
    let rows: Vec<MembershipRow> = db::all(sql!(
        db,
        "SELECT m.org_id, m.role, \
         (SELECT COUNT(*) FROM memberships x WHERE x.org_id = m.org_id) AS members, \
         (SELECT COUNT(*) FROM memberships x WHERE x.org_id = m.org_id AND x.role = 'owner') AS owners \
         FROM memberships m WHERE m.user_id = ?1 ORDER BY m.org_id",
        user_id
    ))
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Membership {
            org_id: r.org_id,
            is_owner: r.role == "owner",
            members: r.members,
            owners: r.owners,
        })
        .collect())
}

/// The SQL condition (`?1` the user) that the user is not the last owner of an organization
/// with other members, checked again inside the deletion's batch.
pub const NOT_LAST_OWNER: &str = "NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = ?1 \
     AND m.role = 'owner' \
     AND (SELECT COUNT(*) FROM memberships o WHERE o.org_id = m.org_id AND o.role = 'owner') = 1 \
     AND (SELECT COUNT(*) FROM memberships a WHERE a.org_id = m.org_id) > 1)";

#[derive(Deserialize)]
struct Due {
    id: String,
    email: String,
}

/// Hard-deletes the accounts whose grace period is over (a few per run); how many.
pub async fn sweep(env: &Env) -> Result<u64, ApiError> {
    let config = crate::config::load(env).map_err(|e| crate::http::internal("config", e))?;
    let db = db::database(env)?;
    let due: Vec<Due> = db::all(sql!(
        db,
        "SELECT id, email FROM users WHERE purge_at IS NOT NULL AND purge_at <= ?1 LIMIT 20",
        platform::now().timestamp()
    ))
    .await?;
    let mut purged = 0;
    for user in &due {
        let key = config.url_signing_secret.as_bytes();
        match purge(env, &db, user, &account::pseudonym(key, &user.id)).await {
            Ok(()) => purged += 1,
            Err(e) => {
                let _ = crate::http::internal("account purge", format!("{}: {e:?}", user.id));
            }
        }
    }
    Ok(purged)
}

/// Every address the account had, lower-cased: the current one, those it asked to change to
/// (confirmed or not), and those an email change recorded as left behind.
async fn addresses(db: &D1Database, user: &Due) -> Result<Vec<String>, ApiError> {
    let mut out = vec![user.email.to_lowercase()];
    let asked: Vec<serde_json::Value> = db::all(sql!(
        db,
        "SELECT new_email AS email FROM email_changes WHERE user_id = ?1 \
         UNION SELECT lower(json_extract(details, '$.old_email')) FROM audit_log \
         WHERE action = 'user.email_changed' AND (actor_id = ?1 OR target_id = ?1)",
        &user.id
    ))
    .await?;
    for a in asked {
        if let Some(e) = a["email"].as_str() {
            let e = e.to_lowercase();
            if !e.is_empty() && !out.contains(&e) {
                out.push(e);
            }
        }
    }
    Ok(out)
}

/// One account's hard delete, as one batch: organizations it alone belonged to are deleted
/// (their R2 objects purged like an organization delete); in the others its documents stay as
/// organization data under the pseudonym, an organization it left without an owner gets its
/// longest-standing member as owner, and every audit entry about it is anonymised. The user
/// row goes last; sessions, refresh tokens, factors, memberships, tokens and export rows
/// cascade with it, and the purge of its R2 prefix (its exports) is recorded with it.
async fn purge(env: &Env, db: &D1Database, user: &Due, alias: &str) -> Result<(), ApiError> {
    let plan = match account::plan(&memberships(db, &user.id).await?) {
        Ok(p) => p,
        // Became the last owner during the grace period: erasure wins; ownership passes on.
        Err(_) => {
            let all = memberships(db, &user.id).await?;
            account::Plan {
                sole: all
                    .iter()
                    .filter(|m| m.members <= 1)
                    .map(|m| m.org_id.clone())
                    .collect(),
                kept: all
                    .iter()
                    .filter(|m| m.members > 1)
                    .map(|m| m.org_id.clone())
                    .collect(),
            }
        }
    };
    let emails = addresses(db, user).await?;
    let mut about: Vec<StoredEntry> = Vec::new();
    for email in &emails {
        let found: Vec<StoredEntry> = db::all(sql!(
            db,
            "SELECT * FROM audit_log WHERE actor_id = ?1 OR target_id = ?1 \
             OR instr(details, ?1) > 0 OR instr(lower(details), ?2) > 0",
            &user.id,
            email
        ))
        .await?;
        for f in found {
            if !about
                .iter()
                .any(|a| a.entry.org_id == f.entry.org_id && a.entry.seq == f.entry.seq)
            {
                about.push(f);
            }
        }
    }
    let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
    let events: Vec<Event> = plan
        .kept
        .iter()
        .map(|o| {
            Event::new(o, "account.purged", Actor::system())
                .target("user", alias)
                .only_if(
                    "SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
                    vec![db::V::from(user.id.as_str())],
                )
        })
        .collect();
    let origin = audit::Origin {
        ip: None,
        request_id: format!("sweep-{}", platform::now_ms()),
        outbox: None,
    };
    let build = || -> Result<Vec<D1PreparedStatement>, ApiError> {
        let mut stmts = Vec::new();
        for s in &about {
            let Some(e) = s.entry.anonymised(&user.id, &emails, alias) else {
                continue;
            };
            stmts.push(sql!(
                db,
                "UPDATE audit_log SET actor_id = ?3, target_id = ?4, ip = ?5, details = ?6, \
                 pii_digest = ?7, pii_salt = ?8 WHERE org_id = ?1 AND seq = ?2",
                &e.org_id,
                e.seq,
                e.actor_id.as_deref(),
                e.target_id.as_deref(),
                e.ip.as_deref(),
                &e.details,
                e.pii_digest.as_deref(),
                e.pii_salt.as_deref()
            )?);
        }
        for org in &plan.sole {
            stmts.push(crate::jobs::purge::record_org(db, org)?);
            stmts.push(sql!(db, "DELETE FROM organizations WHERE id = ?1", org)?);
        }
        for org in &plan.kept {
            stmts.push(sql!(
                db,
                "UPDATE documents SET owner_id = ?3 WHERE org_id = ?1 AND owner_id = ?2",
                org,
                &user.id,
                alias
            )?);
            stmts.push(sql!(
                db,
                "UPDATE memberships SET role = 'owner' WHERE org_id = ?1 AND user_id = \
                 (SELECT user_id FROM memberships WHERE org_id = ?1 AND user_id != ?2 \
                  ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'admin' THEN 1 WHEN 'member' THEN 2 ELSE 3 END, \
                  created_at, user_id LIMIT 1) \
                 AND NOT EXISTS (SELECT 1 FROM memberships WHERE org_id = ?1 AND user_id != ?2 AND role = 'owner')",
                org,
                &user.id
            )?);
        }
        stmts.push(sql!(
            db,
            "UPDATE document_versions SET author_id = ?2 WHERE author_id = ?1",
            &user.id,
            alias
        )?);
        stmts.push(sql!(
            db,
            "DELETE FROM document_shares WHERE user_id = ?1",
            &user.id
        )?);
        stmts.push(sql!(
            db,
            "UPDATE generations SET user_id = ?2 WHERE user_id = ?1",
            &user.id,
            alias
        )?);
        stmts.push(crate::jobs::purge::record_user(db, &user.id)?);
        stmts.push(sql!(
            db,
            "DELETE FROM users WHERE id = ?1 AND purge_at IS NOT NULL AND purge_at <= ?2",
            &user.id,
            platform::now().timestamp()
        )?);
        Ok(stmts)
    };
    audit::write(db, &origin, &events, build)
        .await
        .map_err(audit::WriteError::into_api)?;
    let prefixes = plan
        .sole
        .iter()
        .filter_map(|o| edge_core::purge::org_prefix(o));
    for prefix in prefixes.chain(edge_core::account_export::user_prefix(&user.id)) {
        crate::jobs::purge::run_now(env, &prefix).await;
    }
    Ok(())
}
