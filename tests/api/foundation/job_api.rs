//! The test-only job routes (`POST /__test/jobs`, `GET /__test/jobs/{id}`): helpers the job
//! tests share, and the routes' own refusals.

use crate::support::{trial, Suite};
use edge_tests::{random, signature, Api, Recorded, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

/// The job types delivered to the origin (`webhook.deliver` goes to an endpoint of an
/// organization: `jobs::webhook`).
pub const TYPES: [&str; 3] = ["email", "file.process", "ai.generate"];
/// How long a job may take to reach a final status.
pub const JOB_DEADLINE: Duration = Duration::from_secs(30);

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(invalid_jobs_are_400_validation_failed),
        trial!(unknown_job_is_404),
    ]
}

/// `POST /__test/jobs`; asserts the 202 answer's shape and returns it.
pub async fn create_job(api: &Api, job_type: &str, payload: Value) -> Value {
    let body = json!({"type": job_type, "payload": payload});
    let r = api.post_json("/__test/jobs", &body).reply().await;
    r.expect_status(202);
    let job = r.json();
    assert_prefixed_id(&job["id"], "job_");
    assert_prefixed_id(&job["org_id"], "org_");
    assert_eq!(job["type"], job_type, "{job}");
    assert_eq!(job["status"], "queued", "{job}");
    job
}

/// An id of `prefix` and at least 96 random bits (16 chars of base32 or more).
fn assert_prefixed_id(id: &Value, prefix: &str) {
    let id = id
        .as_str()
        .unwrap_or_else(|| panic!("id {id} is not a string"));
    let rest = id
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{id} lacks {prefix}"));
    assert!(rest.len() >= 16, "{id} is too short to hold 96 random bits");
}

/// `GET /__test/jobs/{id}`; asserts the job's shape.
pub async fn get_job(api: &Api, id: &str) -> Value {
    let r = api.get(&format!("/__test/jobs/{id}")).reply().await;
    r.expect_status(200);
    let job = r.json();
    for key in [
        "id", "org_id", "type", "status", "attempts", "result", "error",
    ] {
        assert!(job.get(key).is_some(), "job lacks `{key}`: {job}");
    }
    assert_eq!(job["id"], id);
    assert!(job["attempts"].is_u64(), "attempts: {job}");
    for key in ["created_at", "updated_at"] {
        let at = job[key].as_str().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{key} is not RFC 3339: {job}"
        );
    }
    job
}

/// Polls the job until it is `succeeded`, `failed` or `dead`.
pub async fn wait_final(api: &Api, id: &str, deadline: Duration) -> Value {
    let what = format!("job {id} to reach a final status");
    edge_tests::eventually(&what, deadline, || async {
        let job = get_job(api, id).await;
        ["succeeded", "failed", "dead"]
            .contains(&job["status"].as_str().unwrap_or_default())
            .then_some(job)
    })
    .await
}

/// The delivery carries a valid `X-Signature` (ORIGIN_SECRET over the `edge-job.v1` string of
/// its job headers and body, timestamp within 60 s).
pub fn assert_signed(s: &Suite, delivery: &Recorded) {
    let header = delivery
        .header("x-signature")
        .expect("X-Signature on a delivery");
    let secret = s.worker.env_value("ORIGIN_SECRET");
    let h = |n: &str| delivery.header(n).unwrap_or_default().to_owned();
    let (id, ty, org, attempt) = (
        h("x-job-id"),
        h("x-job-type"),
        h("x-org-id"),
        h("x-attempt"),
    );
    let message = |t| signature::job_message(t, &id, &ty, &org, &attempt, &delivery.body);
    if let Err(e) = signature::verify_with(secret, header, message, signature::unix_now(), 60) {
        panic!(
            "bad X-Signature on {} {}: {e}",
            delivery.method, delivery.path
        );
    }
}

async fn invalid_jobs_are_400_validation_failed(s: &Suite) {
    let cases = [
        (json!({"type": "nope", "payload": {}}), "type"),
        (json!({"type": "", "payload": {}}), "type"),
        (json!({"type": 7, "payload": {}}), "type"),
        (json!({"type": "email", "payload": "x"}), "payload"),
        (json!({"type": "email", "payload": 5}), "payload"),
        (json!({"type": "email", "payload": [1]}), "payload"),
        (json!({"type": "email", "payload": null}), "payload"),
        (json!({"type": "email"}), "payload"),
    ];
    for (body, field) in cases {
        let r = s.api.post_json("/__test/jobs", &body).reply().await;
        let p = r.problem();
        assert_eq!(
            (p.status, p.code.as_str()),
            (400, "validation_failed"),
            "{body}"
        );
        p.expect_field(field);
    }
    let body = json!({"type": "email", "payload": {}, "status": "succeeded"});
    let r = s.api.post_json("/__test/jobs", &body).reply().await;
    r.expect_problem(400, "unknown_field")
        .expect_field("status");
}

async fn unknown_job_is_404(s: &Suite) {
    let unknown = format!("job_{}", random::hex(12));
    for id in [unknown.as_str(), "nope", "org_0000000000000000"] {
        let r = s.api.get(&format!("/__test/jobs/{id}")).reply().await;
        r.expect_problem(404, "not_found");
    }
}
