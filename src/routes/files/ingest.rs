//! What every upload path shares on its way to a ready file: the row inserted, the body
//! streamed to R2, the finish (ready, job, audit in one batch) and the cleanup of a failure.
//! Used by the upload handlers of this module only.

use super::{location, public};
use crate::audit::{self, Event};
use crate::auth::{self, OrgAccess};
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::files::{purge, unreserve, FileRow};
use crate::http::{self, ApiResult};
use crate::jobs::{self, NewJob};
use crate::storage::{self, Incoming};
use crate::{platform, sql};
use edge_core::ids::IdKind;
use edge_core::ApiError;
use serde_json::json;
use worker::{D1Database, Request};

/// Marks an uploaded file ready, queues its `file.process` job and records the upload, in one
/// batch; then sends the job's message. `from` is the state the upload was in.
pub(super) async fn finish_upload(
    cx: &Ctx,
    db: &D1Database,
    file: &FileRow,
    from: &str,
    sha256: &str,
    actor: audit::Actor,
) -> ApiResult {
    let now = platform::rfc3339(platform::now());
    let payload = json!({
        "file_id": file.id, "name": file.name, "size": file.size,
        "content_type": file.content_type, "sha256": sha256,
    });
    let job = jobs::prepare(
        Some(&file.org_id),
        NewJob::system(edge_core::jobs::JobType::FileProcess, &payload),
    );
    let ready = "SELECT 1 FROM files WHERE id = ?1 AND status = 'ready' AND sha256 = ?2";
    let events = [Event::new(&file.org_id, "file.uploaded", actor)
        .target("file", &file.id)
        .details(json!({"name": file.name, "size": file.size, "sha256": sha256}))
        .only_if(ready, vec![V::from(&file.id), V::from(sha256)])];
    let results = audit::write(db, &auth::audit_origin(cx), &events, || {
        Ok(vec![
            sql!(
                db,
                "UPDATE files SET status = 'ready', sha256 = ?3, updated_at = ?4, expires_at = NULL, \
                 upload_id = NULL WHERE id = ?1 AND status = ?2",
                &file.id,
                from,
                sha256,
                &now
            )?,
            // The job exists only if the file became ready in this batch.
            sql!(
                db,
                "INSERT INTO jobs (id, org_id, type, status, payload, attempts, created_at, updated_at, source) \
                 SELECT ?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, 'system' WHERE EXISTS \
                 (SELECT 1 FROM files WHERE id = ?7 AND status = 'ready' AND sha256 = ?8)",
                &job.id,
                &file.org_id,
                &job.job_type,
                &job.status,
                &job.payload,
                &job.created_at,
                &file.id,
                sha256
            )?,
            sql!(db, "DELETE FROM file_parts WHERE file_id = ?1", &file.id)?,
        ])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if db::changes(&results[0]) == 0 {
        // The sweep removed the upload meanwhile (it took longer than allowed).
        return Err(ApiError::conflict(
            "The upload was abandoned before it finished; start again.",
        ));
    }
    jobs::send(&cx.env, &job).await;
    let mut done = file.clone();
    done.sha256 = Some(sha256.to_owned());
    done.status = "ready".into();
    done.created_at = file.created_at.clone();
    let mut resp = http::json(201, &public(&done))?;
    let _ = resp
        .headers_mut()
        .set("Location", &location(&file.org_id, &file.id));
    let _ = resp.headers_mut().set("ETag", &done.etag());
    Ok(resp)
}

/// Inserts the row of a new file in state `status` (its size already reserved).
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_row(
    cx: &Ctx,
    db: &D1Database,
    access: &OrgAccess,
    name: &str,
    content_type: &str,
    size: u64,
    status: &str,
    ttl_s: i64,
) -> Result<FileRow, ApiError> {
    let now = platform::now();
    let row = FileRow {
        id: platform::new_id(IdKind::File),
        org_id: access.org_id.clone(),
        name: name.to_owned(),
        content_type: content_type.to_owned(),
        size: size as i64,
        sha256: None,
        status: status.to_owned(),
        upload_id: None,
        part_size: None,
        uploader_id: access.actor_id(),
        created_at: platform::rfc3339(now),
        updated_at: platform::rfc3339(now),
        expires_at: Some(platform::rfc3339(now + chrono::Duration::seconds(ttl_s))),
    };
    let inserted = db::run(sql!(
        db,
        "INSERT INTO files (id, org_id, name, content_type, size, status, uploader_id, created_at, \
         updated_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        &row.id,
        &row.org_id,
        &row.name,
        &row.content_type,
        row.size,
        status,
        &row.uploader_id,
        &row.created_at,
        row.expires_at.clone()
    ))
    .await;
    if let Err(e) = inserted {
        unreserve(&cx.env, &access.org_id, size).await;
        return Err(e);
    }
    Ok(row)
}

/// Streams the body into the file's object; on any failure the partial object is removed and
/// the row goes back to `back_to` (a signed URL may be retried) or is purged (`None`).
pub(super) async fn store(
    req: &Request,
    cx: &Ctx,
    db: &D1Database,
    file: &FileRow,
    back_to: Option<&str>,
) -> Result<String, ApiError> {
    let bucket = storage::bucket(&cx.env)?;
    let key = file.key()?;
    let stored = match Incoming::new(req, file.size()) {
        Ok(incoming) => incoming.put(&bucket, &key, &file.content_type).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok(sha) => Ok(sha),
        Err(e) => {
            storage::delete(&bucket, &key).await;
            match back_to {
                Some(state) => {
                    let _ = db::run(sql!(
                        db,
                        "UPDATE files SET status = ?2 WHERE id = ?1 AND status = 'uploading'",
                        &file.id,
                        state
                    ))
                    .await;
                }
                None => {
                    let _ = purge(&cx.env, db, &file.id, "uploading").await;
                }
            }
            Err(e)
        }
    }
}

/// Removes what a failed finish left: the object and the row (releasing its quota).
pub(super) async fn cleanup(cx: &Ctx, db: &D1Database, file: &FileRow, status: &str) {
    if let (Ok(bucket), Ok(key)) = (storage::bucket(&cx.env), file.key()) {
        storage::delete(&bucket, &key).await;
    }
    let _ = purge(&cx.env, db, &file.id, status).await;
}
