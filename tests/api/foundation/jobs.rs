//! The job transport: a queued job is POSTed, signed, to `${ORIGIN_URL}/jobs/{type}`; 2xx
//! succeeds, 4xx fails at once, 5xx and timeouts are retried until the limit, then `dead`.

use super::job_api::{assert_signed, create_job, wait_final, JOB_DEADLINE, TYPES};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(delivered_once_signed_and_succeeds),
        trial!(every_type_goes_to_its_path),
        trial!(retried_after_5xx_then_succeeds),
        trial!(retried_after_origin_timeout),
        trial!(fails_without_retry_on_4xx),
        trial!(dead_after_the_retry_limit),
    ]
}

/// After a final status, a further delivery would come quickly (retry base is 0 s).
const SETTLE: Duration = Duration::from_secs(3);

async fn delivered_once_signed_and_succeeds(s: &Suite) {
    let key = random::unique("job-a");
    let payload = json!({"test_key": key, "to": random::email(), "n": [1, 2]});
    let job = create_job(&s.api, "email", payload.clone()).await;
    let id = job["id"].as_str().unwrap();

    let seen = s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    let d = &seen[0];
    assert_eq!(
        (d.method.as_str(), d.path.as_str()),
        ("POST", "/jobs/email")
    );
    assert_eq!(d.header("x-job-id"), Some(id));
    assert_eq!(d.header("x-org-id"), job["org_id"].as_str());
    assert_signed(s, d);
    let body = d.json();
    assert_eq!(body["id"], job["id"]);
    assert_eq!(body["type"], "email");
    assert_eq!(body["org_id"], job["org_id"]);
    assert_eq!(body["attempt"], 1);
    assert_eq!(body["payload"], payload);

    let done = wait_final(&s.api, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], json!({"ok": true}), "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["org_id"], job["org_id"]);
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "delivered more than once"
    );
}

async fn every_type_goes_to_its_path(s: &Suite) {
    for job_type in TYPES {
        let key = random::unique("job-type");
        let (server, payload) = (&s.origin, json!({"test_key": key}));
        server.script(&key, vec![Answer::Json(200, json!({"type": job_type}))]);
        let job = create_job(&s.api, job_type, payload).await;
        let seen = server.wait_for(&key, 1, JOB_DEADLINE).await;
        assert_eq!(seen[0].path, format!("/jobs/{job_type}"));
        assert_signed(s, &seen[0]);
        let done = wait_final(&s.api, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"], json!({"type": job_type}), "{done}");
    }
}

async fn retried_after_5xx_then_succeeds(s: &Suite) {
    let key = random::unique("job-b");
    s.origin.script(
        &key,
        vec![
            Answer::Status(500),
            Answer::Json(200, json!({"second": key})),
        ],
    );
    let job = create_job(&s.api, "ai.generate", json!({"test_key": key})).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&s.api, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["result"], json!({"second": key}), "{done}");
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 2);
    for (n, d) in seen.iter().enumerate() {
        assert_eq!(d.header("x-job-id"), Some(id));
        assert_eq!(
            d.json()["attempt"],
            n + 1,
            "attempt number of delivery {}",
            n + 1
        );
        assert_signed(s, d);
    }
}

async fn retried_after_origin_timeout(s: &Suite) {
    let key = random::unique("job-slow");
    // ORIGIN_TIMEOUT_MS is 2000: the first answer comes too late.
    let late = Answer::slow(3_500, Answer::Json(200, json!({"late": true})));
    s.origin
        .script(&key, vec![late, Answer::Json(200, json!({"in_time": key}))]);
    let job = create_job(&s.api, "file.process", json!({"test_key": key})).await;
    let done = wait_final(&s.api, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["result"], json!({"in_time": key}), "{done}");
}

async fn fails_without_retry_on_4xx(s: &Suite) {
    let key = random::unique("job-c");
    s.origin.script(&key, vec![Answer::Status(400)]);
    let job = create_job(&s.api, "ai.generate", json!({"test_key": key})).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&s.api, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("400"),
        "error should name the origin's 400: {done}"
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(s.origin.requests_for(&key).len(), 1, "a 4xx was retried");
    let later = super::job_api::get_job(&s.api, id).await;
    assert_eq!(later["status"], "failed", "{later}");
}

async fn dead_after_the_retry_limit(s: &Suite) {
    let key = random::unique("job-dead");
    s.origin.script(&key, vec![Answer::Status(503)]);
    let job = create_job(&s.api, "email", json!({"test_key": key})).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&s.api, id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "dead", "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("503"),
        "error should name the origin's 503: {done}"
    );
    tokio::time::sleep(SETTLE).await;
    let deliveries = s.origin.requests_for(&key).len();
    assert!(deliveries >= 2, "a 5xx was never retried");
    assert_eq!(
        done["attempts"], deliveries,
        "attempts must count deliveries: {done}"
    );
}
