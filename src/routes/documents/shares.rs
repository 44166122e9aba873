//! Sharing a document with members of its organization (view or edit), listing and removing
//! shares, each change audited. It grants access only: the edit check itself is in `row`.

use super::row::{load_live, require_edit};
use crate::audit;
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::sql;
use edge_core::documents::Share;
use edge_core::ids::{self, IdKind};
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::{json, Value};

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
