//! The request pipeline: every request passes here exactly once.
//! request id → preflight → route → flood filter → handler → problem mapping → headers → log.

use crate::http::{self, ApiResult};
use crate::{config, platform, routes};
use edge_core::config::Config;
use edge_core::ids::IdKind;
use edge_core::router::{self, Matched};
use edge_core::{cors, request_id, ApiError};
use std::rc::Rc;
use worker::wasm_bindgen_futures;
use worker::{Context, Env, Method, Request, Response};

/// What a handler gets besides the request.
pub struct Ctx {
    pub env: Env,
    pub ctx: Context,
    pub config: Rc<Config>,
    pub request_id: String,
    pub params: router::Params,
    /// Rate-limit headers of the limits this request passed, added to the response.
    pub rate_headers: std::cell::RefCell<Vec<(&'static str, String)>>,
    /// Work started for this request that runs alongside the handler and is finished before
    /// the response leaves (e.g. counting the request towards usage).
    pending: std::cell::RefCell<Vec<futures_util::future::RemoteHandle<()>>>,
}

impl Ctx {
    /// A path parameter the route pattern guarantees.
    pub fn param(&self, name: &str) -> &str {
        self.params.get(name).unwrap_or_default()
    }

    /// Starts `work` now, concurrently with the rest of the request; it is awaited before the
    /// response is sent (or earlier, by [`Ctx::settle`]).
    pub fn alongside(&self, work: impl std::future::Future<Output = ()> + 'static) {
        use futures_util::FutureExt;
        let (task, handle) = work.remote_handle();
        wasm_bindgen_futures::spawn_local(task);
        self.pending.borrow_mut().push(handle);
    }

    /// Waits for the work started with [`Ctx::alongside`].
    pub async fn settle(&self) {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        futures_util::future::join_all(pending).await;
    }

    /// A query parameter (first occurrence), percent-decoded.
    pub fn query(&self, req: &Request, name: &str) -> Option<String> {
        req.url()
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

pub async fn handle(req: Request, env: Env, ctx: Context) -> Response {
    let started = platform::now_ms();
    let given = req.headers().get("X-Request-Id").ok().flatten();
    let request_id = request_id::sanitize(given.as_deref())
        .map(str::to_owned)
        .unwrap_or_else(|| platform::new_id(IdKind::Request));
    let method = req.method();
    let raw_method = req.inner().method();
    let origin = req.headers().get("Origin").ok().flatten();

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
    let org_id = org_of(&req.path());
    let (route, cors_headers, result, rate_headers) = if method == Method::Options {
        let (route, cors, result) = preflight(&req, &config, origin.as_deref());
        (route, cors, result, Vec::new())
    } else {
        let cors_headers = config.cors.response_headers(origin.as_deref());
        let unread = crate::drain::capture(&req, config.max_upload_bytes);
        let (route, result, rate) = dispatch(req, env, ctx, config, &request_id).await;
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
    env: Env,
    ctx: Context,
    config: Rc<Config>,
    request_id: &str,
) -> (&'static str, ApiResult, Vec<(&'static str, String)>) {
    // The method as sent: `worker::Method` maps methods it does not know (QUERY, PROPFIND…)
    // to GET, which would serve them as GETs.
    let method = req.inner().method();
    let path = req.path();
    let (route, pattern, params) = match router::resolve(&method, &path, config.test_routes) {
        Matched::Found {
            route,
            pattern,
            params,
        } => (route, pattern, params),
        Matched::NotFound => {
            let err = ApiError::not_found(format!("No route for {path}."));
            return ("unmatched", Err(err), Vec::new());
        }
        Matched::MethodNotAllowed { allowed } => {
            let err = ApiError::method_not_allowed(&method, &allowed);
            return ("unmatched", Err(err), Vec::new());
        }
    };
    if !crate::auth::has_verified_token(&req, &config) {
        if let Err(e) = flood_filter(&req, &env, pattern).await {
            return (pattern, Err(e), Vec::new());
        }
    }
    let cx = Ctx {
        env,
        ctx,
        config,
        request_id: request_id.to_owned(),
        params,
        rate_headers: Default::default(),
        pending: Default::default(),
    };
    let result = routes::dispatch(route, req, &cx).await;
    cx.settle().await;
    (pattern, result, cx.rate_headers.take())
}

/// The coarse per-IP filter (the runtime's rate-limit binding) in front of the exact
/// per-tenant limits, for every request without a verified access token (those are limited
/// exactly per user; unauthenticated requests, API keys and bad tokens pass the filter before
/// any D1 read). Health probes are exempt so monitors never trip it.
async fn flood_filter(req: &Request, env: &Env, pattern: &str) -> Result<(), ApiError> {
    if pattern.starts_with("/health") {
        return Ok(());
    }
    let ip = req
        .headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .unwrap_or_else(|| "unknown".to_owned());
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
