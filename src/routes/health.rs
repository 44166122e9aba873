//! `GET /health` (the process answers) and `GET /health/ready` (every dependency answers).

use crate::http::{self, ApiResult};
use crate::pipeline::Ctx;
use edge_core::ApiError;
use futures_util::future::join4;
use serde_json::json;
use worker::Env;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn live() -> ApiResult {
    http::json(200, &json!({"status": "ok", "version": VERSION}))
}

/// Touches D1, R2, `TENANT` and `ROOM` concurrently; 503 naming each one that failed.
pub async fn ready(cx: &Ctx) -> ApiResult {
    let env = &cx.env;
    let (d1, r2, tenant, room) = join4(
        check_d1(env),
        check_r2(env),
        check_object(env, "TENANT"),
        check_object(env, "ROOM"),
    )
    .await;
    let checks = [("d1", d1), ("r2", r2), ("tenant", tenant), ("room", room)];
    let failed: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(n, _)| *n)
        .collect();
    let body: serde_json::Map<String, serde_json::Value> = checks
        .iter()
        .map(|(n, ok)| ((*n).to_owned(), json!(if *ok { "ok" } else { "failed" })))
        .collect();
    if failed.is_empty() {
        http::json(
            200,
            &json!({"status": "ok", "version": VERSION, "checks": body}),
        )
    } else {
        Err(
            ApiError::unavailable(format!("Not ready: {} failed.", failed.join(", ")))
                .with_extension("checks", body.into())
                .with_extension("failed", json!(failed)),
        )
    }
}

async fn check_d1(env: &Env) -> bool {
    let Ok(db) = env.d1("DB") else { return false };
    matches!(
        db.prepare("SELECT 1 AS ok").first::<i64>(Some("ok")).await,
        Ok(Some(1))
    )
}

async fn check_r2(env: &Env) -> bool {
    let Ok(bucket) = env.bucket("FILES") else {
        return false;
    };
    bucket.head("__health/probe").await.is_ok()
}

async fn check_object(env: &Env, binding: &str) -> bool {
    let stub = env
        .durable_object(binding)
        .and_then(|ns| ns.get_by_name("__health"));
    let Ok(stub) = stub else { return false };
    matches!(
        stub.fetch_with_str("https://do.internal/health").await,
        Ok(resp) if resp.status_code() == 200
    )
}
