//! `GET /health`, `GET /health/ready`, and the 404 / 405 problems of the router.

use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(live_answers_ok_with_version),
        trial!(ready_checks_every_dependency),
        trial!(a_burst_of_ready_probes_shares_the_backend_checks),
        trial!(unknown_path_is_404_not_found),
        trial!(wrong_method_is_405_with_allow),
    ]
}

async fn live_answers_ok_with_version(s: &Suite) {
    let r = s.api.get("/health").reply().await;
    r.expect_status(200);
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let body = r.json();
    assert_eq!(body["status"], "ok", "{body}");
    assert!(
        body["version"].as_str().is_some_and(|v| !v.is_empty()),
        "version: {body}"
    );
}

async fn ready_checks_every_dependency(s: &Suite) {
    let r = s.api.get("/health/ready").reply().await;
    r.expect_status(200);
    let body = r.json();
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(
        body["checks"],
        json!({"d1": "ok", "r2": "ok", "tenant": "ok", "room": "ok"}),
        "{body}"
    );
}

/// 50 probes at once must not make 50 × 4 backend calls: each answer names the probe it
/// reports (`probe: {isolate, seq}`, one fan-out to D1, R2, TENANT and ROOM each), and the
/// burst shares a few of them; a probe a second later is fresh.
async fn a_burst_of_ready_probes_shares_the_backend_checks(s: &Suite) {
    let probe_of = |body: &serde_json::Value| {
        let p = &body["probe"];
        match (p["isolate"].as_str(), p["seq"].as_u64()) {
            (Some(i), Some(n)) => (i.to_owned(), n),
            _ => panic!("the answer names no probe: {body}"),
        }
    };
    let replies = futures_util::future::join_all(
        (0..50).map(|_| async { s.api.get("/health/ready").reply().await }),
    )
    .await;
    let mut probes = std::collections::BTreeSet::new();
    for r in &replies {
        r.expect_status(200);
        let body = r.json();
        assert_eq!(body["checks"]["d1"], "ok", "{body}");
        probes.insert(probe_of(&body));
    }
    assert!(
        probes.len() <= 10,
        "50 probes made {} fan-outs (4 backend calls each): {probes:?}",
        probes.len()
    );
    tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
    let r = s.api.get("/health/ready").reply().await;
    r.expect_status(200);
    let fresh = probe_of(&r.json());
    assert!(
        !probes.contains(&fresh),
        "a second later the answer is fresh: {fresh:?}"
    );
}

async fn unknown_path_is_404_not_found(s: &Suite) {
    let random_path = format!("/no-such-route-{}", random::hex(8));
    for path in [random_path.as_str(), "/v1/no-such-thing", "/health/nope"] {
        let p = s
            .api
            .get(path)
            .reply()
            .await
            .expect_problem(404, "not_found");
        assert!(!p.title.is_empty());
    }
}

async fn wrong_method_is_405_with_allow(s: &Suite) {
    // Methods the runtime's method type does not know (QUERY, PROPFIND) must not be served as
    // the GET they are not.
    let query = Method::from_bytes(b"QUERY").expect("method");
    let propfind = Method::from_bytes(b"PROPFIND").expect("method");
    for (method, path) in [
        (Method::POST, "/health"),
        (Method::DELETE, "/health/ready"),
        (query, "/health"),
        (propfind, "/v1/openapi.json"),
    ] {
        let r = s.api.request(method.clone(), path).reply().await;
        r.expect_problem(405, "method_not_allowed");
        let allow = r.header_tokens("allow");
        assert!(
            allow.iter().any(|m| m.eq_ignore_ascii_case("GET")),
            "{method} {path}: Allow is {allow:?}"
        );
        assert!(
            !allow
                .iter()
                .any(|m| m.eq_ignore_ascii_case(method.as_str())),
            "{method} {path}: Allow lists the refused method: {allow:?}"
        );
    }
}
