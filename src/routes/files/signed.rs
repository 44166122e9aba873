//! Signed URLs: the single-use upload URL and its `PUT`, the reusable download URL, and the
//! check of a signed URL's grant (which `download` uses for `GET`). The URL is the capability:
//! nothing here may accept a signed request without verifying its grant first.

use super::ingest::{cleanup, finish_upload, insert_row, store};
use super::{forbidden_url, max_upload, reserve, Declared, UPLOAD_TTL_S};
use crate::audit;
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::files::{load, FileRow, COLUMNS};
use crate::http::{self, ApiResult, OrInternal};
use crate::{platform, sql};
use edge_core::files::{self as rules, Grant};
use edge_core::json::Checks;
use edge_core::policy::Action;
use edge_core::ApiError;
use serde_json::json;

fn base_url(cx: &Ctx) -> &str {
    &cx.head.base
}

fn expires_at(expires: i64) -> String {
    chrono::DateTime::from_timestamp(expires, 0)
        .map(platform::rfc3339)
        .unwrap_or_default()
}

fn content_path(org_id: &str, id: &str) -> String {
    format!("/v1/orgs/{org_id}/files/{id}/content")
}

/// `POST /v1/orgs/{org}/files/uploads`: a signed, single-use upload URL (10 minutes).
pub async fn create_upload_url(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesWrite)?;
    let body: Declared = body.json().await?;
    let body = body.check(max_upload(cx, &access))?;
    reserve(cx, &access, body.size).await?;
    let db = db::database(&cx.env)?;
    let file = insert_row(
        cx,
        &db,
        &access,
        &body.name,
        &body.content_type,
        body.size,
        "pending",
        cx.config.signed_url_ttl_seconds,
    )
    .await?;
    let expires = platform::now_ms() / 1000 + cx.config.signed_url_ttl_seconds;
    let path = content_path(&access.org_id, &file.id);
    let grant = Grant {
        method: "PUT",
        path: &path,
        org_id: &access.org_id,
        file_id: &file.id,
        size: body.size,
        content_type: &body.content_type,
        expires,
    };
    let signature = grant.sign(cx.config.url_signing_secret.as_bytes());
    let mut url = worker::Url::parse(&format!("{}{path}", base_url(cx))).or_internal("url")?;
    url.query_pairs_mut()
        .append_pair("expires", &expires.to_string())
        .append_pair("size", &body.size.to_string())
        .append_pair("content_type", &body.content_type)
        .append_pair("signature", &signature);
    http::json(
        201,
        &json!({
            "file_id": file.id, "upload_url": url.as_str(), "method": "PUT",
            "headers": {"Content-Type": body.content_type, "Content-Length": body.size.to_string()},
            "expires_at": expires_at(expires),
        }),
    )
}

/// The grant a signed URL's query claims, checked against its signature.
pub(super) fn signed(
    cx: &Ctx,
    method: &str,
    size: u64,
    content_type: &str,
) -> Result<(), ApiError> {
    let org_id = cx.param("org");
    let file_id = cx.param("id");
    let expires: i64 = cx
        .query("expires")
        .and_then(|e| e.parse().ok())
        .ok_or_else(forbidden_url)?;
    let signature = cx.query("signature").ok_or_else(forbidden_url)?;
    let path = &cx.head.path;
    let grant = Grant {
        method,
        path,
        org_id,
        file_id,
        size,
        content_type,
        expires,
    };
    grant
        .verify(
            cx.config.url_signing_secret.as_bytes(),
            &signature,
            platform::now_ms() / 1000,
        )
        .map_err(|why| {
            worker::console_log!(
                "{}",
                json!({"level": "info", "msg": "signed url refused", "why": why, "request_id": cx.request_id})
            );
            forbidden_url()
        })
}

/// `PUT /v1/orgs/{org}/files/{id}/content?…&signature=`: the upload a signed URL allows,
/// once. No credential: the URL is the capability.
pub async fn signed_upload(body: Body, cx: &Ctx) -> ApiResult {
    let size: u64 = cx
        .query("size")
        .and_then(|s| s.parse().ok())
        .ok_or_else(forbidden_url)?;
    let content_type = cx.query("content_type").ok_or_else(forbidden_url)?;
    signed(cx, "PUT", size, &content_type)?;
    let mut c = Checks::new();
    let sent_type = cx.header("Content-Type");
    c.check(
        sent_type
            .as_deref()
            .and_then(|t| rules::content_type(t).ok())
            == Some(content_type.clone()),
        "Content-Type",
        format!("must be {content_type}, as the upload URL was made for"),
    );
    let sent_len = cx.header("Content-Length");
    if sent_len.is_none() {
        return Err(ApiError::length_required(
            "Uploads need a Content-Length header (chunked bodies are not accepted).",
        ));
    }
    c.check(
        sent_len.as_deref().map(str::trim) == Some(size.to_string().as_str()),
        "Content-Length",
        format!("must be {size}, as the upload URL was made for"),
    );
    c.finish()?;
    let db = db::database(&cx.env)?;
    // Single use: only one request moves the file out of `pending`.
    let now = platform::now();
    let file: Option<FileRow> = db::first(sql!(
        db,
        &format!(
            "UPDATE files SET status = 'uploading', updated_at = ?3, expires_at = ?4 \
             WHERE id = ?1 AND org_id = ?2 AND status = 'pending' AND size = ?5 AND content_type = ?6 \
             RETURNING {COLUMNS}"
        ),
        cx.param("id"),
        cx.param("org"),
        platform::rfc3339(now),
        platform::rfc3339(now + chrono::Duration::seconds(UPLOAD_TTL_S)),
        size as i64,
        &content_type
    ))
    .await?;
    let file = file.ok_or_else(forbidden_url)?;
    let sha = store(body.raw(), cx, &db, &file, Some("pending")).await?;
    let actor = audit::Actor {
        kind: "signed_url",
        id: Some(file.uploader_id.clone()),
    };
    let result = finish_upload(cx, &db, &file, "uploading", &sha, actor).await;
    if result.is_err() {
        cleanup(cx, &db, &file, "uploading").await;
    }
    result
}

/// `POST /v1/orgs/{org}/files/{id}/download-url`: a signed GET URL (10 minutes, reusable
/// until then so players can make range requests).
pub async fn download_url(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesRead)?;
    let db = db::database(&cx.env)?;
    let file = load(&db, &access.org_id, cx.param("id"), "ready").await?;
    let expires = platform::now_ms() / 1000 + cx.config.signed_url_ttl_seconds;
    let path = content_path(&access.org_id, &file.id);
    let signature = Grant {
        method: "GET",
        path: &path,
        org_id: &access.org_id,
        file_id: &file.id,
        size: file.size(),
        content_type: &file.content_type,
        expires,
    }
    .sign(cx.config.url_signing_secret.as_bytes());
    let url = format!(
        "{}{path}?expires={expires}&signature={signature}",
        base_url(cx)
    );
    http::json(200, &json!({"url": url, "expires_at": expires_at(expires)}))
}
