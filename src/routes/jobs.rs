//! The public jobs API: queue heavy work for the organization's origin and follow it.
//! Creating a job consumes the plan's jobs-per-day quota before anything is written.

use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::idempotency;
use crate::jobs::{self, JobRow, NewJob};
use crate::list::Page;
use crate::platform;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::jobs::JobStatus;
use edge_core::limits;
use edge_core::policy::Action;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(rename = "type")]
    job_type: String,
    payload: serde_json::Value,
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::JobsWrite)?;
    let bytes = body.json_bytes().await?;
    idempotency::run(cx, &access, &bytes, || create_job(cx, &access, &bytes)).await
}

async fn create_job(cx: &Ctx, access: &auth::OrgAccess, bytes: &[u8]) -> ApiResult {
    let body: CreateBody = edge_core::json::decode(bytes)?;
    let job = NewJob::parse(&body.job_type, body.payload)?;
    let db = db::database(&cx.env)?;
    jobs::check_payload(&db, &access.org_id, &job).await?;
    let day = limits::day(platform::now_ms());
    let quota = cx.config.limits.plan(access.plan).jobs_per_day;
    let used = crate::limits::consume(&cx.env, &access.org_id, "jobs", &day, quota, 1).await?;
    let row = match jobs::enqueue(&cx.env, Some(&access.org_id), job).await {
        Ok(row) => row,
        Err(e) => {
            // Nothing was queued: give the quota back.
            let _ = crate::limits::release(&cx.env, &access.org_id, "jobs", &day, 1).await;
            return Err(e);
        }
    };
    if let Some(q) = crate::events::quota_crossed(&access.org_id, "jobs", used, 1, quota, &day) {
        crate::events::write_alone(cx, &db, &q).await;
    }
    let mut resp = http::json(
        202,
        &json!({"id": row.id, "type": row.job_type, "status": row.status, "created_at": row.created_at}),
    )?;
    let _ = resp.headers_mut().set(
        "Location",
        &format!("/v1/orgs/{}/jobs/{}", access.org_id, row.id),
    );
    Ok(resp)
}

fn public(row: &JobRow) -> serde_json::Value {
    let mut v = row.public();
    if let Some(o) = v.as_object_mut() {
        o.remove("org_id");
    }
    v
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::JobsRead)?;
    let id = cx.param("id");
    let not_found = || ApiError::not_found("No such job.");
    if !ids::is_id(IdKind::Job, id) {
        return Err(not_found());
    }
    let db = db::database(&cx.env)?;
    let row = jobs::repo::get(&db, id)
        .await?
        .filter(|r| r.org_id.as_deref() == Some(access.org_id.as_str()))
        .ok_or_else(not_found)?;
    http::json(200, &public(&row))
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::JobsRead)?;
    let status = match cx.query("status") {
        None => None,
        Some(s) => Some(JobStatus::parse(&s).ok_or_else(|| {
            ApiError::validation_failed("Unknown status.").with_errors(vec![FieldError::new(
                "status",
                "must be queued, running, succeeded, failed or dead",
            )])
        })?),
    };
    let page = Page::from_query(cx, "jobs", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<JobRow> = db::all(sql!(
        db,
        "SELECT id, org_id, type, status, payload, attempts, result, error, created_at, updated_at FROM jobs \
         WHERE org_id = ?1 AND (?2 IS NULL OR status = ?2) \
         AND (created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
         ORDER BY created_at DESC, id DESC LIMIT ?5",
        &access.org_id,
        status.map(JobStatus::as_str),
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(cx, rows, |r| (r.created_at.clone(), r.id.clone()), public)
}
