//! `ANY /v1/orgs/{org}/origin/{path…}`: heavy synchronous work proxied to the customer's
//! origin. Only an allow-list of the client's headers is forwarded
//! (`edge_core::origin_signing::PROXY_FORWARDED_HEADERS`); the edge itself always sets every
//! identity header — `X-Org-Id`, `X-User-Id` (empty for API keys), `X-Api-Key-Id` (empty for
//! users), `X-User-Role` (`member` for API keys: keys act with at most member rights),
//! `X-Request-Id` — and `X-Signature` over method, path with query, those identity values and
//! the body (`origin_signing::proxy_message`). The answer streams back as it comes; an origin
//! slower than `ORIGIN_TIMEOUT_MS` is a 504.
//!
//! The request body is buffered (up to 10 MiB) because the signature covers it; larger
//! bodies belong in a file upload or a job.

use crate::auth::{self, Credential};
use crate::body::Body;
use crate::ctx::Ctx;
use crate::http::ApiResult;
use crate::platform;
use edge_core::origin_signing::{self, ProxyFields};
use edge_core::policy::Action;
use edge_core::ApiError;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, Response};

const MAX_BODY: usize = 10 * 1024 * 1024;

/// Response headers not passed back (hop-by-hop; the edge sets its own security headers).
const DROP_RESPONSE: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "set-cookie",
    "content-length",
];

pub async fn forward(mut body: Body, cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::OriginProxy)?;
    let method = Method::from(cx.head.method.clone());
    let query = cx.head.raw_query.clone();
    let path = format!(
        "/{}{}",
        cx.param("path"),
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    let body = match method {
        Method::Get | Method::Head => Vec::new(),
        _ => body.limited(MAX_BODY).await?,
    };

    let headers = Headers::new();
    for (name, value) in cx.head.headers().entries() {
        if origin_signing::is_forwarded_header(&name) {
            let _ = headers.append(&name, &value);
        }
    }
    let (user_id, api_key_id, role) = match &access.credential {
        Credential::User { user_id, .. } => (
            user_id.as_str(),
            "",
            access.role.map(|r| r.as_str()).unwrap_or_default(),
        ),
        Credential::ApiKey(k) => ("", k.id.as_str(), "member"),
    };
    let fields = ProxyFields {
        t: platform::now_ms() / 1000,
        method: method.as_ref(),
        path_and_query: &path,
        org_id: &access.org_id,
        user_id,
        api_key_id,
        role,
        request_id: &cx.request_id,
        body: &body,
    };
    let sig = origin_signing::sign_proxy(cx.config.origin_secret.as_bytes(), &fields)
        .map_err(|e| crate::http::internal("proxy signature", format!("line break in {}", e.0)))?;
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| crate::http::internal("proxy header", e))
    };
    set("X-Org-Id", &access.org_id)?;
    set("X-User-Id", user_id)?;
    set("X-Api-Key-Id", api_key_id)?;
    set("X-User-Role", role)?;
    set("X-Request-Id", &cx.request_id)?;
    set("X-Signature", &sig)?;

    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers);
    if !body.is_empty() {
        init.with_body(Some(js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let target = format!("{}{path}", cx.config.origin_url);
    let upstream = Request::new_with_init(&target, &init)
        .map_err(|e| crate::http::internal("proxy request", e))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move { Fetch::Request(upstream).send_with_signal(&signal).await };
    let timeout = Delay::from(Duration::from_millis(cx.config.origin_timeout_ms as u64));
    let resp = match select(Box::pin(call), timeout).await {
        Either::Left((Ok(resp), _)) => resp,
        Either::Left((Err(e), _)) => {
            let _ = crate::http::internal("proxy to origin", e);
            return Err(ApiError::new(
                502,
                "bad_gateway",
                "Bad gateway",
                "The origin could not be reached.",
            ));
        }
        Either::Right(_) => {
            controller.abort();
            return Err(ApiError::gateway_timeout(format!(
                "The origin did not answer within {} ms.",
                cx.config.origin_timeout_ms
            )));
        }
    };
    // Re-wrap: a fetched response's headers are immutable, and ours must add the edge's own.
    let status = resp.status_code();
    let out_headers = Headers::new();
    for (name, value) in resp.headers().entries() {
        if !DROP_RESPONSE.contains(&name.to_ascii_lowercase().as_str()) {
            let _ = out_headers.append(&name, &value);
        }
    }
    let (_, body) = resp.into_parts();
    Ok(Response::builder()
        .with_status(status)
        .with_headers(out_headers)
        .body(body))
}
