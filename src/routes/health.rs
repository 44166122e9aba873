//! `GET /health` (the process answers) and `GET /health/ready` (every dependency answers).

use crate::ctx::Ctx;
use crate::http::{self, ApiResult};
use edge_core::ApiError;
use futures_util::future::{join4, FutureExt, LocalBoxFuture, Shared};
use serde_json::json;
use std::cell::{Cell, RefCell};
use worker::Env;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn live() -> ApiResult {
    http::json(200, &json!({"status": "ok", "version": VERSION}))
}

/// How long one probe's answer is shared by every `/health/ready` of this isolate, so a
/// burst (or a flood) of probes costs one fan-out per second, not four calls per request.
const PROBE_REUSE_MS: i64 = 1_000;

/// The outcome of one probe: `(d1, r2, tenant, room)`, each `true` if it answered.
type Checks = [(&'static str, bool); 4];

struct Probe {
    started_ms: i64,
    /// This isolate's probe number (1, 2, …), reported in the answer.
    seq: u64,
    checks: Shared<LocalBoxFuture<'static, Checks>>,
}

thread_local! {
    /// The latest probe (finished or in flight): concurrent requests wait for the same one.
    static PROBE: RefCell<Option<Probe>> = const { RefCell::new(None) };
    static PROBES: Cell<u64> = const { Cell::new(0) };
    static ISOLATE: String = edge_core::encoding::hex(&crate::platform::random::<6>());
}

/// This isolate's current probe, started if the last one is older than [`PROBE_REUSE_MS`].
fn probe(env: &Env) -> (u64, Shared<LocalBoxFuture<'static, Checks>>) {
    let now = crate::platform::now_ms();
    PROBE.with(|p| {
        let mut p = p.borrow_mut();
        if let Some(last) = p.as_ref() {
            if now >= last.started_ms && now - last.started_ms < PROBE_REUSE_MS {
                return (last.seq, last.checks.clone());
            }
        }
        let seq = PROBES.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        let env = env.clone();
        let checks = async move {
            let (d1, r2, tenant, room) = join4(
                check_d1(&env),
                check_r2(&env),
                check_object(&env, "TENANT"),
                check_object(&env, "ROOM"),
            )
            .await;
            [("d1", d1), ("r2", r2), ("tenant", tenant), ("room", room)]
        }
        .boxed_local()
        .shared();
        *p = Some(Probe {
            started_ms: now,
            seq,
            checks: checks.clone(),
        });
        (seq, checks)
    })
}

/// Touches D1, R2, `TENANT` and `ROOM` concurrently (at most once a second per isolate: the
/// answer names the probe it reports, `probe: {isolate, seq}`); 503 naming each that failed.
pub async fn ready(cx: &Ctx) -> ApiResult {
    let (seq, checks) = probe(&cx.env);
    let checks = checks.await;
    let probe = json!({"isolate": ISOLATE.with(String::clone), "seq": seq});
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
            &json!({"status": "ok", "version": VERSION, "checks": body, "probe": probe}),
        )
    } else {
        Err(
            ApiError::unavailable(format!("Not ready: {} failed.", failed.join(", ")))
                .with_extension("checks", body.into())
                .with_extension("failed", json!(failed))
                .with_extension("probe", probe),
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
