//! `/v1/me`: the signed-in user and their organizations.

use super::identity::{user_orgs, UserRow};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult};
use crate::platform;
use crate::sql;
use edge_core::validate;
use edge_core::{ApiError, FieldError};
use serde::Deserialize;
use serde_json::json;

async fn me(cx: &Ctx, user_id: &str) -> ApiResult {
    let db = db::database(&cx.env)?;
    let user: UserRow = db::first(sql!(db, "SELECT * FROM users WHERE id = ?1", user_id))
        .await?
        .ok_or_else(|| ApiError::unauthenticated("The user no longer exists."))?;
    let orgs: Vec<_> = user_orgs(&db, user_id)
        .await?
        .into_iter()
        .map(|o| json!({"id": o.id, "name": o.name, "role": o.role}))
        .collect();
    let mut body = user.public();
    body["orgs"] = json!(orgs);
    http::json(200, &body)
}

pub async fn get(cx: &Ctx) -> ApiResult {
    let (user_id, _) = auth::user(cx).await?;
    me(cx, &user_id).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    name: Option<String>,
}

pub async fn patch(mut body: Body, cx: &Ctx) -> ApiResult {
    let (user_id, _) = auth::user(cx).await?;
    let body: PatchBody = body.json().await?;
    if let Some(raw) = body.name {
        let name = validate::name(&raw, 100).map_err(|m| {
            ApiError::validation_failed("The name is invalid.")
                .with_errors(vec![FieldError::new("name", m)])
        })?;
        let db = db::database(&cx.env)?;
        db::run(sql!(
            db,
            "UPDATE users SET name = ?2, updated_at = ?3 WHERE id = ?1",
            &user_id,
            &name,
            platform::rfc3339(platform::now())
        ))
        .await?;
    }
    me(cx, &user_id).await
}
