//! `POST/GET /v1/orgs/{org}/webhooks`, `GET/PATCH/DELETE …/webhooks/{id}` and
//! `POST …/webhooks/{id}/rotate-secret`: the organization's webhook endpoints (admins and
//! owners; API keys never). The URL passes the shared outbound check; the filter grammar is
//! `edge_core::webhooks::Filter`; the `whsec_…` secret is shown at creation and rotation only.

use crate::admin;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::list::Page;
use crate::platform;
use crate::sql;
use crate::webhooks::{self, EndpointRow, ENDPOINT_COLUMNS};
use edge_core::ids::IdKind;
use edge_core::json::Checks;
use edge_core::policy::Action;
use edge_core::webhooks::{self as rules, Filter};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::json;

/// The default overlap after a rotation, during which the previous secret signs too.
const DEFAULT_OVERLAP_SECONDS: i64 = 24 * 3600;
const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 3600;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    event_types: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    event_types: Option<Vec<String>>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    #[serde(default)]
    overlap_seconds: Option<i64>,
}

pub(super) fn not_found() -> ApiError {
    ApiError::not_found("No such webhook endpoint.")
}

/// Checks the fields given; returns the filter's stored form when `event_types` was given.
fn check(
    cx: &Ctx,
    url: Option<&str>,
    types: Option<&[String]>,
    description: Option<&str>,
) -> Result<Option<String>, ApiError> {
    let mut c = Checks::new();
    if let Some(url) = url {
        c.check(
            url.len() <= rules::MAX_URL_BYTES,
            "url",
            "must be at most 2048 bytes",
        );
        if let Err(why) = crate::jobs::webhook::allowed(&cx.config, url) {
            c.check(false, "url", why);
        }
    }
    let mut filter = None;
    if let Some(types) = types {
        match Filter::parse(types) {
            Ok(f) => filter = Some(f.to_json()),
            Err(why) => {
                c.check(false, "event_types", why);
            }
        }
    }
    if let Some(d) = description {
        c.length("description", d, 0, rules::MAX_DESCRIPTION_CHARS);
    }
    c.finish()?;
    Ok(filter)
}

pub async fn create(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let body: CreateBody = body.json().await?;
    let filter = check(
        cx,
        Some(&body.url),
        Some(&body.event_types),
        body.description.as_deref(),
    )?
    .unwrap_or_default();
    let id = platform::new_id(IdKind::WebhookEndpoint);
    let now = platform::rfc3339(platform::now());
    let max = rules::max_endpoints(access.plan);
    let db = db::database(&cx.env)?;
    let events = [admin::event(&access, "webhook.endpoint_created")
        .target("webhook_endpoint", &id)
        .details(json!({"url": body.url, "event_types": body.event_types}))
        .only_if(
            "SELECT 1 FROM webhook_endpoints WHERE id = ?1",
            vec![db::V::from(&id)],
        )];
    let results = admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "INSERT INTO webhook_endpoints (id, org_id, url, filter, description, enabled, created_at, updated_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7 \
             WHERE (SELECT COUNT(*) FROM webhook_endpoints WHERE org_id = ?2) < ?8",
            &id,
            &access.org_id,
            &body.url,
            &filter,
            body.description.clone().unwrap_or_default(),
            body.enabled.unwrap_or(true),
            &now,
            max
        )?])
    })
    .await?;
    if results.first().map_or(0, db::changes) == 0 {
        return Err(ApiError::conflict(format!(
            "The {} plan allows {max} webhook endpoints; delete one first.",
            access.plan.as_str()
        )));
    }
    let row = webhooks::load(&db, &access.org_id, &id)
        .await?
        .ok_or_else(not_found)?;
    let mut out = row.public();
    out["secret"] = json!(webhooks::secret(&cx.config, &id, row.secret_generation));
    let mut resp = http::json(201, &out)?;
    let _ = resp.headers_mut().set(
        "Location",
        &format!("/v1/orgs/{}/webhooks/{id}", access.org_id),
    );
    Ok(resp)
}

pub async fn list(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let page = Page::from_query(cx, "webhooks", &access.org_id)?;
    let (k, i) = page.after_key();
    let db = db::database(&cx.env)?;
    let rows: Vec<EndpointRow> = db::all(sql!(
        db,
        &format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE org_id = ?1 \
             AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) \
             ORDER BY created_at DESC, id DESC LIMIT ?4"
        ),
        &access.org_id,
        k,
        i,
        (page.limit + 1) as u32
    ))
    .await?;
    page.respond(
        cx,
        rows,
        |r| (r.created_at.clone(), r.id.clone()),
        EndpointRow::public,
    )
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let row = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    http::json(200, &row.public())
}

pub async fn patch(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let row = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    let body: PatchBody = body.json().await?;
    let filter = check(
        cx,
        body.url.as_deref(),
        body.event_types.as_deref(),
        body.description.as_deref(),
    )?;
    let now = platform::rfc3339(platform::now());
    let events = [admin::event(&access, "webhook.endpoint_updated")
        .target("webhook_endpoint", &row.id)
        .details(
            json!({"url": body.url, "event_types": body.event_types, "enabled": body.enabled}),
        )];
    // Enabling (again) starts a fresh health record.
    admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE webhook_endpoints SET url = COALESCE(?3, url), filter = COALESCE(?4, filter), \
             description = COALESCE(?5, description), enabled = COALESCE(?6, enabled), \
             disabled_reason = CASE WHEN ?6 = 1 THEN NULL ELSE disabled_reason END, \
             failing_since = CASE WHEN ?6 = 1 AND enabled = 0 THEN NULL ELSE failing_since END, \
             updated_at = ?7 WHERE id = ?1 AND org_id = ?2",
            &row.id,
            &access.org_id,
            body.url.clone(),
            filter.clone(),
            body.description.clone(),
            body.enabled,
            &now
        )?])
    })
    .await?;
    let row = webhooks::load(&db, &access.org_id, &row.id)
        .await?
        .ok_or_else(not_found)?;
    http::json(200, &row.public())
}

pub async fn delete(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let row = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    let events =
        [admin::event(&access, "webhook.endpoint_deleted").target("webhook_endpoint", &row.id)];
    admin::commit(cx, &db, &events, || {
        Ok(vec![
            sql!(
                db,
                "DELETE FROM webhook_attempts WHERE endpoint_id = ?1",
                &row.id
            )?,
            sql!(
                db,
                "DELETE FROM webhook_deliveries WHERE endpoint_id = ?1",
                &row.id
            )?,
            sql!(
                db,
                "DELETE FROM webhook_endpoints WHERE id = ?1 AND org_id = ?2",
                &row.id,
                &access.org_id
            )?,
        ])
    })
    .await?;
    Ok(http::empty(204))
}

pub async fn rotate(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let db = db::database(&cx.env)?;
    let row = webhooks::load(&db, &access.org_id, cx.param("id"))
        .await?
        .ok_or_else(not_found)?;
    // The body is optional: none at all (no type, no length) means the defaults.
    let headers = body.raw().headers();
    let header = |n: &str| headers.get(n).ok().flatten();
    let bodiless = header("Content-Type").is_none()
        && header("Content-Length").is_none_or(|l| l.trim() == "0");
    let bytes = if bodiless {
        Vec::new()
    } else {
        body.json_bytes().await?
    };
    let body: RotateBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        edge_core::json::decode(&bytes)?
    };
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECONDS);
    Checks::new()
        .check(
            (0..=MAX_OVERLAP_SECONDS).contains(&overlap),
            "overlap_seconds",
            format!("must be 0 to {MAX_OVERLAP_SECONDS}"),
        )
        .finish()?;
    let next = row.secret_generation.saturating_add(1);
    let until = platform::now_ms() + overlap * 1000;
    let now = platform::rfc3339(platform::now());
    let events = [admin::event(&access, "webhook.secret_rotated")
        .target("webhook_endpoint", &row.id)
        .details(json!({"generation": next, "overlap_seconds": overlap}))];
    // Conditional on the generation read: two concurrent rotations cannot both answer.
    let results = admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE webhook_endpoints SET secret_generation = ?3, previous_until = ?4, updated_at = ?5 \
             WHERE id = ?1 AND org_id = ?2 AND secret_generation = ?6",
            &row.id,
            &access.org_id,
            next,
            until,
            &now,
            row.secret_generation
        )?])
    })
    .await?;
    if results.first().map_or(0, db::changes) == 0 {
        return Err(ApiError::conflict(
            "The secret was rotated concurrently; read it again.",
        ));
    }
    let row = webhooks::load(&db, &access.org_id, &row.id)
        .await?
        .ok_or_else(not_found)?;
    let mut out = row.public();
    out["secret"] = json!(webhooks::secret(&cx.config, &row.id, next));
    http::json(200, &out)
}
