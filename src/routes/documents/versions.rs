//! A document's version history: the list (newest first, without content) and one version in
//! full. Read-only: versions are written by the changes in `crud`, never here.

use super::row::load_live;
use crate::auth;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::sql;
use edge_core::policy::Action;
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::json;

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
