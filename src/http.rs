//! Building responses: JSON bodies, problems (the one place an [`ApiError`] becomes HTTP), and
//! the headers every response carries.

use edge_core::ApiError;
use serde::Serialize;
use worker::{Headers, Response};

/// A handler's result: a response, or the error that becomes a problem response.
pub type ApiResult = Result<Response, ApiError>;

/// Any runtime failure becomes a logged, generic 500: its text never reaches the client.
pub fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
    worker::console_error!(
        "{}",
        serde_json::json!({"level":"error","msg":context,"error":err.to_string()})
    );
    ApiError::internal("The server failed to handle this request. It has been logged.")
}

/// Extension to turn `worker::Result` into an [`ApiError`] with context.
pub trait OrInternal<T> {
    fn or_internal(self, context: &str) -> Result<T, ApiError>;
}

impl<T, E: std::fmt::Display> OrInternal<T> for Result<T, E> {
    fn or_internal(self, context: &str) -> Result<T, ApiError> {
        self.map_err(|e| internal(context, e))
    }
}

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, body: &T) -> ApiResult {
    let bytes = serde_json::to_vec(body).or_internal("serialize response")?;
    let headers = Headers::new();
    headers
        .set("Content-Type", "application/json; charset=utf-8")
        .or_internal("set header")?;
    Ok(Response::builder()
        .with_status(status)
        .with_headers(headers)
        .fixed(bytes))
}

/// An empty response with `status` (204, 304…).
pub fn empty(status: u16) -> Response {
    Response::builder().with_status(status).empty()
}

/// The problem+json response for `err`. Never fails: a header that cannot be set is skipped.
pub fn problem(err: &ApiError, request_id: &str) -> Response {
    let body = err.to_problem(request_id).to_string();
    let headers = Headers::new();
    let _ = headers.set("Content-Type", "application/problem+json");
    for (name, value) in err.headers() {
        let _ = headers.set(name, value);
    }
    // RFC 9110: every 401 names the scheme to use.
    if err.status == 401 && !headers.has("WWW-Authenticate").unwrap_or(false) {
        let _ = headers.set("WWW-Authenticate", "Bearer");
    }
    Response::builder()
        .with_status(err.status)
        .with_headers(headers)
        .fixed(body.into_bytes())
}

/// Headers on every response: request id, CORS, and the security set. API responses carry
/// credentials-dependent data, so none may be cached by shared caches.
pub fn finish(resp: &mut Response, request_id: &str, cors: Vec<(&'static str, String)>) {
    let h = resp.headers_mut();
    let _ = h.set("X-Request-Id", request_id);
    let _ = h.set("X-Content-Type-Options", "nosniff");
    let _ = h.set("Referrer-Policy", "no-referrer");
    let _ = h.set("X-Frame-Options", "DENY");
    // A page (the rooms demo) sets its own, narrow policy.
    if !h.has("Content-Security-Policy").unwrap_or(false) {
        let _ = h.set(
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        );
    }
    let _ = h.set(
        "Strict-Transport-Security",
        "max-age=31536000; includeSubDomains",
    );
    if !h.has("Cache-Control").unwrap_or(false) {
        let _ = h.set("Cache-Control", "no-store");
    }
    let _ = h.append("Vary", "Origin");
    for (name, value) in cors {
        let _ = h.set(name, &value);
    }
}
