//! A file's metadata: list, get and delete. The bytes are `download`'s; removal of rows and
//! objects is the domain's (`crate::files::purge`), never done here by hand.

use super::public;
use crate::audit::{self, Event};
use crate::auth;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::files::{load, not_found, purge, FileRow, COLUMNS};
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::{platform, sql, storage};
use edge_core::policy::Action;
use serde_json::json;

/// `GET /v1/orgs/{org}/files`: ready files, newest first.
pub async fn list(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesRead)?;
    let page = Page::from_query(cx, "files", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<FileRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM files WHERE org_id = ?1 AND status = 'ready' \
             AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        ),
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(cx, rows, |r| (r.created_at.clone(), r.id.clone()), public)
}

/// `GET /v1/orgs/{org}/files/{id}`: metadata.
pub async fn get(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesRead)?;
    let db = db::database(&cx.env)?;
    let file = load(&db, &access.org_id, cx.param("id"), "ready").await?;
    let mut resp = http::json(200, &public(&file))?;
    let _ = resp.headers_mut().set("ETag", &file.etag());
    Ok(resp)
}

/// `DELETE /v1/orgs/{org}/files/{id}`: the row leaves the API at once (state `deleting`, in
/// the same batch as the audit entry), then the object is removed and the row purged, which
/// gives the storage back. If R2 fails, the sweep finishes the job.
pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesWrite)?;
    let db = db::database(&cx.env)?;
    let file = load(&db, &access.org_id, cx.param("id"), "ready").await?;
    let now = platform::rfc3339(platform::now());
    let marked = "SELECT 1 FROM files WHERE id = ?1 AND status = 'deleting' AND updated_at = ?2";
    let events = [Event::new(&access.org_id, "file.deleted", access.actor())
        .target("file", &file.id)
        .details(json!({"name": file.name, "size": file.size}))
        .only_if(marked, vec![V::from(&file.id), V::from(&now)])];
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE files SET status = 'deleting', updated_at = ?3 WHERE id = ?1 AND org_id = ?2 AND status = 'ready'",
            &file.id,
            &access.org_id,
            &now
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    if db::changes(&results[0]) == 0 {
        return Err(not_found());
    }
    let bucket = storage::bucket(&cx.env)?;
    if storage::delete(&bucket, &file.key()?).await {
        purge(&cx.env, &db, &file.id, "deleting").await?;
    }
    Ok(http::empty(204))
}
