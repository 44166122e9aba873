//! The test-only routes exist only where `ENABLE_TEST_ROUTES` is `true`: a worker started
//! with the production value (`false`, as in wrangler.toml) answers every `/__test/*` path
//! with 404 and serves the public API as usual.

use crate::support::{trial, Suite};
use edge_tests::{SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(test_routes_are_absent_without_the_flag)]
}

async fn test_routes_are_absent_without_the_flag(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("ENABLE_TEST_ROUTES", "false"))
        .await;
    let api = worker.api();
    // The same paths on the shared worker (flag on) are served: the positive control.
    s.api
        .post_json(super::ECHO, &json!({"name": "x"}))
        .reply()
        .await
        .expect_status(200);
    let calls = [
        ("GET", "/__test/panic".to_owned()),
        ("POST", "/__test/sweep".to_owned()),
        ("POST", super::ECHO.to_owned()),
        ("GET", "/__test/files/org_0000000000000000".to_owned()),
        ("GET", "/__test/r2/some-key".to_owned()),
        ("PUT", "/__test/r2/some-key".to_owned()),
        ("POST", "/__test/jobs".to_owned()),
        ("GET", "/__test/jobs/job_0000000000000000".to_owned()),
        ("GET", "/__test/bench/password-hash".to_owned()),
        ("GET", "/__test/bench/jwt-verify".to_owned()),
    ];
    for (method, path) in &calls {
        let m = edge_tests::Method::from_bytes(method.as_bytes()).expect("method");
        let r = api
            .request(m, path)
            .header("content-type", "application/json")
            .body(r#"{"name":"x"}"#)
            .reply()
            .await;
        assert_eq!(r.status, 404, "{method} {path} answered {}", r.text());
        r.expect_problem(404, "not_found");
    }
    // The worker is otherwise whole.
    api.get("/health").reply().await.expect_status(200);
    worker.stop();
}
