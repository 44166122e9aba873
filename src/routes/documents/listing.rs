//! `GET …/documents`: the live documents of an organization, newest first by cursor, or with
//! `q` a full-text search ranked best match first. Read-only: it changes no document.

use super::row::DocRow;
use crate::auth::{self, OrgAccess};
use crate::ctx::Ctx;
use crate::db;
use crate::http::ApiResult;
use crate::list::Page;
use crate::sql;
use edge_core::documents::{self as rules, STATUSES};
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use worker::D1Database;

/// A page of summaries as one row: the JSON array SQL builds (one string crosses into wasm,
/// not an object per row and column), without the content a summary never shows.
#[derive(Deserialize)]
struct SummaryPage {
    items: String,
}

const SUMMARY_PAGE: &str = "SELECT json_group_array(json_object('id', id, 'org_id', org_id, \
     'title', title, 'content', '', 'status', status, 'version', version, 'owner_id', owner_id, \
     'created_at', created_at, 'updated_at', updated_at, 'deleted_at', deleted_at)) AS items \
     FROM (SELECT id, org_id, title, status, version, owner_id, created_at, updated_at, deleted_at \
     FROM documents WHERE org_id = ?1 AND deleted_at IS NULL \
     AND (?2 IS NULL OR status = ?2) AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
     ORDER BY created_at DESC, id DESC LIMIT ?5)";

pub async fn list(cx: &Ctx) -> ApiResult {
    let org = cx.param("org");
    let status = cx.query("status");
    let status_ok = status
        .as_ref()
        .is_none_or(|s| STATUSES.contains(&s.as_str()));
    let q = cx.query("q");
    // The page is read in the authorization batch when the request is a plain listing whose
    // parameters parse; anything else is answered after authorization, as before.
    let page = Page::from_query(cx, "documents", org);
    let read = match (&page, status_ok, &q) {
        (Ok(page), true, None) => {
            let db = db::database(&cx.env)?;
            let (k, i) = page.after_key();
            Some(sql!(
                db,
                SUMMARY_PAGE,
                org,
                status.as_deref(),
                k,
                i,
                (page.limit + 1) as u32
            ))
        }
        _ => None,
    };
    let (access, rows) = auth::org_access_reading::<SummaryPage>(cx, org, read).await?;
    access.require(Action::DocumentsRead)?;
    if !status_ok {
        return Err(
            ApiError::validation_failed("Unknown status.").with_errors(vec![FieldError::new(
                "status",
                "must be draft, published or archived",
            )]),
        );
    }
    let db = db::database(&cx.env)?;
    if let Some(q) = q {
        return search(cx, &access, &db, &q, status.as_deref()).await;
    }
    let page = page?;
    let items = rows?.map(|r| r.items).unwrap_or_default();
    let mut rows: Vec<DocRow> = if items.is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&items).map_err(|e| crate::http::internal("decode page", e))?
    };
    // An aggregate keeps no promised order: the page's own order, restored.
    rows.sort_by(|a, b| (&b.created_at, &b.id).cmp(&(&a.created_at, &a.id)));
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
