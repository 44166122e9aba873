//! The document row and what every document handler shares: loading a document of the
//! caller's organization, the owner/share edit check, the ETag header and the room event.
//! A leaf of `routes::documents`: it handles no route and imports none of its siblings.

use crate::auth::{self, OrgAccess};
use crate::db;
use crate::platform;
use crate::sql;
use edge_core::documents::{self as rules, Share};
use edge_core::ids::{self, IdKind};
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{D1Database, Response};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(in crate::routes) struct DocRow {
    pub(in crate::routes) id: String,
    pub(in crate::routes) org_id: String,
    pub(in crate::routes) title: String,
    pub(in crate::routes) content: String,
    pub(in crate::routes) status: String,
    pub(in crate::routes) version: i64,
    pub(in crate::routes) owner_id: String,
    pub(in crate::routes) created_at: String,
    pub(in crate::routes) updated_at: String,
    pub(in crate::routes) deleted_at: Option<String>,
}

impl DocRow {
    pub(super) fn public(&self) -> Value {
        json!({
            "id": self.id, "org_id": self.org_id, "title": self.title, "content": self.content,
            "status": self.status, "version": self.version, "owner_id": self.owner_id,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }

    pub(super) fn summary(&self) -> Value {
        json!({
            "id": self.id, "org_id": self.org_id, "title": self.title, "status": self.status,
            "version": self.version, "owner_id": self.owner_id,
            "created_at": self.created_at, "updated_at": self.updated_at,
        })
    }

    pub(super) fn etag(&self) -> String {
        rules::etag(&self.id, self.version)
    }
}

pub(super) const DOC_COLUMNS: &str =
    "id, org_id, title, content, status, version, owner_id, created_at, updated_at, deleted_at";

pub(in crate::routes) fn not_found() -> ApiError {
    ApiError::not_found("No such document.")
}

pub(super) fn actor_id(access: &OrgAccess) -> String {
    match &access.credential {
        auth::Credential::User { user_id, .. } => user_id.clone(),
        auth::Credential::ApiKey(k) => k.id.clone(),
    }
}

/// The document `id` of the caller's organization, deleted or not.
pub(in crate::routes) async fn load(
    db: &D1Database,
    org_id: &str,
    id: &str,
) -> Result<DocRow, ApiError> {
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

pub(in crate::routes) async fn load_live(
    db: &D1Database,
    org_id: &str,
    id: &str,
) -> Result<DocRow, ApiError> {
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

pub(in crate::routes) async fn require_edit(
    db: &D1Database,
    access: &OrgAccess,
    doc: &DocRow,
) -> Result<(), ApiError> {
    let is_owner = doc.owner_id == actor_id(access);
    let share = share_of(db, &doc.id, access.user_id()).await?;
    rules::can_edit(access.principal(), is_owner, share).map_err(|d| ApiError::forbidden(d.0))
}

pub(super) fn with_doc_headers(mut resp: Response, doc: &DocRow) -> Response {
    let _ = resp.headers_mut().set("ETag", &doc.etag());
    resp
}

pub(super) fn doc_event(kind: &str, doc: &DocRow, actor: &str) -> Value {
    json!({"type": kind, "document": doc.summary(), "by": actor, "ts": platform::rfc3339(platform::now())})
}

/// The event `ty` of the document row this request's claim marks (`crate::events::document`).
pub(super) use crate::events::document as doc_outbox;
