//! One document: create (quota, first version), read (`If-None-Match` → 304), patch
//! (`If-Match` → 412, a new version in the same batch), soft delete and restore, each change
//! announced to the room `doc:{id}`. Versions, shares and listing live in their own modules.

use super::row::{
    actor_id, doc_event, doc_outbox, load, load_live, not_found, require_edit, with_doc_headers,
    DocRow, DOC_COLUMNS,
};
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::sql;
use crate::{events, idempotency, platform, realtime};
use edge_core::documents::{self as rules, CONTENT_MAX_BYTES, STATUSES, TITLE_MAX};
use edge_core::ids::{self, IdKind};
use edge_core::json::Checks;
use edge_core::limits;
use edge_core::policy::Action;
use edge_core::ApiError;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    title: String,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

fn check_fields(
    title: Option<&str>,
    content: Option<&str>,
    status: Option<&str>,
) -> Result<(), ApiError> {
    let mut c = Checks::new();
    if let Some(t) = title {
        c.length("title", t.trim(), 1, TITLE_MAX);
        c.check(
            !t.chars().any(char::is_control),
            "title",
            "must not contain control characters",
        );
    }
    if let Some(body) = content {
        c.check(
            body.len() <= CONTENT_MAX_BYTES,
            "content",
            "must be at most 512 KiB",
        );
    }
    if let Some(s) = status {
        c.check(
            STATUSES.contains(&s),
            "status",
            "must be draft, published or archived",
        );
    }
    c.finish()
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let bytes = body.json_bytes().await?;
    idempotency::run(cx, &access, &bytes, || create_doc(cx, &access, &bytes)).await
}

async fn create_doc(cx: &Ctx, access: &OrgAccess, bytes: &[u8]) -> ApiResult {
    let body: CreateBody = edge_core::json::decode(bytes)?;
    check_fields(
        Some(&body.title),
        body.content.as_deref(),
        body.status.as_deref(),
    )?;
    let month = limits::month(platform::now_ms());
    let quota = cx.config.limits.plan(access.plan).documents_per_month;
    let used =
        crate::limits::consume(&cx.env, &access.org_id, "documents", &month, quota, 1).await?;
    let crossed = events::quota_crossed(&access.org_id, "documents", used, 1, quota, &month);

    let db = db::database(&cx.env)?;
    let now = platform::rfc3339(platform::now());
    let doc = DocRow {
        id: platform::new_id(IdKind::Document),
        org_id: access.org_id.clone(),
        title: body.title.trim().to_owned(),
        content: body.content.unwrap_or_default(),
        status: body.status.unwrap_or_else(|| "draft".to_owned()),
        version: 1,
        owner_id: actor_id(access),
        created_at: now.clone(),
        updated_at: now,
        deleted_at: None,
    };
    let claim = platform::claim();
    let event = doc_outbox(
        &doc.org_id,
        "document.created",
        &doc.id,
        &claim,
        &doc.owner_id,
    );
    let mut stmts = vec![
            sql!(
                db,
                "INSERT INTO documents (id, org_id, title, content, status, version, owner_id, created_at, updated_at, last_request_id) \
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7, ?8)",
                &doc.id,
                &doc.org_id,
                &doc.title,
                &doc.content,
                &doc.status,
                &doc.owner_id,
                &doc.created_at,
                &claim
            )?,
            sql!(
                db,
                "INSERT INTO document_versions (doc_id, version, title, content, status, author_id, created_at) \
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)",
                &doc.id,
                &doc.title,
                &doc.content,
                &doc.status,
                &doc.owner_id,
                &doc.created_at
            )?,
        ];
    let at = events::append(&mut stmts, &db, &event)?;
    let crossed_at = match &crossed {
        Some(q) => Some(events::append(&mut stmts, &db, q)?),
        None => None,
    };
    let results = match db::batch(&db, stmts).await {
        Ok(results) => results,
        Err(e) => {
            let _ = crate::limits::release(&cx.env, &access.org_id, "documents", &month, 1).await;
            return Err(http::internal("create document", e));
        }
    };
    if events::fanned_out(&results, at) {
        events::committed(cx, &[&event]);
    }
    if let (Some(q), Some(at)) = (&crossed, crossed_at) {
        if events::fanned_out(&results, at) {
            events::committed(cx, &[q]);
        }
    }
    realtime::publish(
        cx,
        &access.org_id,
        format!("doc:{}", doc.id),
        doc_event("document.updated", &doc, &doc.owner_id),
    );
    let mut resp = with_doc_headers(http::json(201, &doc.public())?, &doc);
    let _ = resp.headers_mut().set(
        "Location",
        &format!("/v1/orgs/{}/documents/{}", access.org_id, doc.id),
    );
    Ok(resp)
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let db = db::database(&cx.env)?;
    // The document is read at the same time as the caller's access (one round trip); it is
    // used only once access is granted.
    let (org, id) = (cx.param("org"), cx.param("id"));
    let read = ids::is_id(IdKind::Document, id).then(|| {
        sql!(
            db,
            &format!("SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1 AND org_id = ?2"),
            id,
            org
        )
    });
    let (access, doc) = auth::org_access_reading::<DocRow>(cx, org, read).await?;
    access.require(Action::DocumentsRead)?;
    let doc = doc?
        .filter(|d| d.deleted_at.is_none())
        .ok_or_else(not_found)?;
    if let Some(inm) = cx.header("If-None-Match") {
        if rules::matches_weak(&inm, &doc.etag()) {
            return Ok(with_doc_headers(http::empty(304), &doc));
        }
    }
    Ok(with_doc_headers(http::json(200, &doc.public())?, &doc))
}

pub async fn patch(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    let body: PatchBody = edge_core::json::decode(&body.json_bytes().await?)?;
    check_fields(
        body.title.as_deref(),
        body.content.as_deref(),
        body.status.as_deref(),
    )?;
    let if_match = cx.header("If-Match");
    if let Some(m) = &if_match {
        if !rules::matches(m, &doc.etag()) {
            return Err(precondition_failed(&doc));
        }
    }
    if body.title.is_none() && body.content.is_none() && body.status.is_none() {
        // Nothing to change: no new version.
        return Ok(with_doc_headers(http::json(200, &doc.public())?, &doc));
    }
    let expected = if_match.as_ref().map(|_| doc.version);
    let author = actor_id(&access);
    let now = platform::rfc3339(platform::now());
    let claim = platform::claim(); // ties the version row to this very update
                                   // One batch: the update bumps the version (only from the expected one, under If-Match),
                                   // and the version row copies exactly the state this request produced. D1 runs batches one
                                   // at a time, so concurrent PATCHes get dense, unique versions and none is lost.
    let event = doc_outbox(&access.org_id, "document.updated", &doc.id, &claim, &author);
    let mut stmts = vec![
            sql!(
                db,
                "UPDATE documents SET title = COALESCE(?3, title), content = COALESCE(?4, content), \
                 status = COALESCE(?5, status), version = version + 1, updated_at = ?6, last_request_id = ?7 \
                 WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL AND (?8 IS NULL OR version = ?8) \
                 RETURNING id, org_id, title, content, status, version, owner_id, created_at, updated_at, deleted_at",
                &doc.id,
                &access.org_id,
                body.title.as_deref().map(str::trim),
                body.content.as_deref(),
                body.status.as_deref(),
                &now,
                &claim,
                expected
            )?,
            sql!(
                db,
                "INSERT INTO document_versions (doc_id, version, title, content, status, author_id, created_at) \
                 SELECT id, version, title, content, status, ?3, updated_at FROM documents \
                 WHERE id = ?1 AND last_request_id = ?2",
                &doc.id,
                &claim,
                &author
            )?,
        ];
    let at = events::append(&mut stmts, &db, &event)?;
    let results = db::batch(&db, stmts)
        .await
        .map_err(|e| http::internal("update document", e))?;
    // The row this very update produced (a later concurrent one may already be newer).
    let updated: Option<DocRow> = results
        .first()
        .and_then(|r| r.results::<DocRow>().ok())
        .and_then(|rows| rows.into_iter().next());
    let Some(updated) = updated else {
        let current = load(&db, &access.org_id, &doc.id).await?;
        if current.deleted_at.is_some() {
            return Err(not_found());
        }
        return Err(precondition_failed(&current));
    };
    if events::fanned_out(&results, at) {
        events::committed(cx, &[&event]);
    }
    realtime::publish(
        cx,
        &access.org_id,
        format!("doc:{}", doc.id),
        doc_event("document.updated", &updated, &author),
    );
    Ok(with_doc_headers(
        http::json(200, &updated.public())?,
        &updated,
    ))
}

fn precondition_failed(current: &DocRow) -> ApiError {
    ApiError::precondition_failed(format!(
        "The document changed since you read it (now version {}); re-read it and retry.",
        current.version
    ))
    .with_header("ETag", current.etag())
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    let now = platform::rfc3339(platform::now());
    let claim = platform::claim();
    let actor = actor_id(&access);
    let event = doc_outbox(&access.org_id, "document.deleted", &doc.id, &claim, &actor);
    let mut stmts = vec![sql!(
        db,
        "UPDATE documents SET deleted_at = ?3, last_request_id = ?4 \
         WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
        &doc.id,
        &access.org_id,
        &now,
        &claim
    )?];
    let at = events::append(&mut stmts, &db, &event)?;
    let results = db::batch(&db, stmts)
        .await
        .map_err(|e| http::internal("delete document", e))?;
    let changed = results.first().map_or(0, db::changes);
    // Of concurrent deletes, only the one that deleted announces it.
    if changed > 0 {
        if events::fanned_out(&results, at) {
            events::committed(cx, &[&event]);
        }
        realtime::publish(
            cx,
            &access.org_id,
            format!("doc:{}", doc.id),
            doc_event("document.deleted", &doc, &actor_id(&access)),
        );
    }
    Ok(http::empty(204))
}

pub async fn restore(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    if doc.deleted_at.is_none() {
        // Not deleted: nothing to restore, nothing to announce.
        return Ok(with_doc_headers(http::json(200, &doc.public())?, &doc));
    }
    let claim = platform::claim();
    let event = doc_outbox(
        &access.org_id,
        "document.restored",
        &doc.id,
        &claim,
        &actor_id(&access),
    );
    let mut stmts = vec![sql!(
        db,
        "UPDATE documents SET deleted_at = NULL, last_request_id = ?3 \
         WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NOT NULL",
        &doc.id,
        &access.org_id,
        &claim
    )?];
    let at = events::append(&mut stmts, &db, &event)?;
    let results = db::batch(&db, stmts)
        .await
        .map_err(|e| http::internal("restore document", e))?;
    if results.first().map_or(0, db::changes) > 0 && events::fanned_out(&results, at) {
        events::committed(cx, &[&event]);
    }
    let restored = load(&db, &access.org_id, &doc.id).await?;
    realtime::publish(
        cx,
        &access.org_id,
        format!("doc:{}", doc.id),
        doc_event("document.updated", &restored, &actor_id(&access)),
    );
    Ok(with_doc_headers(
        http::json(200, &restored.public())?,
        &restored,
    ))
}
