//! `GET /health` (the process answers) and `GET /health/ready` (every dependency answers).

use crate::ctx::Ctx;
use crate::http::{self, ApiResult};
use edge_core::ApiError;
use futures_util::future::join4;
use serde_json::json;
use std::cell::Cell;
use worker::Env;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn live() -> ApiResult {
    http::json(200, &json!({"status": "ok", "version": VERSION}))
}

/// How long one probe's answer is shared by every `/health/ready` of this isolate, so a
/// burst (or a flood) of probes costs one fan-out per second, not four calls per request.
const PROBE_REUSE_MS: i64 = 1_000;

/// How long a probe in flight is waited for before a request runs its own (the request that
/// started it may have been cancelled).
const PROBE_WAIT_MS: i64 = 5_000;

/// How often a request waiting for another's probe looks for its answer.
const PROBE_POLL_MS: u64 = 5;

/// The outcome of one probe: `(d1, r2, tenant, room)`, each `true` if it answered.
type Checks = [(&'static str, bool); 4];

#[derive(Clone, Copy)]
struct Probe {
    started_ms: i64,
    /// This isolate's probe number (1, 2, …), reported in the answer.
    seq: u64,
    /// `None` while in flight.
    checks: Option<Checks>,
}

thread_local! {
    /// The latest probe (finished or in flight). Only its answer, plain data, is shared: the
    /// runtime forbids one request to touch I/O (a D1 call, an R2 read, a stub's response)
    /// another request started, so a request waiting for another's probe polls for the answer
    /// on its own timer instead of awaiting that probe's future.
    static PROBE: Cell<Option<Probe>> = const { Cell::new(None) };
    static PROBES: Cell<u64> = const { Cell::new(0) };
    static ISOLATE: String = edge_core::encoding::hex(&crate::platform::random::<6>());
}

/// This isolate's current probe answer: a finished one under [`PROBE_REUSE_MS`] old, the one
/// in flight once it finishes, or a new one run by this request.
async fn probe(env: &Env) -> (u64, Checks) {
    loop {
        let now = crate::platform::now_ms();
        if let Some(p) = PROBE.get() {
            let age = now - p.started_ms;
            match p.checks {
                Some(checks) if (0..PROBE_REUSE_MS).contains(&age) => return (p.seq, checks),
                None if (0..PROBE_WAIT_MS).contains(&age) => {
                    worker::Delay::from(std::time::Duration::from_millis(PROBE_POLL_MS)).await;
                    continue;
                }
                _ => {}
            }
        }
        let seq = PROBES.with(|n| {
            n.set(n.get() + 1);
            n.get()
        });
        PROBE.set(Some(Probe {
            started_ms: now,
            seq,
            checks: None,
        }));
        let (d1, r2, tenant, room) = join4(
            check_d1(env),
            check_r2(env),
            check_object(env, "TENANT"),
            check_object(env, "ROOM"),
        )
        .await;
        let checks = [("d1", d1), ("r2", r2), ("tenant", tenant), ("room", room)];
        // Publish the answer unless a newer probe has started meanwhile.
        if PROBE.get().is_some_and(|p| p.seq == seq) {
            PROBE.set(Some(Probe {
                started_ms: now,
                seq,
                checks: Some(checks),
            }));
        }
        return (seq, checks);
    }
}

/// Touches D1, R2, `TENANT` and `ROOM` concurrently (at most once a second per isolate: the
/// answer names the probe it reports, `probe: {isolate, seq}`); 503 naming each that failed.
pub async fn ready(cx: &Ctx) -> ApiResult {
    let (seq, checks) = probe(&cx.env).await;
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
