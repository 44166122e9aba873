//! `GET /v1/orgs/{org}/webhook-secret` and `POST …/webhook-secret/rotate`: the organization's
//! Standard Webhooks secret (`whsec_…`) that its `webhook.deliver` deliveries are signed with.
//! Derived on demand from `WEBHOOK_SIGNING_KEY`, the org id and the org's generation, so
//! nothing secret is stored; rotating bumps the generation (audit-logged), and deliveries of
//! the next 24 h carry a signature with the previous secret too. Admins and owners only; API
//! keys never.

use crate::admin;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::jobs::webhook;
use crate::platform;
use crate::sql;
use edge_core::policy::Action;
use edge_core::ApiError;
use serde_json::json;

fn answer(cx: &Ctx, org_id: &str, g: &webhook::Generation) -> ApiResult {
    http::json(
        200,
        &json!({
            "secret": webhook::secret(&cx.config, org_id, g.generation),
            "generation": g.generation,
            "created_at": g.created_at,
        }),
    )
}

async fn current(cx: &Ctx, org_id: &str) -> Result<webhook::Generation, ApiError> {
    let db = db::database(&cx.env)?;
    webhook::generation(&db, org_id)
        .await?
        .ok_or_else(|| ApiError::not_found("No such organization."))
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let g = current(cx, &access.org_id).await?;
    answer(cx, &access.org_id, &g)
}

pub async fn rotate(cx: &Ctx) -> ApiResult {
    let access = admin::enter(cx, Action::ApiKeysManage).await?;
    let before = current(cx, &access.org_id).await?;
    let next = before.generation.saturating_add(1);
    let now = platform::rfc3339(platform::now());
    let db = db::database(&cx.env)?;
    let events = [admin::event(&access, "webhook_secret.rotated")
        .target("organization", &access.org_id)
        .details(json!({"generation": next}))];
    // Conditional on the generation the answer is computed from: two concurrent rotations
    // cannot both report the same new secret.
    let results = admin::commit(cx, &db, &events, || {
        Ok(vec![sql!(
            db,
            "UPDATE organizations SET webhook_secret_generation = ?2, webhook_secret_rotated_at = ?3 \
             WHERE id = ?1 AND webhook_secret_generation = ?4",
            &access.org_id,
            next,
            &now,
            before.generation
        )?])
    })
    .await?;
    if db::changes(&results[0]) == 0 {
        return Err(ApiError::conflict(
            "The webhook secret was rotated concurrently; read it again.",
        ));
    }
    let g = webhook::Generation {
        generation: next,
        created_at: now,
    };
    answer(cx, &access.org_id, &g)
}
