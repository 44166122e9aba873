//! `GET /v1/orgs/{org}/audit-log` (newest first) and `…/audit-log/verify`, which re-computes
//! the organization's hash chain and names the first entry that was altered.

use crate::audit;
use crate::auth;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::sql;
use edge_core::audit::{PagedVerify, StoredEntry};
use edge_core::policy::Action;
use serde_json::{json, Value};

fn public(s: &StoredEntry) -> Value {
    let e = &s.entry;
    json!({
        "seq": e.seq,
        "action": e.action,
        "actor": {"type": e.actor_type, "id": e.actor_id},
        "target": e.target_type.as_ref().map(|t| json!({"type": t, "id": e.target_id})),
        "ip": e.ip,
        "request_id": e.request_id,
        "details": serde_json::from_str::<Value>(&e.details).unwrap_or(Value::Null),
        "created_at": e.created_at,
        "hash": s.hash,
        "prev_hash": s.prev_hash,
        "pii_digest": e.pii_digest,
        "pii_salt": e.pii_salt,
    })
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::AuditRead)?;
    let page = Page::from_query(cx, "audit", &access.org_id)?;
    let before_seq: i64 = page.after_number().unwrap_or(i64::MAX);
    let db = db::database(&cx.env)?;
    let rows: Vec<StoredEntry> = db::all(sql!(
        db,
        "SELECT * FROM audit_log WHERE org_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3",
        &access.org_id,
        before_seq,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |e| (e.entry.seq.to_string(), String::new()),
        public,
    )
}

/// `GET …/audit-log/verify`: the chain re-computed in keyset pages (`AUDIT_VERIFY_PAGE_SIZE`,
/// default 500), carrying the previous hash across pages: bounded memory for any length.
/// A broken chain stops the reading; its length and head then come from one count.
pub async fn verify(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::AuditRead)?;
    let db = db::database(&cx.env)?;
    let raw = cx
        .env
        .var("AUDIT_VERIFY_PAGE_SIZE")
        .ok()
        .map(|v| v.to_string());
    let page_size = edge_core::audit::verify_page_size(raw.as_deref());
    let mut check = PagedVerify::default();
    let mut pages = 0u32;
    loop {
        let page = audit::chain_page(&db, &access.org_id, check.after_seq(), page_size).await?;
        pages += 1;
        if !check.feed(&page, page_size) {
            break;
        }
    }
    let (entries, head) = if check.broken.is_some() {
        audit::chain_extent(&db, &access.org_id).await?
    } else {
        (check.entries, check.head.clone())
    };
    let result = check.result();
    http::json(
        200,
        &json!({
            "valid": result.is_ok(),
            "entries": entries,
            "first_invalid_seq": result.err(),
            "head": head,
            "pages": pages,
        }),
    )
}
