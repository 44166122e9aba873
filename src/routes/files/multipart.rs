//! Multipart uploads: create, inspect, send a part, complete, abort. The upload is addressed by
//! its file id; parts are numbered from 1 and all have `part_size` bytes except the last. A
//! part sent again replaces the earlier one, so an interrupted upload resumes by asking which
//! parts are there and sending the rest. Aborting is the domain's (`crate::files::abort`).

use super::ingest::{cleanup, finish_upload, insert_row};
use super::{declared_length, max_upload, reserve, Declared};
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::files::{abort, load, purge, FileRow};
use crate::http::{self, ApiResult, OrInternal};
use crate::storage::{self, Incoming};
use crate::{platform, sql};
use edge_core::files as rules;
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, UploadedPart};

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
