//! The files domain: the `files` row, its R2 key, the storage quota it holds, and the removal
//! of rows and objects. Serves the file routes and the cron sweep; it reads no request, builds
//! no response and may not import the routes (background work calls this, never a handler).
//!
//! Storage quota: a file row, in whatever state, holds its `size` of the organization's
//! `storage_bytes` quota. The quota is consumed (exactly, in `TENANT`) before the row exists,
//! and released by whoever removes the row (`purge`): a failed upload, a delete, the sweep of
//! abandoned uploads. The R2 key is derived from ids only (`edge_core::files::object_key`).

mod sweep;

pub(crate) use sweep::sweep;

use crate::db;
use crate::http;
use crate::{sql, storage};
use edge_core::files as rules;
use edge_core::ids::{self, IdKind};
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::{D1Database, Env};

const QUOTA: &str = "storage_bytes";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileRow {
    pub(crate) id: String,
    pub(crate) org_id: String,
    pub(crate) name: String,
    pub(crate) content_type: String,
    pub(crate) size: i64,
    pub(crate) sha256: Option<String>,
    pub(crate) status: String,
    pub(crate) upload_id: Option<String>,
    pub(crate) part_size: Option<i64>,
    pub(crate) uploader_id: String,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    pub(crate) expires_at: Option<String>,
}

/// The columns of a [`FileRow`], in order, for `SELECT` and `RETURNING`.
pub(crate) const COLUMNS: &str =
    "id, org_id, name, content_type, size, sha256, status, upload_id, \
                       part_size, uploader_id, created_at, updated_at, expires_at";

impl FileRow {
    pub(crate) fn size(&self) -> u64 {
        u64::try_from(self.size).unwrap_or(0)
    }

    pub(crate) fn key(&self) -> Result<String, ApiError> {
        rules::object_key(&self.org_id, &self.id)
            .ok_or_else(|| http::internal("object key", "row with malformed ids"))
    }

    pub(crate) fn etag(&self) -> String {
        rules::etag(self.sha256.as_deref().unwrap_or_default())
    }

    /// The R2 key and multipart upload id of a row in state `multipart`.
    pub(crate) fn upload_key_and_id(&self) -> Result<(String, String), ApiError> {
        let id = self
            .upload_id
            .clone()
            .ok_or_else(|| http::internal("multipart", "row without upload id"))?;
        Ok((self.key()?, id))
    }
}

pub(crate) fn not_found() -> ApiError {
    ApiError::not_found("No such file.")
}

/// The file `id` of organization `org_id` in state `status`, or 404.
pub(crate) async fn load(
    db: &D1Database,
    org_id: &str,
    id: &str,
    status: &str,
) -> Result<FileRow, ApiError> {
    if !ids::is_id(IdKind::File, id) || !ids::is_id(IdKind::Org, org_id) {
        return Err(not_found());
    }
    db::first(sql!(
        db,
        &format!("SELECT {COLUMNS} FROM files WHERE id = ?1 AND org_id = ?2 AND status = ?3"),
        id,
        org_id,
        status
    ))
    .await?
    .ok_or_else(not_found)
}

/// Takes `size` bytes of the organization's storage `quota`, or refuses (quota exceeded).
pub(crate) async fn reserve(
    env: &Env,
    org_id: &str,
    quota: u64,
    size: u64,
) -> Result<(), ApiError> {
    if size == 0 {
        return Ok(());
    }
    crate::limits::consume(env, org_id, QUOTA, "", quota, size)
        .await
        .map(|_| ())
}

/// Gives `size` bytes back to the organization's storage quota (a failure is logged).
pub(crate) async fn unreserve(env: &Env, org_id: &str, size: u64) {
    if size > 0 {
        if let Err(e) = crate::limits::release(env, org_id, QUOTA, "", size).await {
            let _ = http::internal("release storage quota", e.detail);
        }
    }
}

/// Removes the row of file `id` if it is still in `status`, and gives its bytes back to the
/// quota. Only the caller that removed the row releases, so a release happens exactly once.
pub(crate) async fn purge(
    env: &Env,
    db: &D1Database,
    id: &str,
    status: &str,
) -> Result<bool, ApiError> {
    #[derive(Deserialize)]
    struct Gone {
        org_id: String,
        size: i64,
    }
    let gone: Option<Gone> = db::first(sql!(
        db,
        "DELETE FROM files WHERE id = ?1 AND status = ?2 RETURNING org_id, size",
        id,
        status
    ))
    .await?;
    match gone {
        Some(g) => {
            unreserve(env, &g.org_id, u64::try_from(g.size).unwrap_or(0)).await;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Aborts the R2 multipart upload of `file` (a failure is logged) and purges its row.
pub(crate) async fn abort(env: &Env, db: &D1Database, file: &FileRow) -> Result<bool, ApiError> {
    let bucket = storage::bucket(env)?;
    if let Ok((key, upload_id)) = file.upload_key_and_id() {
        if let Ok(upload) = bucket.resume_multipart_upload(&key, &upload_id) {
            if let Err(e) = upload.abort().await {
                let _ = http::internal("R2 abort multipart", e);
            }
        }
    }
    purge(env, db, &file.id, &file.status).await
}
