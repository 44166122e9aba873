//! `GET …/documents`: the live documents of an organization, newest first by cursor, or with
//! `q` a full-text search ranked best match first. Read-only: it changes no document.

use super::row::{DocRow, DOC_COLUMNS};
use crate::auth::{self, OrgAccess};
use crate::ctx::Ctx;
use crate::db;
use crate::http::ApiResult;
use crate::list::Page;
use crate::sql;
use edge_core::documents::{self as rules, STATUSES};
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use worker::D1Database;

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
