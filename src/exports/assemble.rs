//! One delivery of an export's queue message: claim the row, stream the user's data out of D1
//! page by page into one JSON object in R2 (a single put when it fits one part, a multipart
//! upload of equal parts otherwise), then mark it `ready` only if this attempt still holds
//! the claim. Every section names its columns, so no credential (password hash, secrets,
//! token or key digests, public keys) can reach the file, and `edge_core::account_export`'s
//! writer refuses any value that has such a field anyway.

use super::upload::Upload;
use crate::{db, jobs, platform, sql, storage};
use edge_core::account_export::{self as rules, AfterFailure, Writer};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Env};

/// What the queue does with the message after this delivery.
pub enum Outcome {
    Done,
    RetryIn(u32),
}

/// Bytes per multipart part (R2's minimum for every part but the last).
pub(super) const PART_SIZE: usize = 5 * 1024 * 1024;

/// One array section: its name, the query (`?1` the user, `?2` the last rowid seen; it must
/// select the rowid as `r` and order by it), the columns holding JSON text, and rows per page
/// (documents are up to 512 KiB each, so fewer of them per page).
struct Section {
    name: &'static str,
    sql: &'static str,
    json_columns: &'static [&'static str],
    page: usize,
}

const SECTIONS: [Section; 6] = [
    Section {
        name: "memberships",
        sql: "SELECT m.rowid AS r, m.org_id, o.name AS org_name, m.role, m.created_at AS joined_at \
              FROM memberships m JOIN organizations o ON o.id = m.org_id \
              WHERE m.user_id = ?1 AND m.rowid > ?2 ORDER BY m.rowid LIMIT ?3",
        json_columns: &[],
        page: rules::PAGE,
    },
    Section {
        name: "sessions",
        sql: "SELECT rowid AS r, id, created_at, last_used_at, expires_at, revoked_at, revoke_reason, \
              ip, user_agent, amr, auth_time, \
              CASE WHEN cookie_hash IS NULL THEN 'tokens' ELSE 'cookie' END AS mode \
              FROM sessions WHERE user_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        json_columns: &[],
        page: rules::PAGE,
    },
    Section {
        name: "passkeys",
        sql: "SELECT rowid AS r, id, name, created_at, last_used_at, aaguid, alg, \
              backup_eligible, backed_up, transports \
              FROM passkeys WHERE user_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        json_columns: &["transports"],
        page: rules::PAGE,
    },
    Section {
        name: "api_keys",
        sql: "SELECT rowid AS r, id, org_id, name, prefix, scopes, created_at, expires_at, \
              revoked_at, last_used_at FROM api_keys WHERE created_by = ?1 \
              AND org_id IN (SELECT org_id FROM memberships WHERE user_id = ?1) \
              AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        json_columns: &["scopes"],
        page: rules::PAGE,
    },
    Section {
        name: "documents",
        sql: "SELECT rowid AS r, id, org_id, title, content, status, version, created_at, updated_at \
              FROM documents WHERE owner_id = ?1 AND deleted_at IS NULL \
              AND org_id IN (SELECT org_id FROM memberships WHERE user_id = ?1) \
              AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        json_columns: &[],
        page: 20,
    },
    // Entries about the user in any organization, kept or left. The client address is the
    // user's own only when they acted; another actor's is not theirs to receive.
    Section {
        name: "audit_log",
        sql: "SELECT rowid AS r, org_id, seq, action, actor_type, actor_id, target_type, target_id, \
              CASE WHEN actor_id = ?1 THEN ip END AS ip, request_id, details, created_at \
              FROM audit_log WHERE (actor_id = ?1 OR target_id = ?1) \
              AND rowid > ?2 ORDER BY rowid LIMIT ?3",
        json_columns: &["details"],
        page: rules::PAGE,
    },
];

#[derive(Deserialize)]
struct Claimed {
    user_id: String,
    attempts: i64,
}

#[derive(Deserialize)]
struct Profile {
    id: String,
    email: String,
    name: String,
    email_verified: i64,
    created_at: String,
    updated_at: String,
}

/// Runs one delivery of export `id`'s message.
pub async fn run(env: &Env, id: &str) -> Result<Outcome, ApiError> {
    let db = db::database(env)?;
    let now_ms = platform::now_ms();
    let stamp = platform::rfc3339(platform::now());
    let claimed: Option<Claimed> = db::first(sql!(
        db,
        "UPDATE account_exports SET status = 'running', attempts = attempts + 1, \
         lease_until = ?2, updated_at = ?3 WHERE id = ?1 AND attempts < ?4 \
         AND (status = 'queued' OR (status = 'running' AND lease_until < ?5)) \
         RETURNING user_id, attempts",
        id,
        now_ms + rules::LEASE_MS,
        &stamp,
        rules::MAX_ATTEMPTS,
        now_ms
    ))
    .await?;
    let Some(claim) = claimed else {
        // Finished, deleted, or held by another delivery (which the sweep watches).
        return Ok(Outcome::Done);
    };
    let Some(key) = rules::object_key(&claim.user_id, id, claim.attempts) else {
        return settle_failed(&db, id, claim.attempts, "not an export of a user").await;
    };
    match write(env, &db, id, &claim, &key).await {
        Ok(Some(profile)) => finish(env, &db, id, &claim, &key, profile).await,
        Ok(None) => settle_failed(&db, id, claim.attempts, "the account is being deleted").await,
        Err(e) => {
            if let Ok(bucket) = storage::bucket(env) {
                let _ = bucket.delete(key.clone()).await;
            }
            log(id, claim.attempts, &e.detail);
            match rules::after_failure(claim.attempts) {
                AfterFailure::Fail => settle_failed(&db, id, claim.attempts, &e.detail).await,
                AfterFailure::Retry { delay_seconds } => {
                    db::run(sql!(
                        db,
                        "UPDATE account_exports SET status = 'queued', lease_until = NULL, error = ?3, \
                         updated_at = ?4 WHERE id = ?1 AND status = 'running' AND attempts = ?2",
                        id,
                        claim.attempts,
                        &e.detail,
                        platform::rfc3339(platform::now())
                    ))
                    .await?;
                    Ok(Outcome::RetryIn(delay_seconds))
                }
            }
        }
    }
}

async fn settle_failed(
    db: &D1Database,
    id: &str,
    attempt: i64,
    why: &str,
) -> Result<Outcome, ApiError> {
    db::run(sql!(
        db,
        "UPDATE account_exports SET status = 'failed', lease_until = NULL, error = ?3, updated_at = ?4 \
         WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        id,
        attempt,
        why,
        platform::rfc3339(platform::now())
    ))
    .await?;
    Ok(Outcome::Done)
}

/// Marks the export ready if this attempt still holds it (else removes what it wrote), and
/// tells the user by email (without the link: they fetch it signed in).
async fn finish(
    env: &Env,
    db: &D1Database,
    id: &str,
    claim: &Claimed,
    key: &str,
    (profile, done): (Profile, rules::Finished),
) -> Result<Outcome, ApiError> {
    let now = platform::now();
    let expires = now.timestamp() + rules::RETENTION_SECONDS;
    let stamp = platform::rfc3339(now);
    let applied = db::run(sql!(
        db,
        "UPDATE account_exports SET status = 'ready', lease_until = NULL, error = NULL, size = ?3, \
         sha256 = ?4, counts = ?5, completed_at = ?6, updated_at = ?6, expires_at = ?7 \
         WHERE id = ?1 AND status = 'running' AND attempts = ?2",
        id,
        claim.attempts,
        done.size as i64,
        &done.sha256,
        &done.counts,
        &stamp,
        expires
    ))
    .await?;
    if applied != 1 {
        // Lost the claim (or the export was deleted meanwhile): nothing may serve this object.
        let _ = storage::bucket(env)?.delete(key.to_owned()).await;
        return Ok(Outcome::Done);
    }
    let payload = json!({
        "template": "account_export_ready", "to": profile.email, "name": profile.name,
        "user_id": profile.id, "export_id": id, "size": done.size,
        "expires_at": chrono::DateTime::from_timestamp(expires, 0).map(platform::rfc3339),
    });
    jobs::send_email(env, None, payload).await;
    Ok(Outcome::Done)
}

/// Streams the document into R2 at `key`; the profile and the written document's digest, or
/// `None` when the account is gone or pending deletion.
async fn write(
    env: &Env,
    db: &D1Database,
    id: &str,
    claim: &Claimed,
    key: &str,
) -> Result<Option<(Profile, rules::Finished)>, ApiError> {
    let user = claim.user_id.as_str();
    let profile: Option<Profile> = db::first(sql!(
        db,
        "SELECT id, email, name, email_verified, created_at, updated_at FROM users \
         WHERE id = ?1 AND deleted_at IS NULL",
        user
    ))
    .await?;
    let Some(profile) = profile else {
        return Ok(None);
    };
    let mut w = Writer::new(PART_SIZE, user, id, &platform::rfc3339(platform::now()));
    let checked = |r: Result<(), String>| r.map_err(|e| crate::http::internal("export", e));
    checked(w.field(
        "profile",
        &json!({"id": profile.id, "email": profile.email, "name": profile.name,
                "email_verified": profile.email_verified != 0,
                "created_at": profile.created_at, "updated_at": profile.updated_at}),
    ))?;
    checked(w.field("mfa", &factors(db, user).await?))?;
    let mut upload = Upload::new(env, key)?;
    if let Err(e) = sections(db, user, &mut w, &mut upload).await {
        upload.abort().await;
        return Err(e);
    }
    let done = w.finish();
    upload.finish(done.last.clone()).await?;
    Ok(Some((profile, done)))
}

/// Every array section, page by page, handing full parts to the upload as they fill.
async fn sections(
    db: &D1Database,
    user: &str,
    w: &mut Writer,
    upload: &mut Upload<'_>,
) -> Result<(), ApiError> {
    let checked = |r: Result<(), String>| r.map_err(|e| crate::http::internal("export", e));
    for section in &SECTIONS {
        w.open(section.name);
        let mut after = 0i64;
        loop {
            let rows: Vec<Value> =
                db::all(sql!(db, section.sql, user, after, section.page as i64)).await?;
            let n = rows.len();
            for mut row in rows {
                let Some(fields) = row.as_object_mut() else {
                    continue;
                };
                after = fields.remove("r").and_then(|r| r.as_i64()).unwrap_or(after);
                for c in section.json_columns {
                    if let Some(Value::String(text)) = fields.get(*c) {
                        let parsed = serde_json::from_str(text).unwrap_or(Value::Null);
                        fields.insert((*c).to_owned(), parsed);
                    }
                }
                checked(w.item(&row))?;
                while let Some(part) = w.take_part() {
                    upload.part(part).await?;
                }
            }
            if n < section.page {
                break;
            }
        }
    }
    Ok(())
}

/// The second factors, described (never their secrets or codes).
async fn factors(db: &D1Database, user: &str) -> Result<Value, ApiError> {
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT (SELECT created_at FROM totp_factors WHERE user_id = ?1) AS totp_created_at, \
         (SELECT confirmed_at FROM totp_factors WHERE user_id = ?1) AS totp_confirmed_at, \
         (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1) AS codes, \
         (SELECT COUNT(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL) AS unused",
        user
    ))
    .await?;
    let r = row.unwrap_or(Value::Null);
    let totp = match r["totp_created_at"].as_str() {
        Some(created) => json!({"enabled": !r["totp_confirmed_at"].is_null(),
                                "created_at": created, "confirmed_at": r["totp_confirmed_at"]}),
        None => Value::Null,
    };
    Ok(json!({"totp": totp,
              "recovery_codes": {"total": r["codes"], "unused": r["unused"]}}))
}

fn log(id: &str, attempt: i64, error: &str) {
    worker::console_log!(
        "{}",
        json!({"level": "warn", "msg": "export_attempt_failed", "export_id": id, "attempt": attempt, "error": error})
    );
}
