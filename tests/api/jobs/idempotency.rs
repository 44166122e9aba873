//! `Idempotency-Key` on `POST /v1/orgs/{org}/jobs`: a replay names the same job, a different
//! payload under the key is refused, and concurrent requests with one key make one job.

use super::kit::{assert_accepted, jobs_path, payload, signup, wait_final, JOB_DEADLINE, SETTLE};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(idempotency_key_replays_and_refuses_a_different_payload),
        trial!(concurrent_requests_with_one_idempotency_key_make_one_job),
    ]
}

async fn idempotency_key_replays_and_refuses_a_different_payload(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-idem");
    let idem = random::unique("idem");
    let body = json!({"type": "ai.generate", "payload": payload(s, "ai.generate", &key)});
    let send = |body: Value| {
        by.request(Method::POST, &jobs_path(org))
            .header("Idempotency-Key", idem.clone())
            .json(&body)
            .reply()
    };
    let first = send(body.clone()).await;
    let job = assert_accepted(&first, org, "ai.generate");
    assert_ne!(first.header("idempotent-replayed"), Some("true"));
    let again = send(body.clone()).await;
    again.expect_status(202);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.json()["id"],
        job["id"],
        "the replay names the same job"
    );
    assert_eq!(again.header("location"), first.header("location"));

    let mut other = body.clone();
    other["payload"]["prompt"] = json!("Something else.");
    send(other).await.expect_status(422);

    let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "one job, one delivery"
    );
    let list = by.get(&jobs_path(org)).await.json();
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "one job: {list}"
    );
}

async fn concurrent_requests_with_one_idempotency_key_make_one_job(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-idem-race");
    let idem = random::unique("idem-race");
    let body = json!({"type": "email", "payload": payload(s, "email", &key)});
    let replies = join_all((0..6).map(|_| {
        by.request(Method::POST, &jobs_path(org))
            .header("Idempotency-Key", idem.clone())
            .json(&body)
            .reply()
    }))
    .await;
    let mut ids = BTreeSet::new();
    for r in &replies {
        match r.status {
            202 => {
                ids.insert(r.json()["id"].as_str().unwrap().to_owned());
            }
            409 => {
                r.expect_problem(409, r.problem().code.as_str());
            }
            other => panic!(
                "unexpected {other} for a concurrent idempotent create: {}",
                r.text()
            ),
        }
    }
    assert_eq!(ids.len(), 1, "one key, one job: {ids:?}");
    let id = ids.into_iter().next().unwrap();
    let done = wait_final(&by, org, &id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "one job, one delivery"
    );
    let list = by.get(&jobs_path(org)).await.json();
    let mine: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["type"] == "email")
        .collect();
    assert_eq!(mine.len(), 1, "one email job in the org: {list}");
}
