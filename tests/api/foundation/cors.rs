//! CORS: only the listed origin gets CORS headers, on answers, problems and preflights.

use super::{ECHO, LISTED_ORIGIN};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

const UNLISTED: [&str; 4] = [
    "https://evil.example",
    "https://app.test.example.evil.example",
    "http://app.test.example",
    "null",
];

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(listed_origin_gets_allow_origin_and_vary),
        trial!(unlisted_origins_get_no_cors_headers),
        trial!(preflight_from_listed_origin_is_answered),
        trial!(preflight_from_unlisted_origin_gets_no_cors_headers),
    ]
}

fn assert_no_cors(r: &Reply, origin: &str) {
    let cors: Vec<&str> = r
        .headers
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("access-control-allow"))
        .collect();
    assert!(
        cors.is_empty(),
        "origin {origin:?} got CORS headers {cors:?}"
    );
}

fn has_token(r: &Reply, header: &str, token: &str) -> bool {
    r.header_tokens(header)
        .iter()
        .any(|t| t.eq_ignore_ascii_case(token))
}

async fn listed_origin_gets_allow_origin_and_vary(s: &Suite) {
    let replies = [
        s.api
            .get("/health")
            .header("origin", LISTED_ORIGIN)
            .reply()
            .await,
        s.api
            .get("/nowhere")
            .header("origin", LISTED_ORIGIN)
            .reply()
            .await,
        s.api
            .post_json(ECHO, &json!({"name": "cors"}))
            .header("origin", LISTED_ORIGIN)
            .reply()
            .await,
    ];
    for r in replies {
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(LISTED_ORIGIN),
            "status {}",
            r.status
        );
        assert!(
            has_token(&r, "vary", "origin"),
            "Vary: {:?}",
            r.header_tokens("vary")
        );
    }
}

async fn unlisted_origins_get_no_cors_headers(s: &Suite) {
    for origin in UNLISTED {
        let r = s.api.get("/health").header("origin", origin).reply().await;
        r.expect_status(200);
        assert_no_cors(&r, origin);
    }
}

async fn preflight(s: &Suite, path: &str, origin: &str) -> Reply {
    s.api
        .request(Method::OPTIONS, path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type, authorization",
        )
        .reply()
        .await
}

async fn preflight_from_listed_origin_is_answered(s: &Suite) {
    for path in ["/health", ECHO] {
        let r = preflight(s, path, LISTED_ORIGIN).await;
        r.expect_status(204);
        assert_eq!(
            r.header("access-control-allow-origin"),
            Some(LISTED_ORIGIN),
            "{path}"
        );
        assert!(
            has_token(&r, "access-control-allow-methods", "POST"),
            "{path}: methods {:?}",
            r.header_tokens("access-control-allow-methods")
        );
        for h in ["authorization", "content-type"] {
            assert!(
                has_token(&r, "access-control-allow-headers", h),
                "{path}: headers {:?} lack {h}",
                r.header_tokens("access-control-allow-headers")
            );
        }
    }
}

async fn preflight_from_unlisted_origin_gets_no_cors_headers(s: &Suite) {
    for path in ["/health", ECHO] {
        for origin in UNLISTED {
            assert_no_cors(&preflight(s, path, origin).await, origin);
        }
    }
}
