//! Glue to the exact counters in the `TENANT` Durable Object: rate limits per key and
//! quotas per organization. The arithmetic is `edge_core::limits`; this only calls the object
//! and turns its answers into headers and problems.

use crate::http::OrInternal;
use edge_core::limits::{self, Counted, Decision};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{Env, Method, Request, RequestInit, Response};

async fn call(
    env: &Env,
    object: &str,
    path: &str,
    body: Option<Value>,
) -> Result<Response, ApiError> {
    let stub = env
        .durable_object("TENANT")
        .and_then(|ns| ns.get_by_name(object))
        .or_internal("TENANT stub")?;
    let mut init = RequestInit::new();
    match body {
        Some(b) => {
            init.with_method(Method::Post)
                .with_body(Some(wasm_bindgen::JsValue::from_str(&b.to_string())));
        }
        None => {
            init.with_method(Method::Get);
        }
    }
    let req = Request::new_with_init(&format!("https://tenant.internal{path}"), &init)
        .or_internal("TENANT request")?;
    stub.fetch_with_request(req)
        .await
        .or_internal("TENANT call")
}

/// Counts one request for `key` in the object `object` (the organization id, or an auth-limit
/// subject). Requests counted for an organization also count towards its usage.
pub async fn hit(
    env: &Env,
    object: &str,
    org_id: Option<&str>,
    key: &str,
    limit: u32,
    window: u32,
) -> Result<Decision, ApiError> {
    let body = json!({"org_id": org_id, "key": key, "limit": limit, "window": window, "cost": 1});
    call(env, object, "/limit", Some(body))
        .await?
        .json::<Decision>()
        .await
        .or_internal("TENANT limit answer")
}

/// Counts one request for `key` in the organization's object without a limit (the caller
/// decides with the limit it learns in parallel: [`Counted::decide`]), and one request of
/// the organization's usage, which [`refund_request`] takes back if the request is refused.
pub async fn count(env: &Env, org_id: &str, key: &str, window: u32) -> Result<Counted, ApiError> {
    // A GET with the arguments in the query: the hot path of every organization request, and
    // cheaper than a body to stream and parse on both sides.
    let mut url = worker::Url::parse("https://tenant.internal/count").or_internal("count url")?;
    url.query_pairs_mut()
        .append_pair("key", key)
        .append_pair("window", &window.to_string())
        .append_pair("usage_of", org_id);
    let stub = env
        .durable_object("TENANT")
        .and_then(|ns| ns.get_by_name(org_id))
        .or_internal("TENANT stub")?;
    stub.fetch_with_str(url.as_str())
        .await
        .or_internal("TENANT call")?
        .json::<Counted>()
        .await
        .or_internal("TENANT count answer")
}

/// Takes back the usage [`count`] recorded for a request that was then refused (not a
/// member, a revoked session, over the limit).
pub async fn refund_request(env: &Env, org_id: &str) -> Result<(), ApiError> {
    call(
        env,
        org_id,
        "/requests",
        Some(json!({"org_id": org_id, "amount": -1})),
    )
    .await
    .map(|_| ())
}

/// A refused request: 429 with the headers that say when to come back.
pub fn refused(policy: &str, d: &Decision, what: &str) -> ApiError {
    let mut err = ApiError::rate_limited(format!(
        "Rate limit exceeded: {} requests per {} s {what}. Retry in {} s.",
        d.limit, d.window, d.reset
    ))
    .with_extension("policy", json!(policy));
    for (k, v) in limits::headers(policy, d) {
        err = err.with_header(k, v);
    }
    err
}

/// Checks one key and returns the headers for the response (or the 429).
pub async fn enforce(
    env: &Env,
    object: &str,
    org_id: Option<&str>,
    policy: &'static str,
    key: &str,
    limit: u32,
    what: &str,
) -> Result<Vec<(&'static str, String)>, ApiError> {
    let d = hit(env, object, org_id, key, limit, 60).await?;
    if d.allowed {
        Ok(limits::headers(policy, &d))
    } else {
        Err(refused(policy, &d, what))
    }
}

#[derive(Deserialize)]
struct QuotaAnswer {
    allowed: bool,
    used: u64,
}

/// Consumes `amount` of quota `kind` for `org_id`; a 429 (or `over_status`) problem naming
/// the quota if it would be exceeded. Exact under concurrency: the object is single-threaded.
pub async fn consume(
    env: &Env,
    org_id: &str,
    kind: &'static str,
    period: &str,
    limit: u64,
    amount: u64,
) -> Result<u64, ApiError> {
    let body =
        json!({"org_id": org_id, "kind": kind, "period": period, "limit": limit, "amount": amount});
    let a: QuotaAnswer = call(env, org_id, "/quota", Some(body))
        .await?
        .json()
        .await
        .or_internal("TENANT quota answer")?;
    if a.allowed {
        Ok(a.used)
    } else {
        Err(ApiError::rate_limited(format!(
            "The {kind} quota of this organization's plan is used up ({} of {limit}).",
            a.used
        ))
        .with_extension("quota", json!(kind))
        .with_extension("limit", json!(limit))
        .with_extension("used", json!(a.used))
        .with_header(
            "Retry-After",
            limits::seconds_until_period_end(period, crate::platform::now_ms()).to_string(),
        ))
    }
}

/// Gives back quota (a failed write, a deleted file).
pub async fn release(
    env: &Env,
    org_id: &str,
    kind: &'static str,
    period: &str,
    amount: u64,
) -> Result<(), ApiError> {
    let body = json!({"org_id": org_id, "kind": kind, "period": period, "amount": amount});
    call(env, org_id, "/release", Some(body)).await.map(|_| ())
}

/// Applies `entries` (`(kind, amount)`: taken when positive, given back when negative) to
/// the organization's counters in `period` at once, once per `key`. Returns whether this call
/// applied them (false: an earlier one with the same key did) and each counter's `used`.
pub async fn settle(
    env: &Env,
    org_id: &str,
    key: &str,
    period: &str,
    entries: &[(&'static str, i64)],
) -> Result<(bool, Value), ApiError> {
    let entries: Vec<Value> = entries
        .iter()
        .map(|(kind, amount)| json!({"kind": kind, "amount": amount}))
        .collect();
    let body = json!({"org_id": org_id, "key": key, "period": period, "entries": entries});
    let a: Value = call(env, org_id, "/settle", Some(body))
        .await?
        .json()
        .await
        .or_internal("TENANT settle answer")?;
    Ok((a["applied"].as_bool().unwrap_or(false), a["used"].clone()))
}

/// The organization's counters: `{kind: {period, used}}`.
pub async fn usage(env: &Env, org_id: &str) -> Result<Value, ApiError> {
    call(env, org_id, "/usage", None)
        .await?
        .json::<Value>()
        .await
        .or_internal("TENANT usage answer")
}

/// Takes one of the organization's `room_connections` for connection `conn` (429 when the
/// plan's limit is reached) and registers who holds it; the ROOM gives it back on close.
pub async fn room_connect(
    env: &Env,
    org_id: &str,
    conn: &Value,
    limit: u64,
) -> Result<(), ApiError> {
    let mut body = conn.clone();
    body["org_id"] = json!(org_id);
    body["limit"] = json!(limit);
    let mut reconciled = false;
    let a = loop {
        let started = crate::platform::now_ms();
        let a: RoomAnswer = call(env, org_id, "/rooms/connect", Some(body.clone()))
            .await?
            .json()
            .await
            .or_internal("TENANT room connect answer")?;
        if a.allowed || reconciled || a.rooms.is_empty() {
            break a;
        }
        // At the limit: connections whose room lost them without a close event (the runtime
        // restarted) may be holding it. Ask each room which it still has, once, and retry.
        let mut live = serde_json::Map::new();
        for room in &a.rooms {
            let conns = crate::realtime::live_conns(env, org_id, room)
                .await
                .or_internal("room connections")?;
            live.insert(room.clone(), json!(conns));
        }
        call(
            env,
            org_id,
            "/rooms/reconcile",
            Some(json!({"before": started, "live": live})),
        )
        .await?;
        reconciled = true;
    };
    if a.allowed {
        return Ok(());
    }
    Err(ApiError::rate_limited(format!(
        "The room_connections quota of this organization's plan is used up ({} of {limit} concurrent connections).",
        a.used
    ))
    .with_extension("quota", json!("room_connections"))
    .with_extension("limit", json!(limit))
    .with_extension("used", json!(a.used))
    .with_header("Retry-After", "10"))
}

#[derive(Deserialize)]
struct RoomAnswer {
    allowed: bool,
    used: u64,
    #[serde(default)]
    rooms: Vec<String>,
}

/// Gives back the room connection `conn` (idempotent).
pub async fn room_disconnect(env: &Env, org_id: &str, conn: &str) -> Result<(), ApiError> {
    call(
        env,
        org_id,
        "/rooms/disconnect",
        Some(json!({ "conn": conn })),
    )
    .await
    .map(|_| ())
}
