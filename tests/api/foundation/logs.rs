//! Structured logs: one JSON line per request with id, method, route pattern, status and
//! duration; never a secret.

use super::job_api::{create_job, wait_final, JOB_DEADLINE};
use crate::support::{trial, Suite};
use edge_tests::{random, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(each_request_logs_one_json_line),
        trial!(logs_never_contain_secrets),
    ]
}

async fn each_request_logs_one_json_line(s: &Suite) {
    let id = random::unique("log-check");
    let r = s
        .api
        .get("/health")
        .header("x-request-id", &id)
        .reply()
        .await;
    r.expect_status(200);
    let line = s.worker.log_record(&id).await;
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["route"], "/health", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert!(
        line["duration_ms"].as_f64().is_some_and(|d| d >= 0.0),
        "{line}"
    );

    // The route is the pattern, not the raw path with its ids.
    let (id, tail) = (random::unique("log-check"), random::hex(12));
    let path = format!("/__test/jobs/job_{tail}");
    let r = s.api.get(&path).header("x-request-id", &id).reply().await;
    r.expect_status(404);
    let line = s.worker.log_record(&id).await;
    assert_eq!(line["status"], 404, "{line}");
    assert_eq!(line["method"], "GET", "{line}");
    let route = line["route"]
        .as_str()
        .unwrap_or_else(|| panic!("no route: {line}"));
    assert!(!route.contains(&tail), "the route holds the raw id: {line}");
    let lines = s.worker.log_records();
    let count = lines
        .iter()
        .filter(|l| l["request_id"] == id.as_str())
        .count();
    assert_eq!(count, 1, "exactly one line per request");

    // Org routes name their organization; others carry none.
    let account = crate::documents::kit::signup(&s.api).await;
    let id = random::unique("log-org");
    s.api
        .get(&format!("/v1/orgs/{}", account.org_id))
        .bearer_auth(&account.access)
        .header("x-request-id", &id)
        .reply()
        .await
        .expect_status(200);
    let line = s.worker.log_record(&id).await;
    assert_eq!(line["org_id"], account.org_id.as_str(), "{line}");
    assert_eq!(line["route"], "/v1/orgs/{org}", "{line}");
    let id = random::unique("log-org");
    s.api
        .get("/health")
        .header("x-request-id", &id)
        .reply()
        .await;
    let line = s.worker.log_record(&id).await;
    assert!(line["org_id"].is_null(), "{line}");
}

async fn logs_never_contain_secrets(s: &Suite) {
    // Exercise what touches secrets: a signed job delivery and a few refusals.
    let key = random::unique("log-secret");
    let job = create_job(&s.api, "email", json!({"test_key": key})).await;
    let done = wait_final(&s.api, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let id = random::unique("log-secret");
    let r = s
        .api
        .get("/nowhere")
        .header("x-request-id", &id)
        .reply()
        .await;
    r.expect_status(404);
    s.worker.log_record(&id).await;
    let logs = s.worker.logs();
    assert!(
        logs.contains("\"request_id\""),
        "no structured lines logged at all"
    );
    for name in [
        "ORIGIN_SECRET",
        "JWT_SIGNING_KEYS",
        "STRIPE_WEBHOOK_SECRET",
        "URL_SIGNING_SECRET",
        "WEBHOOK_SIGNING_KEY",
    ] {
        let value = s.worker.env_value(name);
        let material = value.rsplit(':').next().unwrap_or(value);
        assert!(!logs.contains(material), "the log contains {name}");
    }
}
