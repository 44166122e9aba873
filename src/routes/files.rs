//! Files in R2: streamed uploads (direct, by signed URL, multipart), downloads with ranges and
//! conditional requests, signed download URLs, list, metadata and delete. HTTP only: rows,
//! keys, quota and removal are the domain's (`crate::files`).

use crate::audit::{self, Event};
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::files::{self as domain, abort, load, not_found, purge, unreserve, FileRow, COLUMNS};
use crate::http::{self, ApiResult, OrInternal};
use crate::jobs::{self, NewJob};
use crate::list::Page;
use crate::storage::{self, Incoming};
use crate::{platform, sql};
use edge_core::files::{self as rules, Grant, RangeAnswer};
use edge_core::ids::IdKind;
use edge_core::json::Checks;
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Request, Response, UploadedPart};

/// A file as the API shows it.
fn public(file: &FileRow) -> Value {
    json!({
        "id": file.id, "name": file.name, "size": file.size,
        "content_type": file.content_type, "sha256": file.sha256,
        "uploaded_by": file.uploader_id, "created_at": file.created_at,
    })
}

/// How long a direct or signed upload may take before the sweep treats it as abandoned.
const UPLOAD_TTL_S: i64 = 2 * 3600;

fn forbidden_url() -> ApiError {
    ApiError::forbidden("This signed URL is invalid, expired or already used.")
}

fn location(org_id: &str, id: &str) -> String {
    format!("/v1/orgs/{org_id}/files/{id}")
}

/// Takes `size` bytes of the organization's storage quota (its plan's).
async fn reserve(cx: &Ctx, access: &OrgAccess, size: u64) -> Result<(), ApiError> {
    let quota = cx.config.limits.plan(access.plan).storage_bytes;
    domain::reserve(&cx.env, &access.org_id, quota, size).await
}

/// The largest file this organization may store in one piece.
fn max_upload(cx: &Ctx, access: &OrgAccess) -> u64 {
    cx.config
        .max_upload_bytes
        .min(cx.config.limits.plan(access.plan).max_upload_bytes)
}

/// The media type of an upload body: required, valid.
fn body_content_type(cx: &Ctx) -> Result<String, ApiError> {
    let raw = cx.header("Content-Type");
    let raw = raw.ok_or_else(|| {
        ApiError::unsupported_media_type("Uploads need a Content-Type header (the file's type).")
    })?;
    rules::content_type(&raw)
        .map_err(|m| ApiError::unsupported_media_type(format!("Content-Type {m}.")))
}

fn declared_length(cx: &Ctx, max: u64) -> Result<u64, ApiError> {
    let header = cx.header("Content-Length");
    rules::declared_length(header.as_deref(), max)
}

/// Marks an uploaded file ready, queues its `file.process` job and records the upload, in one
/// batch; then sends the job's message. `from` is the state the upload was in.
async fn finish_upload(
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
async fn insert_row(
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
async fn store(
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

/// Removes what a failed finish left: the object and the row (releasing its quota).
async fn cleanup(cx: &Ctx, db: &D1Database, file: &FileRow, status: &str) {
    if let (Ok(bucket), Ok(key)) = (storage::bucket(&cx.env), file.key()) {
        storage::delete(&bucket, &key).await;
    }
    let _ = purge(&cx.env, db, &file.id, status).await;
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    name: String,
    content_type: String,
    size: u64,
}

impl Declared {
    fn check(self, max: u64) -> Result<Self, ApiError> {
        let name = rules::name(&self.name);
        let content_type = rules::content_type(&self.content_type);
        let mut c = Checks::new();
        if let Err(m) = &name {
            c.check(false, "name", *m);
        }
        if let Err(m) = &content_type {
            c.check(false, "content_type", *m);
        }
        c.finish()?;
        rules::check_size(self.size, max)?;
        Ok(Self {
            name: name.unwrap_or_default(),
            content_type: content_type.unwrap_or_default(),
            size: self.size,
        })
    }
}

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
fn signed(cx: &Ctx, method: &str, size: u64, content_type: &str) -> Result<(), ApiError> {
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

// ---------------------------------------------------------------------------------------
// Multipart uploads. The upload is addressed by its file id; parts are numbered from 1 and
// all have `part_size` bytes except the last. A part sent again replaces the earlier one, so
// an interrupted upload resumes by asking which parts are there and sending the rest.

fn upload_public(file: &FileRow, parts: &[PartRow]) -> Value {
    let part_size = file
        .part_size
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(rules::DEFAULT_PART_SIZE);
    json!({
        "upload_id": file.id, "file_id": file.id, "name": file.name,
        "content_type": file.content_type, "size": file.size, "part_size": part_size,
        "part_count": rules::part_count(file.size(), part_size),
        "parts": parts.iter().map(|p| json!({"part_number": p.part_number, "size": p.size, "etag": p.etag})).collect::<Vec<_>>(),
        "expires_at": file.expires_at,
    })
}

#[derive(Debug, Deserialize)]
struct PartRow {
    part_number: i64,
    size: i64,
    etag: String,
}

async fn parts_of(db: &D1Database, file_id: &str) -> Result<Vec<PartRow>, ApiError> {
    db::all(sql!(
        db,
        "SELECT part_number, size, etag FROM file_parts WHERE file_id = ?1 ORDER BY part_number",
        file_id
    ))
    .await
}

/// `POST /v1/orgs/{org}/files/multipart` `{name, content_type, size}`.
pub async fn multipart_create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesWrite)?;
    let body: Declared = body.json().await?;
    let body = body.check(max_upload(cx, &access))?;
    reserve(cx, &access, body.size).await?;
    let db = db::database(&cx.env)?;
    let mut file = insert_row(
        cx,
        &db,
        &access,
        &body.name,
        &body.content_type,
        body.size,
        "pending",
        cx.config.multipart_ttl_seconds,
    )
    .await?;
    let bucket = storage::bucket(&cx.env)?;
    let created = bucket
        .create_multipart_upload(file.key()?)
        .http_metadata(worker::HttpMetadata {
            content_type: Some(body.content_type.clone()),
            ..Default::default()
        })
        .execute()
        .await;
    let upload = match created {
        Ok(u) => u,
        Err(e) => {
            let _ = purge(&cx.env, &db, &file.id, "pending").await;
            return Err(http::internal("R2 create multipart", e));
        }
    };
    let upload_id = upload.upload_id().await;
    let part_size = rules::part_size(body.size);
    db::run(sql!(
        db,
        "UPDATE files SET status = 'multipart', upload_id = ?2, part_size = ?3 WHERE id = ?1 AND status = 'pending'",
        &file.id,
        &upload_id,
        part_size as i64
    ))
    .await?;
    file.status = "multipart".into();
    file.upload_id = Some(upload_id);
    file.part_size = Some(part_size as i64);
    let mut resp = http::json(201, &upload_public(&file, &[]))?;
    let _ = resp.headers_mut().set(
        "Location",
        &format!("/v1/orgs/{}/files/multipart/{}", file.org_id, file.id),
    );
    Ok(resp)
}

async fn open_upload(cx: &Ctx) -> Result<(OrgAccess, D1Database, FileRow), ApiError> {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::FilesWrite)?;
    let db = db::database(&cx.env)?;
    let file = load(&db, &access.org_id, cx.param("upload"), "multipart")
        .await
        .map_err(|_| ApiError::not_found("No such multipart upload."))?;
    Ok((access, db, file))
}

/// `GET /v1/orgs/{org}/files/multipart/{upload}`: the upload and the parts received so far.
pub async fn multipart_get(cx: &Ctx) -> ApiResult {
    let (_, db, file) = open_upload(cx).await?;
    let parts = parts_of(&db, &file.id).await?;
    http::json(200, &upload_public(&file, &parts))
}

/// `PUT /v1/orgs/{org}/files/multipart/{upload}/parts/{n}`: one part, streamed.
pub async fn multipart_part(body: Body, cx: &Ctx) -> ApiResult {
    let (_, db, file) = open_upload(cx).await?;
    let part_size = file
        .part_size
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(rules::DEFAULT_PART_SIZE);
    let count = rules::part_count(file.size(), part_size);
    let n: u64 = cx.param("n").parse().unwrap_or(0);
    let expected = rules::part_length(file.size(), part_size, n).ok_or_else(|| {
        ApiError::validation_failed("No such part number.")
            .with_errors(vec![FieldError::new("n", format!("must be 1 to {count}"))])
    })?;
    let length = declared_length(cx, u64::MAX)?;
    if length != expected {
        return Err(ApiError::validation_failed(format!(
            "Part {n} must be exactly {expected} bytes (parts are {part_size} bytes, the last one the rest)."
        ))
        .with_errors(vec![FieldError::new("Content-Length", format!("must be {expected}"))]));
    }
    let (key, upload_id) = file.upload_key_and_id()?;
    let bucket = storage::bucket(&cx.env)?;
    let etag = Incoming::new(body.raw(), length)?
        .put_part(&bucket, &key, &upload_id, n as u16)
        .await?;
    let now = platform::rfc3339(platform::now());
    let stored = db::run(sql!(
        db,
        "INSERT INTO file_parts (file_id, part_number, etag, size, created_at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM files WHERE id = ?1 AND status = 'multipart') \
         ON CONFLICT (file_id, part_number) DO UPDATE SET etag = excluded.etag, size = excluded.size, \
         created_at = excluded.created_at",
        &file.id,
        n as i64,
        &etag,
        length as i64,
        &now
    ))
    .await?;
    if stored == 0 {
        return Err(ApiError::not_found("No such multipart upload."));
    }
    http::json(
        200,
        &json!({"part_number": n, "size": length, "etag": etag}),
    )
}

/// `POST /v1/orgs/{org}/files/multipart/{upload}/complete`: assembles the parts (all must be
/// there), hashes the result as a stream, and makes the file ready.
pub async fn multipart_complete(cx: &Ctx) -> ApiResult {
    let (access, db, file) = open_upload(cx).await?;
    let part_size = file
        .part_size
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(rules::DEFAULT_PART_SIZE);
    let count = rules::part_count(file.size(), part_size);
    let parts = parts_of(&db, &file.id).await?;
    let missing: Vec<u64> = (1..=count)
        .filter(|n| !parts.iter().any(|p| p.part_number == *n as i64))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::conflict(format!(
            "Parts {missing:?} have not been uploaded yet; upload them and complete again."
        ))
        .with_extension("missing_parts", json!(missing)));
    }
    // Claim the completion so two concurrent completes cannot both assemble.
    let claimed = db::run(sql!(
        db,
        "UPDATE files SET status = 'uploading', updated_at = ?2 WHERE id = ?1 AND status = 'multipart'",
        &file.id,
        platform::rfc3339(platform::now())
    ))
    .await?;
    if claimed == 0 {
        return Err(ApiError::not_found("No such multipart upload."));
    }
    let (key, upload_id) = file.upload_key_and_id()?;
    let bucket = storage::bucket(&cx.env)?;
    let mut completed = false;
    let assembled = async {
        let upload = bucket
            .resume_multipart_upload(&key, &upload_id)
            .or_internal("resume multipart")?;
        let uploaded: Vec<UploadedPart> = parts
            .iter()
            .map(|p| UploadedPart::new(p.part_number as u16, p.etag.clone()))
            .collect();
        upload.complete(uploaded).await.or_internal("R2 complete")?;
        completed = true;
        storage::sha256_of(&bucket, &key).await
    }
    .await;
    let (sha, size) = match assembled {
        Ok(done) => done,
        // R2 assembled the object but what follows failed: the upload id is spent, so the
        // object, the row and the reserved storage go (nothing is left orphaned).
        Err(e) if completed => {
            cleanup(cx, &db, &file, "uploading").await;
            return Err(e);
        }
        Err(e) => {
            // Back to open: the client may retry the completion.
            let _ = db::run(sql!(
                db,
                "UPDATE files SET status = 'multipart' WHERE id = ?1 AND status = 'uploading'",
                &file.id
            ))
            .await;
            return Err(e);
        }
    };
    if size != file.size() {
        cleanup(cx, &db, &file, "uploading").await;
        return Err(http::internal(
            "multipart",
            "assembled size differs from the declared size",
        ));
    }
    let result = finish_upload(cx, &db, &file, "uploading", &sha, access.actor()).await;
    if result.is_err() {
        cleanup(cx, &db, &file, "uploading").await;
    }
    result
}

/// `DELETE /v1/orgs/{org}/files/multipart/{upload}`: aborts the upload and frees its storage.
pub async fn multipart_abort(cx: &Ctx) -> ApiResult {
    let (_, db, file) = open_upload(cx).await?;
    if !abort(&cx.env, &db, &file).await? {
        return Err(ApiError::not_found("No such multipart upload."));
    }
    Ok(http::empty(204))
}
