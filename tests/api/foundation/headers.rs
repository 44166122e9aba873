//! Security headers on answers and problems; `Cache-Control: no-store` on API responses.

use super::{ECHO, LISTED_ORIGIN};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(security_headers_on_answers_and_problems)]
}

/// `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`.
pub fn assert_security_headers(r: &Reply, what: &str) {
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
}

pub fn assert_no_store(r: &Reply, what: &str) {
    let cache = r.header_tokens("cache-control");
    assert!(
        cache.iter().any(|t| t.eq_ignore_ascii_case("no-store")),
        "{what}: Cache-Control {cache:?}"
    );
}

async fn security_headers_on_answers_and_problems(s: &Suite) {
    let health = s.api.get("/health").reply().await;
    health.expect_status(200);
    assert_security_headers(&health, "GET /health");

    let preflight = s
        .api
        .request(Method::OPTIONS, ECHO)
        .header("origin", LISTED_ORIGIN)
        .header("access-control-request-method", "POST")
        .reply()
        .await;
    assert_security_headers(&preflight, "preflight");

    let no_store = [
        (
            "echo 200",
            s.api.post_json(ECHO, &json!({"name": "h"})).reply().await,
            200,
        ),
        (
            "echo 400",
            s.api.post_json(ECHO, &json!({"name": ""})).reply().await,
            400,
        ),
        ("404", s.api.get("/nowhere").reply().await, 404),
        ("/v1 404", s.api.get("/v1/nothing-here").reply().await, 404),
        (
            "405",
            s.api.request(Method::POST, "/health").reply().await,
            405,
        ),
    ];
    for (what, r, status) in no_store {
        r.expect_status(status);
        assert_security_headers(&r, what);
        assert_no_store(&r, what);
    }
}
