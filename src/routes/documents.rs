//! Documents: CRUD with versions written in the same batch as each change, soft delete and
//! restore, sharing, conditional requests (strong ETags, `If-Match` → 412, `If-None-Match` →
//! 304), cursor pagination and full-text search, the monthly documents quota on create, and
//! `document.updated` / `document.deleted` published to the room `doc:{id}`.

use crate::audit;
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::sql;
use crate::{idempotency, platform, realtime};
use edge_core::documents::{self as rules, Share, CONTENT_MAX_BYTES, STATUSES, TITLE_MAX};
use edge_core::ids::{self, IdKind};
use edge_core::json::Checks;
use edge_core::limits;
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{D1Database, Response};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DocRow {
    id: String,
    org_id: String,
    title: String,
    content: String,
    status: String,
    version: i64,
    owner_id: String,
    created_at: String,
    updated_at: String,
    deleted_at: Option<String>,
}

impl DocRow {
    fn public(&self) -> Value {
        json!({
            "id": self.id, "org_id": self.org_id, "title": self.title, "content": self.content,
            "status": self.status, "version": self.version, "owner_id": self.owner_id,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }

    fn summary(&self) -> Value {
        json!({
            "id": self.id, "org_id": self.org_id, "title": self.title, "status": self.status,
            "version": self.version, "owner_id": self.owner_id,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }

    fn etag(&self) -> String {
        rules::etag(&self.id, self.version)
    }
}

const DOC_COLUMNS: &str =
    "id, org_id, title, content, status, version, owner_id, created_at, updated_at, deleted_at";

fn not_found() -> ApiError {
    ApiError::not_found("No such document.")
}

fn actor_id(access: &OrgAccess) -> String {
    match &access.credential {
        auth::Credential::User { user_id, .. } => user_id.clone(),
        auth::Credential::ApiKey(k) => k.id.clone(),
    }
}

/// The document `id` of the caller's organization, deleted or not.
async fn load(db: &D1Database, org_id: &str, id: &str) -> Result<DocRow, ApiError> {
    if !ids::is_id(IdKind::Document, id) {
        return Err(not_found());
    }
    db::first(sql!(
        db,
        &format!("SELECT {DOC_COLUMNS} FROM documents WHERE id = ?1 AND org_id = ?2"),
        id,
        org_id
    ))
    .await?
    .ok_or_else(not_found)
}

async fn load_live(db: &D1Database, org_id: &str, id: &str) -> Result<DocRow, ApiError> {
    load(db, org_id, id).await.and_then(|d| {
        if d.deleted_at.is_some() {
            Err(not_found())
        } else {
            Ok(d)
        }
    })
}

async fn share_of(
    db: &D1Database,
    doc_id: &str,
    user_id: Option<&str>,
) -> Result<Option<Share>, ApiError> {
    let Some(user_id) = user_id else {
        return Ok(None);
    };
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT permission FROM document_shares WHERE doc_id = ?1 AND user_id = ?2",
        doc_id,
        user_id
    ))
    .await?;
    Ok(row.and_then(|r| r["permission"].as_str().and_then(Share::parse)))
}

async fn require_edit(db: &D1Database, access: &OrgAccess, doc: &DocRow) -> Result<(), ApiError> {
    let is_owner = doc.owner_id == actor_id(access);
    let share = share_of(db, &doc.id, access.user_id()).await?;
    rules::can_edit(access.principal(), is_owner, share).map_err(|d| ApiError::forbidden(d.0))
}

fn with_doc_headers(mut resp: Response, doc: &DocRow) -> Response {
    let _ = resp.headers_mut().set("ETag", &doc.etag());
    resp
}

fn doc_event(kind: &str, doc: &DocRow, actor: &str) -> Value {
    json!({"type": kind, "document": doc.summary(), "by": actor, "ts": platform::rfc3339(platform::now())})
}

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
    crate::limits::consume(&cx.env, &access.org_id, "documents", &month, quota, 1).await?;

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
    let written = db::batch(
        &db,
        vec![
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
                platform::claim()
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
        ],
    )
    .await;
    if let Err(e) = written {
        let _ = crate::limits::release(&cx.env, &access.org_id, "documents", &month, 1).await;
        return Err(http::internal("create document", e));
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
    let results = db::batch(
        &db,
        vec![
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
        ],
    )
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
    let changed = db::run(sql!(
        db,
        "UPDATE documents SET deleted_at = ?3 WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
        &doc.id,
        &access.org_id,
        &now
    ))
    .await?;
    // Of concurrent deletes, only the one that deleted announces it.
    if changed > 0 {
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
    db::run(sql!(
        db,
        "UPDATE documents SET deleted_at = NULL WHERE id = ?1 AND org_id = ?2",
        &doc.id,
        &access.org_id
    ))
    .await?;
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

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let status = cx.query("status");
    if let Some(s) = &status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(
                ApiError::validation_failed("Unknown status.").with_errors(vec![FieldError::new(
                    "status",
                    "must be draft, published or archived",
                )]),
            );
        }
    }
    let db = db::database(&cx.env)?;
    if let Some(q) = cx.query("q") {
        return search(cx, &access, &db, &q, status.as_deref()).await;
    }
    let page = Page::from_query(cx, "documents", &access.org_id)?;
    let (k, i) = page.after_key();
    let rows: Vec<DocRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE org_id = ?1 AND deleted_at IS NULL \
             AND (?2 IS NULL OR status = ?2) AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
             ORDER BY created_at DESC, id DESC LIMIT ?5"
        ),
        &access.org_id,
        status.as_deref(),
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |d| (d.created_at.clone(), d.id.clone()),
        DocRow::summary,
    )
}

/// Full-text search, best match first. Its cursor is a sealed offset into the ranking.
async fn search(
    cx: &Ctx,
    access: &OrgAccess,
    db: &D1Database,
    q: &str,
    status: Option<&str>,
) -> ApiResult {
    let fts = rules::fts_query(q).ok_or_else(|| {
        ApiError::validation_failed("The search text has no words.")
            .with_errors(vec![FieldError::new("q", "must contain at least one word")])
    })?;
    let scope = format!("{}:{q}:{}", access.org_id, status.unwrap_or(""));
    let page = Page::from_query(cx, "search", &scope)?;
    let offset: u32 = page.after_number().unwrap_or(0);
    let rows: Vec<DocRow> = db::all(sql!(
        db,
        "SELECT d.id, d.org_id, d.title, d.content, d.status, d.version, d.owner_id, d.created_at, d.updated_at, d.deleted_at \
         FROM documents_fts f JOIN documents d ON d.rowid = f.rowid \
         WHERE documents_fts MATCH ?1 AND d.org_id = ?2 AND d.deleted_at IS NULL AND (?3 IS NULL OR d.status = ?3) \
         ORDER BY bm25(documents_fts, 10.0, 1.0), d.created_at DESC LIMIT ?4 OFFSET ?5",
        &fts,
        &access.org_id,
        status,
        (page.limit + 1) as u32,
        offset
    ))
    .await?;
    // Ranked results page by offset: the next page starts after this one.
    let next = (offset + page.limit as u32).to_string();
    page.respond(cx, rows, |_| (next.clone(), String::new()), DocRow::summary)
}

#[derive(Debug, Serialize, Deserialize)]
struct VersionRow {
    version: i64,
    title: String,
    content: String,
    status: String,
    author_id: String,
    created_at: String,
}

pub async fn versions(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    let page = Page::from_query(cx, "versions", &doc.id)?;
    let before: i64 = page
        .after
        .as_ref()
        .and_then(|p| p.k.parse().ok())
        .unwrap_or(i64::MAX);
    let rows: Vec<VersionRow> = db::all(sql!(
        db,
        "SELECT version, title, '' AS content, status, author_id, created_at FROM document_versions \
         WHERE doc_id = ?1 AND version < ?2 ORDER BY version DESC LIMIT ?3",
        &doc.id,
        before,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |v| (v.version.to_string(), String::new()),
        |v| json!({"version": v.version, "title": v.title, "status": v.status, "created_at": v.created_at, "author_id": v.author_id}),
    )
}

pub async fn version(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    let n: i64 = cx
        .param("n")
        .parse()
        .map_err(|_| ApiError::not_found("No such version."))?;
    let v: VersionRow = db::first(sql!(
        db,
        "SELECT version, title, content, status, author_id, created_at FROM document_versions WHERE doc_id = ?1 AND version = ?2",
        &doc.id,
        n
    ))
    .await?
    .ok_or_else(|| ApiError::not_found("No such version."))?;
    http::json(
        200,
        &json!({"doc_id": doc.id, "version": v.version, "title": v.title, "content": v.content,
                "status": v.status, "author_id": v.author_id, "created_at": v.created_at}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareBody {
    user_id: String,
    permission: String,
}

pub async fn shares(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    let rows: Vec<Value> = db::all(sql!(
        db,
        "SELECT user_id, permission, created_at FROM document_shares WHERE doc_id = ?1 ORDER BY created_at DESC, user_id DESC",
        &doc.id
    ))
    .await?;
    http::json(200, &json!({"items": rows, "next_cursor": null}))
}

pub async fn share(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    let body: ShareBody = edge_core::json::decode(&body.json_bytes().await?)?;
    let permission = Share::parse(&body.permission)
        .map(|_| body.permission.clone())
        .ok_or_else(|| {
            ApiError::validation_failed("Unknown permission.")
                .with_errors(vec![FieldError::new("permission", "must be view or edit")])
        })?;
    // Only members of this organization can be given a share; anyone else is not found.
    let member: Option<Value> = if ids::is_id(IdKind::User, &body.user_id) {
        db::first(sql!(
            db,
            "SELECT 1 AS one FROM memberships WHERE org_id = ?1 AND user_id = ?2",
            &access.org_id,
            &body.user_id
        ))
        .await?
    } else {
        None
    };
    if member.is_none() {
        return Err(
            ApiError::validation_failed("The user is not a member of this organization.")
                .with_errors(vec![FieldError::new(
                    "user_id",
                    "not a member of this organization",
                )]),
        );
    }
    let now = platform::rfc3339(platform::now());
    let events = [
        audit::Event::new(&access.org_id, "document.shared", access.actor())
            .target("document", &doc.id)
            .details(json!({"user_id": body.user_id, "permission": permission})),
    ];
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "INSERT INTO document_shares (doc_id, user_id, permission, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (doc_id, user_id) DO UPDATE SET permission = excluded.permission \
             RETURNING user_id, permission, created_at",
            &doc.id,
            &body.user_id,
            &permission,
            &now
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    let stored: Option<Value> = results
        .first()
        .and_then(|r| r.results::<Value>().ok())
        .and_then(|rows| rows.into_iter().next());
    let created_at = stored.map_or(json!(now), |s| s["created_at"].clone());
    http::json(
        201,
        &json!({"doc_id": doc.id, "user_id": body.user_id, "permission": permission, "created_at": created_at}),
    )
}

pub async fn unshare(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    let user = cx.param("user");
    let exists: Option<Value> = db::first(sql!(
        db,
        "SELECT 1 AS one FROM document_shares WHERE doc_id = ?1 AND user_id = ?2",
        &doc.id,
        user
    ))
    .await?;
    if exists.is_none() {
        return Err(ApiError::not_found("No such share."));
    }
    let events = [
        audit::Event::new(&access.org_id, "document.unshared", access.actor())
            .target("document", &doc.id)
            .details(json!({"user_id": user})),
    ];
    audit::write(&db, &auth::audit_origin(cx), &events, || {
        Ok(vec![sql!(
            db,
            "DELETE FROM document_shares WHERE doc_id = ?1 AND user_id = ?2",
            &doc.id,
            user
        )?])
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    Ok(http::empty(204))
}
