//! Working off R2 purges (`r2_purges`, written in the same D1 batch as the deletion that
//! orphaned the objects): abort the recorded open multipart uploads, delete what a listing of
//! the prefix shows, page by page, and drop the row once the prefix stays empty past the grace
//! period. Run by the deleting request right away and by every sweep until done. The rules
//! (which prefixes, which keys, when an abort is given up, when a purge is done) are
//! `edge_core::purge`.

use crate::db;
use crate::platform;
use crate::sql;
use crate::storage;
use edge_core::purge::{self, AbortOutcome};
use edge_core::ApiError;
use serde::Deserialize;
use worker::{D1Database, Env};

#[derive(Debug, Deserialize)]
struct PurgeRow {
    prefix: String,
    created_at: String,
    uploads: String,
}

/// The statement that records the purge of organization `org_id`'s objects, with the open
/// multipart uploads its file rows know of: put it in the batch that deletes the organization,
/// before the delete (the rows go with it).
pub fn record_org(db: &D1Database, org_id: &str) -> Result<worker::D1PreparedStatement, ApiError> {
    let prefix = purge::org_prefix(org_id)
        .ok_or_else(|| crate::http::internal("purge", "not an organization id"))?;
    sql!(
        db,
        "INSERT OR REPLACE INTO r2_purges (prefix, created_at, uploads) \
         SELECT ?1, ?2, COALESCE((SELECT json_group_array(json_array(?1 || 'files/' || id, upload_id, 0)) \
           FROM files WHERE org_id = ?3 AND upload_id IS NOT NULL), '[]')",
        &prefix,
        platform::rfc3339(platform::now()),
        org_id
    )
}

/// The statement that records the purge of user `user_id`'s objects (their account
/// exports): put it in the batch of the account's hard delete.
pub fn record_user(
    db: &D1Database,
    user_id: &str,
) -> Result<worker::D1PreparedStatement, ApiError> {
    let prefix = edge_core::account_export::user_prefix(user_id)
        .ok_or_else(|| crate::http::internal("purge", "not a user id"))?;
    sql!(
        db,
        "INSERT OR REPLACE INTO r2_purges (prefix, created_at, uploads) VALUES (?1, ?2, '[]')",
        &prefix,
        platform::rfc3339(platform::now())
    )
}

/// Works off the purge of `prefix` now (as far as one run goes); the sweep finishes it.
pub async fn run_now(env: &Env, prefix: &str) {
    let result = async {
        let db = db::database(env)?;
        let row: Option<PurgeRow> = db::first(sql!(
            db,
            "SELECT prefix, created_at, uploads FROM r2_purges WHERE prefix = ?1",
            prefix
        ))
        .await?;
        match row {
            Some(row) => work(env, &db, row).await.map(|_| ()),
            None => Ok(()),
        }
    }
    .await;
    if let Err(e) = result {
        let _ = crate::http::internal("R2 purge (the sweep retries)", e.detail);
    }
}

/// Every unfinished purge, a run each; how many objects were deleted.
pub async fn sweep(env: &Env) -> Result<u64, ApiError> {
    let db = db::database(env)?;
    let rows: Vec<PurgeRow> = db::all(sql!(
        db,
        "SELECT prefix, created_at, uploads FROM r2_purges ORDER BY created_at LIMIT 20"
    ))
    .await?;
    let mut deleted = 0;
    for row in rows {
        deleted += work(env, &db, row).await?;
    }
    Ok(deleted)
}

/// One run over one purge; the number of objects deleted.
async fn work(env: &Env, db: &D1Database, row: PurgeRow) -> Result<u64, ApiError> {
    let bucket = storage::bucket(env)?;
    let prefix = row.prefix.as_str();
    if !purge::is_purgeable(prefix) {
        // Never widen a purge beyond one organization's or one user's prefix, whatever a
        // row says.
        db::run(sql!(db, "DELETE FROM r2_purges WHERE prefix = ?1", prefix)).await?;
        return Ok(0);
    }
    // Open multipart uploads first: their parts are not listed as objects.
    let uploads: Vec<(String, String, i64)> =
        serde_json::from_str(&row.uploads).unwrap_or_default();
    let mut left = Vec::new();
    for (key, upload_id, attempts) in uploads {
        if !purge::is_under(prefix, &key) {
            continue;
        }
        let error = match bucket.resume_multipart_upload(&key, &upload_id) {
            Ok(upload) => upload.abort().await.err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        };
        if purge::abort_outcome(error.as_deref(), attempts + 1) == AbortOutcome::Retry {
            left.push((key, upload_id, attempts + 1));
        }
    }
    // Then every object under the prefix, a page at a time.
    let mut deleted = 0u64;
    let mut listed_empty = false;
    for _ in 0..purge::PAGES_PER_RUN {
        let listed = bucket
            .list()
            .prefix(prefix.to_owned())
            .limit(purge::PAGE)
            .execute()
            .await
            .map_err(|e| crate::http::internal("R2 list (purge)", e))?;
        let keys: Vec<String> = listed
            .objects()
            .iter()
            .map(|o| o.key())
            .filter(|k| purge::is_under(prefix, k))
            .collect();
        if keys.is_empty() {
            listed_empty = true;
            break;
        }
        deleted += keys.len() as u64;
        bucket
            .delete_multiple(keys)
            .await
            .map_err(|e| crate::http::internal("R2 delete (purge)", e))?;
    }
    let age_s = chrono::DateTime::parse_from_rfc3339(&row.created_at)
        .map(|t| platform::now().timestamp() - t.timestamp())
        .unwrap_or(i64::MAX);
    if purge::is_done(listed_empty, left.len(), age_s) {
        db::run(sql!(db, "DELETE FROM r2_purges WHERE prefix = ?1", prefix)).await?;
    } else {
        let uploads = serde_json::to_string(&left).unwrap_or_else(|_| "[]".into());
        db::run(sql!(
            db,
            "UPDATE r2_purges SET uploads = ?2, runs = runs + 1 WHERE prefix = ?1",
            prefix,
            &uploads
        ))
        .await?;
    }
    Ok(deleted)
}
