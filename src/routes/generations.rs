//! AI generations into a document (`…/documents/{id}/generations…`): create (edit right,
//! `Idempotency-Key`, the user's per-minute generation limit and the org's token quota checked
//! before anything is queued), read, list and cancel. The work itself is `crate::generations`.

use super::documents::row::{load_live, not_found, require_edit};
use crate::auth::{self, OrgAccess};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::generations::repo::{self, GenRow, COLUMNS};
use crate::generations::{self as service, quota};
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::{db, idempotency, platform, sql};
use edge_core::generations::{CreateBody, Spec, Status};
use edge_core::ids::{self, IdKind};
use edge_core::policy::Action;
use edge_core::{limits, ApiError, FieldError};
use serde_json::json;

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    require_edit(&db, &access, &doc).await?;
    let bytes = body.json_bytes().await?;
    let doc_id = doc.id.clone();
    idempotency::run(cx, &access, &bytes, || {
        create_one(cx, &access, &doc_id, &bytes)
    })
    .await
}

async fn create_one(cx: &Ctx, access: &OrgAccess, doc_id: &str, bytes: &[u8]) -> ApiResult {
    let body: CreateBody = edge_core::json::decode(bytes)?;
    let spec = Spec::parse(body, &cx.config.ai, access.plan)?;
    let plan = cx.config.limits.plan(access.plan);
    let actor = access.actor_id();
    crate::limits::enforce(
        &cx.env,
        &access.org_id,
        None,
        "ai_generations",
        &format!("ai:{actor}"),
        plan.ai_generations_per_minute,
        "of AI generations per user",
    )
    .await?;
    let period = limits::month(platform::now_ms());
    let used = quota::used(&cx.env, &access.org_id, quota::KIND, &period).await?;
    if used >= plan.ai_tokens_per_month {
        return Err(ApiError::rate_limited(format!(
            "The ai_tokens quota of this organization's plan is used up ({used} of {}).",
            plan.ai_tokens_per_month
        ))
        .with_extension("quota", json!(quota::KIND))
        .with_extension("limit", json!(plan.ai_tokens_per_month))
        .with_extension("used", json!(used))
        .with_header(
            "Retry-After",
            limits::seconds_until_period_end(&period, platform::now_ms()).to_string(),
        ));
    }
    let db = db::database(&cx.env)?;
    let now = platform::rfc3339(platform::now());
    let row = GenRow {
        id: platform::new_id(IdKind::Generation),
        org_id: access.org_id.clone(),
        doc_id: doc_id.to_owned(),
        user_id: actor,
        prompt_chars: spec.prompt.chars().count() as i64,
        prompt_sha256: edge_core::encoding::hex(&edge_core::signature::sha256(
            spec.prompt.as_bytes(),
        )),
        prompt: spec.prompt,
        mode: spec.mode.as_str().to_owned(),
        position: matches!(spec.mode, edge_core::generations::Mode::InsertAt)
            .then_some(spec.position as i64),
        model: spec.model,
        max_tokens: i64::from(spec.max_tokens),
        token_limit: plan.ai_tokens_per_month.min(quota::UNLIMITED) as i64,
        temperature: spec.temperature,
        status: Status::Queued.as_str().to_owned(),
        cancel_requested: 0,
        attempts: 0,
        text_so_far: String::new(),
        chunks: 0,
        tokens_reserved: 0,
        prompt_tokens: None,
        completion_tokens: None,
        tokens_estimated: 0,
        error: None,
        doc_version: None,
        lease_until: None,
        created_at: now.clone(),
        updated_at: now,
        started_at: None,
        finished_at: None,
    };
    db::run(repo::insert_stmt(&db, &row)).await?;
    if let Err(e) = service::send(&cx.env, &row.id).await {
        let _ = db::run(sql!(db, "DELETE FROM generations WHERE id = ?1", &row.id)).await;
        let _ = e;
        return Err(ApiError::unavailable(
            "The generation could not be queued; nothing was created. Try again.",
        )
        .with_header("Retry-After", "1"));
    }
    let mut resp = http::json(202, &row.public())?;
    let _ = resp.headers_mut().set(
        "Location",
        &format!(
            "/v1/orgs/{}/documents/{}/generations/{}",
            row.org_id, row.doc_id, row.id
        ),
    );
    Ok(resp)
}

/// The generation `{gen}` of document `{id}` of the caller's organization, or 404.
async fn load(cx: &Ctx, access: &OrgAccess) -> Result<GenRow, ApiError> {
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    let id = cx.param("gen");
    let missing = || ApiError::not_found("No such generation.");
    if !ids::is_id(IdKind::Generation, id) {
        return Err(missing());
    }
    repo::get(&db, id)
        .await?
        .filter(|g| g.org_id == access.org_id && g.doc_id == doc.id)
        .ok_or_else(missing)
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let row = load(cx, &access).await?;
    http::json(200, &row.public())
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsRead)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id")).await?;
    let status = match cx.query("status") {
        None => None,
        Some(s) => Some(Status::parse(&s).ok_or_else(|| {
            ApiError::validation_failed("Unknown status.").with_errors(vec![FieldError::new(
                "status",
                "must be queued, running, succeeded, failed or cancelled",
            )])
        })?),
    };
    let scope = format!("{}/{}", access.org_id, doc.id);
    let page = Page::from_query(cx, "generations", &scope)?;
    let (k, i) = page.after_key();
    let rows: Vec<GenRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {COLUMNS} FROM generations WHERE org_id = ?1 AND doc_id = ?2 \
             AND (?3 IS NULL OR status = ?3) AND (created_at < ?4 OR (created_at = ?4 AND id < ?5)) \
             ORDER BY created_at DESC, id DESC LIMIT ?6"
        ),
        &access.org_id,
        &doc.id,
        status.map(Status::as_str),
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |r| (r.created_at.clone(), r.id.clone()),
        GenRow::public,
    )
}

pub async fn cancel(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::DocumentsWrite)?;
    let db = db::database(&cx.env)?;
    let doc = load_live(&db, &access.org_id, cx.param("id"))
        .await
        .map_err(|_| not_found())?;
    require_edit(&db, &access, &doc).await?;
    let row = load(cx, &access).await?;
    let now = platform::rfc3339(platform::now());
    let after = repo::request_cancel(&db, &row.id, &now).await?;
    if after.as_ref().is_some_and(|r| r.status == "running") {
        // From the room's answer on, it refuses this generation's deltas.
        let body = json!({"generation": row.id});
        let room = format!("doc:{}", row.doc_id);
        crate::realtime::room_call(&cx.env, &row.org_id, &room, "/stream/cancel", Some(&body))
            .await
            .map_err(|e| crate::http::internal("cancel generation in room", e))?;
    }
    let current = match after {
        Some(r) => r,
        None => repo::get(&db, &row.id).await?.unwrap_or(row),
    };
    http::json(202, &current.public())
}
