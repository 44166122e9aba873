//! The files part of the cron sweep: abandoned uploads and deletions R2 did not finish. Called
//! by `jobs::sweep`; works on the domain only and may not import the routes.

use super::{abort, purge, FileRow, COLUMNS};
use crate::db;
use crate::{platform, sql, storage};
use edge_core::ApiError;
use worker::Env;

/// The sweep: abandoned uploads (expired `pending`, `uploading`, `multipart` rows) and
/// deletions R2 did not finish. Returns how many rows it removed.
pub(crate) async fn sweep(env: &Env) -> Result<u32, ApiError> {
    let db = db::database(env)?;
    let now = platform::rfc3339(platform::now());
    let stuck = platform::rfc3339(platform::now() - chrono::Duration::seconds(60));
    let rows: Vec<FileRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM files WHERE (status IN ('pending', 'uploading', 'multipart') \
             AND expires_at < ?1) OR (status = 'deleting' AND updated_at < ?2) LIMIT 100"
        ),
        &now,
        &stuck
    ))
    .await?;
    let bucket = storage::bucket(env)?;
    let mut removed = 0;
    for file in rows {
        let key = file.key()?;
        match file.status.as_str() {
            "multipart" => {
                if abort(env, &db, &file).await? {
                    removed += 1;
                }
            }
            _ => {
                if storage::delete(&bucket, &key).await
                    && purge(env, &db, &file.id, &file.status).await?
                {
                    removed += 1;
                }
            }
        }
    }
    Ok(removed)
}
