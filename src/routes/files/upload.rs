//! `POST /v1/orgs/{org}/files`: the direct upload, the raw body streamed to R2.

use super::ingest::{cleanup, finish_upload, insert_row, store};
use super::{declared_length, max_upload, reserve, UPLOAD_TTL_S};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::ApiResult;
use edge_core::files as rules;
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};

/// The media type of an upload body: required, valid.
fn body_content_type(cx: &Ctx) -> Result<String, ApiError> {
    let raw = cx.header("Content-Type");
    let raw = raw.ok_or_else(|| {
        ApiError::unsupported_media_type("Uploads need a Content-Type header (the file's type).")
    })?;
    rules::content_type(&raw)
        .map_err(|m| ApiError::unsupported_media_type(format!("Content-Type {m}.")))
}

/// `POST /v1/orgs/{org}/files?name=`: the raw body, streamed to R2.
pub async fn upload(body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesWrite)?;
    let name = cx.query("name").unwrap_or_else(|| "untitled".into());
    let name = rules::name(&name).map_err(|m| {
        ApiError::validation_failed("Invalid file name.")
            .with_errors(vec![FieldError::new("name", m)])
    })?;
    let content_type = body_content_type(cx)?;
    let size = declared_length(cx, max_upload(cx, &access))?;
    reserve(cx, &access, size).await?;
    let db = db::database(&cx.env)?;
    let file = insert_row(
        cx,
        &db,
        &access,
        &name,
        &content_type,
        size,
        "uploading",
        UPLOAD_TTL_S,
    )
    .await?;
    let sha = store(body.raw(), cx, &db, &file, None).await?;
    let result = finish_upload(cx, &db, &file, "uploading", &sha, access.actor()).await;
    if result.is_err() {
        cleanup(cx, &db, &file, "uploading").await;
    }
    result
}
