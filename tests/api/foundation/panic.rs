//! A panic in the worker becomes a clean 500 problem, and the next requests are served.
//! Exclusive: a panic takes down the wasm instance and every request in flight on it.

use super::headers::{assert_no_store, assert_security_headers};
use super::ECHO;
use crate::support::{trial, Suite};
use edge_tests::{random, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(exclusive panic_is_a_500_problem_and_the_worker_recovers)]
}

/// Words that would betray internals in a client-facing body.
const LEAKS: [&str; 8] = [
    "panic",
    ".rs",
    "src/",
    "stack",
    "backtrace",
    "wasm",
    "unwrap",
    "rust",
];

async fn panic_is_a_500_problem_and_the_worker_recovers(s: &Suite) {
    let mut last_id = String::new();
    for round in 0..3 {
        last_id = random::unique("crash-check");
        let r = s
            .api
            .get("/__test/panic")
            .header("x-request-id", &last_id)
            .reply()
            .await;
        let p = r.expect_problem(500, "internal");
        assert_eq!(p.request_id, last_id);
        assert_security_headers(&r, "panic 500");
        assert_no_store(&r, "panic 500");
        let body = r.text().to_lowercase();
        for leak in LEAKS {
            assert!(
                !body.contains(leak),
                "the 500 body reveals {leak:?}: {body}"
            );
        }

        s.api.get("/health").reply().await.expect_status(200);
        let echo = json!({"name": "after the panic", "count": round});
        let r = s.api.post_json(ECHO, &echo).reply().await;
        r.expect_status(200);
        assert_eq!(r.json(), echo);
    }
    let logged = s.worker.log_record(&last_id).await;
    assert_eq!(logged["status"], 500, "{logged}");
}
