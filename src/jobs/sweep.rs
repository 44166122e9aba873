//! The periodic sweep (cron, every minute): no job stays `running` or `queued` forever.
//! A `running` job whose lease ran out (its consumer died mid-delivery) goes back to `queued`
//! and its message is sent again; a `queued` job untouched for longer than any retry delay
//! (its message was lost) is sent again. Duplicate messages are harmless: the claim in
//! `repo::claim` lets only one delivery run. Expired idempotency records are removed, and so
//! are single-use secrets an hour past their expiry (`expired_secrets`). Abandoned uploads
//! and unfinished file deletions are cleaned up (`files::sweep`), and R2 purges of
//! deleted organizations worked off (`jobs::purge`). Accounts past their deletion grace
//! period are hard-deleted (`account::sweep`), and account exports kept moving and expired
//! (`exports::sweep`).

use crate::db;
use crate::platform;
use crate::sql;
use edge_core::jobs::JobMessage;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::json;
use worker::Env;

#[derive(Deserialize)]
struct Id {
    id: String,
}

pub async fn run(env: &Env) -> Result<serde_json::Value, ApiError> {
    let config = crate::config::load(env).map_err(|e| crate::http::internal("config", e))?;
    let db = db::database(env)?;
    let now = platform::now();
    let now_ms = now.timestamp_millis();
    let stamp = platform::rfc3339(now);

    let expired: Vec<Id> = db::all(sql!(
        db,
        "UPDATE jobs SET status = 'queued', lease_until = NULL, updated_at = ?2, \
         error = COALESCE(error, 'delivery interrupted; requeued') \
         WHERE status = 'running' AND lease_until < ?1 RETURNING id",
        now_ms,
        &stamp
    ))
    .await?;

    let quiet_for = i64::from(config.job_retry_max_seconds) + 600;
    let threshold = platform::rfc3339(now - chrono::Duration::seconds(quiet_for));
    let lost: Vec<Id> = db::all(sql!(
        db,
        "UPDATE jobs SET updated_at = ?2 WHERE id IN \
         (SELECT id FROM jobs WHERE status = 'queued' AND updated_at < ?1 LIMIT 100) RETURNING id",
        &threshold,
        &stamp
    ))
    .await?;

    let queue = env
        .queue("JOBS")
        .map_err(|e| crate::http::internal("JOBS binding", e))?;
    let mut resent = 0;
    for job in expired.iter().chain(&lost) {
        if queue
            .send(&JobMessage {
                job_id: job.id.clone(),
            })
            .await
            .is_ok()
        {
            resent += 1;
        }
    }
    let purged = db::run(sql!(
        db,
        "DELETE FROM idempotency_keys WHERE expires_at < ?1",
        now.timestamp()
    ))
    .await?;
    let expired_secrets_removed = expired_secrets(&db, now.timestamp()).await?;
    let files_removed = crate::files::sweep(env).await?;
    let r2_purged = super::purge::sweep(env).await?;
    let webhooks = crate::webhooks::sweep::run(env).await?;
    let (generations_settled, generations_resent) = crate::generations::sweep(env).await?;
    let accounts_purged = crate::account::sweep(env).await?;
    let exports = crate::exports::sweep(env).await?;
    let report = json!({"requeued_running": expired.len(), "resent_queued": lost.len(), "messages_sent": resent, "idempotency_purged": purged, "expired_secrets_removed": expired_secrets_removed, "files_removed": files_removed, "r2_objects_purged": r2_purged, "webhooks": webhooks, "generations_settled": generations_settled, "generations_resent": generations_resent, "accounts_purged": accounts_purged, "exports": exports});
    worker::console_log!(
        "{}",
        json!({"level": "info", "msg": "sweep", "report": report})
    );
    Ok(report)
}

/// Tables of single-use secrets whose every check refuses an expired row: past
/// `expires_at` + an hour the rows only take space. (Email changes are kept: the hard delete
/// reads them for every address the account had.)
const SINGLE_USE: [&str; 4] = [
    "mfa_challenges",
    "webauthn_challenges",
    "account_restores",
    "password_resets",
];

/// Deletes the expired single-use secrets, as one batch; how many rows went.
async fn expired_secrets(db: &worker::D1Database, now: i64) -> Result<usize, ApiError> {
    let mut stmts = Vec::new();
    for table in SINGLE_USE {
        stmts.push(sql!(
            db,
            &format!("DELETE FROM {table} WHERE expires_at < ?1"),
            now - 3600
        )?);
    }
    let results = db::batch(db, stmts)
        .await
        .map_err(|e| crate::http::internal("sweep expired secrets", e))?;
    Ok(results.iter().map(db::changes).sum())
}
