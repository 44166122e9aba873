//! `GET /v1/orgs/{org}/files/{id}/content`: the bytes, by credential or signed URL, with
//! ranges and conditional requests. Reads only; it changes no row.

use super::forbidden_url;
use super::signed::signed;
use crate::auth;
use crate::ctx::Ctx;
use crate::db;
use crate::files::{load, FileRow};
use crate::http::{self, ApiResult, OrInternal};
use crate::storage;
use edge_core::files::{self as rules, RangeAnswer};
use edge_core::policy::Action;
use edge_core::ApiError;
use worker::Response;

/// `GET /v1/orgs/{org}/files/{id}/content`: the bytes, by credential or signed URL.
pub async fn content(cx: &Ctx) -> ApiResult {
    let db = db::database(&cx.env)?;
    let org_id = cx.param("org");
    let file = if cx.query("signature").is_some() {
        // The row is read first so the signature covers its size and type; an unknown file
        // is the same 403 as a bad signature (a signed URL reveals nothing).
        let file = load(&db, org_id, cx.param("id"), "ready")
            .await
            .map_err(|_| forbidden_url())?;
        signed(cx, "GET", file.size(), &file.content_type)?;
        file
    } else {
        let access = auth::org_access(cx, org_id).await?;
        access.require(Action::FilesRead)?;
        load(&db, &access.org_id, cx.param("id"), "ready").await?
    };
    serve(cx, &file).await
}

async fn serve(cx: &Ctx, file: &FileRow) -> ApiResult {
    let etag = file.etag();
    let header = |name: &str| cx.header(name);
    if let Some(inm) = header("If-None-Match") {
        if edge_core::documents::matches_weak(&inm, &etag) {
            let mut resp = http::empty(304);
            let _ = resp.headers_mut().set("ETag", &etag);
            return Ok(resp);
        }
    }
    let size = file.size();
    // `If-Range` with another tag: the client's partial copy is stale, send everything.
    let range_header = match header("If-Range") {
        Some(tag) if tag.trim() != etag => None,
        _ => header("Range"),
    };
    let answer = rules::range(range_header.as_deref(), size);
    if answer == RangeAnswer::Unsatisfiable {
        return Err(ApiError::range_not_satisfiable(format!(
            "The file has {size} bytes; the requested range is outside it."
        ))
        .with_header("Content-Range", format!("bytes */{size}")));
    }
    let bucket = storage::bucket(&cx.env)?;
    let mut get = bucket.get(file.key()?);
    if let RangeAnswer::Partial { start, end } = answer {
        get = get.range(worker::Range::OffsetWithLength {
            offset: start,
            length: end - start + 1,
        });
    }
    let object = get
        .execute()
        .await
        .or_internal("R2 get")?
        .ok_or_else(|| http::internal("R2 get", "object of a ready file is missing"))?;
    let (status, length) = match answer {
        RangeAnswer::Partial { start, end } => (206, end - start + 1),
        _ => (200, size),
    };
    let mut resp = match object.body() {
        Some(body) if length > 0 => {
            Response::from_body(body.response_body().or_internal("R2 body")?)
                .or_internal("response")?
        }
        _ => Response::empty().or_internal("response")?,
    }
    .with_status(status);
    let h = resp.headers_mut();
    let _ = h.set("Content-Type", &file.content_type);
    let _ = h.set("Content-Length", &length.to_string());
    let _ = h.set("ETag", &etag);
    let _ = h.set("Accept-Ranges", "bytes");
    let _ = h.set(
        "Content-Disposition",
        &rules::content_disposition(&file.name),
    );
    let _ = h.set("Cache-Control", "private, no-cache");
    if let RangeAnswer::Partial { start, end } = answer {
        let _ = h.set("Content-Range", &format!("bytes {start}-{end}/{size}"));
    }
    Ok(resp)
}
