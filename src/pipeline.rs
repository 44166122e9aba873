//! The request pipeline, the door every request passes exactly once: request id → preflight
//! → route → the request read into typed values ([`Caller`], [`Head`], [`Body`]) → flood
//! filter → handler → problem mapping → headers → log. Past here nothing reads the raw request
//! but the handlers that stream bodies.

use crate::body::Body;
use crate::ctx::Ctx;
use crate::door::{Caller, Head};
use crate::http::{self, ApiResult};
use crate::{config, platform, routes};
use edge_core::config::Config;
use edge_core::ids::IdKind;
use edge_core::router::{self, Matched};
use edge_core::{cors, request_id, ApiError};
use std::rc::Rc;
use worker::{Context, Env, Method, Request, Response};

pub async fn handle(req: Request, env: Env, ctx: Context) -> Response {
    let started = platform::now_ms();
    let given = req.headers().get("X-Request-Id").ok().flatten();
    let request_id = request_id::sanitize(given.as_deref())
        .map(str::to_owned)
        .unwrap_or_else(|| platform::new_id(IdKind::Request));
    let method = req.method();
    let head = Head::read(&req);
    let caller = Caller::read(head.headers());
    let raw_method = head.method.clone();
    let origin = caller.origin.clone();

    let config = match config::load(&env) {
        Ok(c) => c,
        Err(e) => {
            let err = http::internal("invalid configuration", e);
            let mut resp = http::problem(&err, &request_id);
            http::finish(&mut resp, &request_id, Vec::new());
            log(&request_id, &raw_method, "config", None, 500, started);
            return resp;
        }
    };

    // The organization a request is aimed at (a well-formed `{org}` of its path), for the log.
    let org_id = org_of(&head.path);
    let (route, cors_headers, result, rate_headers) = if method == Method::Options {
        let (route, cors, result) = preflight(&req, &config, origin.as_deref());
        (route, cors, result, Vec::new())
    } else {
        let cors_headers = config.cors.response_headers(origin.as_deref());
        let unread = crate::drain::capture(&req, config.max_upload_bytes);
        let (route, result, rate) =
            dispatch(req, head, caller, env, ctx, config, &request_id).await;
        // A body the handler never read (an early refusal) is received before the answer.
        if let Some(unread) = unread {
            unread.drain().await;
        }
        (route, cors_headers, result, rate)
    };
    let mut resp = result.unwrap_or_else(|err| http::problem(&err, &request_id));
    // Limits passed on the way apply to every answer, errors included (a 429 has its own).
    for (k, v) in rate_headers {
        if !resp.headers().has(k).unwrap_or(false) {
            let _ = resp.headers_mut().set(k, &v);
        }
    }
    http::finish(&mut resp, &request_id, cors_headers);
    log(
        &request_id,
        &raw_method,
        route,
        org_id.as_deref(),
        resp.status_code(),
        started,
    );
    resp
}

/// `org_…` of `/v1/orgs/{org}/…`, if well formed.
fn org_of(path: &str) -> Option<String> {
    let org = path.strip_prefix("/v1/orgs/")?.split('/').next()?;
    edge_core::ids::is_id(IdKind::Org, org).then(|| org.to_owned())
}

/// `OPTIONS` on any path: a CORS preflight gets the CORS answer (nothing for an unlisted
/// origin, so the browser refuses); a plain `OPTIONS` gets `Allow`.
fn preflight(
    req: &Request,
    config: &Config,
    origin: Option<&str>,
) -> (&'static str, Vec<(&'static str, String)>, ApiResult) {
    let is_preflight = req
        .headers()
        .has("Access-Control-Request-Method")
        .unwrap_or(false);
    let headers = if is_preflight {
        config.cors.preflight_headers(origin)
    } else {
        vec![("Allow", cors::ALLOW_METHODS.to_owned())]
    };
    ("preflight", headers, Ok(http::empty(204)))
}

async fn dispatch(
    req: Request,
    head: Head,
    caller: Caller,
    env: Env,
    ctx: Context,
    config: Rc<Config>,
    request_id: &str,
) -> (&'static str, ApiResult, Vec<(&'static str, String)>) {
    let (route, pattern, params) =
        match router::resolve(&head.method, &head.path, config.test_routes) {
            Matched::Found {
                route,
                pattern,
                params,
            } => (route, pattern, params),
            Matched::NotFound => {
                let err = ApiError::not_found(format!("No route for {}.", head.path));
                return ("unmatched", Err(err), Vec::new());
            }
            Matched::MethodNotAllowed { allowed } => {
                let err = ApiError::method_not_allowed(&head.method, &allowed);
                return ("unmatched", Err(err), Vec::new());
            }
        };
    if !crate::auth::has_verified_token(&caller, &config) {
        if let Err(e) = flood_filter(&caller, &env, pattern).await {
            return (pattern, Err(e), Vec::new());
        }
    }
    let cx = Ctx::new(
        env,
        ctx,
        config,
        request_id.to_owned(),
        params,
        caller,
        head,
    );
    let result = routes::dispatch(route, Body::new(req), &cx).await;
    cx.settle().await;
    crate::events::kick(&cx);
    (pattern, result, cx.rate_headers.take())
}

/// The coarse per-IP filter (the runtime's rate-limit binding) in front of the exact
/// per-tenant limits, for every request without a verified access token (those are limited
/// exactly per user; unauthenticated requests, API keys and bad tokens pass the filter before
/// any D1 read). Health probes are exempt so monitors never trip it.
async fn flood_filter(caller: &Caller, env: &Env, pattern: &str) -> Result<(), ApiError> {
    if pattern.starts_with("/health") {
        return Ok(());
    }
    let ip = caller.ip_or_unknown().to_owned();
    let Ok(limiter) = env.rate_limiter("IP_LIMITER") else {
        return Ok(());
    };
    match limiter.limit(ip).await {
        Ok(outcome) if !outcome.success => Err(ApiError::rate_limited(
            "Too many requests from this address; slow down.",
        )
        .with_header("Retry-After", "10")),
        // The filter failing open is right: the exact limits behind it still apply.
        _ => Ok(()),
    }
}

/// One structured line per request; never headers, bodies, tokens or secrets.
fn log(
    request_id: &str,
    method: &str,
    route: &str,
    org_id: Option<&str>,
    status: u16,
    started: i64,
) {
    let line = serde_json::json!({
        "level": if status >= 500 { "error" } else { "info" },
        "msg": "request",
        "request_id": request_id,
        "method": method,
        "route": route,
        "org_id": org_id,
        "status": status,
        "duration_ms": platform::now_ms() - started,
    });
    worker::console_log!("{line}");
}
