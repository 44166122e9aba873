//! Delivery of jobs made through the public API to `${ORIGIN_URL}/jobs/{type}`: envelope,
//! headers and signature; retries after 5xx and timeouts; 4xx fails at once; `dead` after the
//! retry limit; 100 jobs at once each delivered once per attempt; `job.updated` room events.

use super::kit::{
    assert_signed, create, file_payload, get_job, jobs_path, payload, signup, upload_file,
    wait_final, Caller, JOB_DEADLINE, SETTLE,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer, WorkerOptions};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(delivery_is_signed_with_the_job_envelope_and_headers),
        trial!(two_5xx_then_200_succeeds_on_attempt_3),
        trial!(always_5xx_is_dead_after_5_attempts),
        trial!(a_422_fails_after_one_attempt),
        trial!(a_slow_origin_is_retried),
        trial!(status_changes_are_published_to_the_jobs_room),
        trial!(a_hundred_jobs_at_once_each_delivered_once_per_attempt),
    ]
}

async fn delivery_is_signed_with_the_job_envelope_and_headers(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-env");
    let file = upload_file(&by, org).await;
    let p = file_payload(&key, &file);
    let job = create(&by, org, "file.process", p.clone()).await;
    let id = job["id"].as_str().unwrap();
    let seen = s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    let d = &seen[0];
    assert_eq!(
        (d.method.as_str(), d.path.as_str()),
        ("POST", "/jobs/file.process")
    );
    assert_eq!(d.header("x-job-id"), Some(id));
    assert_eq!(d.header("x-org-id"), Some(org.as_str()));
    assert_eq!(d.header("x-attempt"), Some("1"));
    assert_eq!(d.header("x-job-type"), Some("file.process"));
    assert!(
        d.header("content-type")
            .unwrap_or_default()
            .starts_with("application/json"),
        "content-type: {:?}",
        d.header("content-type")
    );
    assert!(
        d.header("authorization").is_none(),
        "the caller's token reached the origin"
    );
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), d);
    let body = d.json();
    assert_eq!(
        body,
        json!({"id": id, "type": "file.process", "org_id": org, "attempt": 1, "source": "api", "payload": p}),
        "the delivery envelope"
    );
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], json!({"ok": true}), "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "delivered more than once"
    );
}

async fn two_5xx_then_200_succeeds_on_attempt_3(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-retry");
    s.origin.script(
        &key,
        vec![
            Answer::Status(500),
            Answer::Status(500),
            Answer::Json(200, json!({"third": true})),
        ],
    );
    let job = create(&by, org, "ai.generate", payload(s, "ai.generate", &key)).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 3, "{done}");
    assert_eq!(done["result"], json!({"third": true}), "{done}");
    tokio::time::sleep(SETTLE).await;
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 3, "one request per attempt");
    let secret = s.worker.env_value("ORIGIN_SECRET");
    for (n, d) in seen.iter().enumerate() {
        let attempt = n + 1;
        assert_eq!(d.header("x-job-id"), Some(id));
        assert_eq!(d.header("x-attempt"), Some(attempt.to_string().as_str()));
        assert_eq!(d.json()["attempt"], attempt, "delivery {attempt}");
        assert_signed(secret, d);
    }
}

async fn always_5xx_is_dead_after_5_attempts(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-dead");
    s.origin.script(&key, vec![Answer::Status(500)]);
    let job = create(&by, org, "email", payload(s, "email", &key)).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, Duration::from_secs(90)).await;
    assert_eq!(done["status"], "dead", "{done}");
    assert_eq!(
        done["attempts"], 5,
        "JOB_MAX_RETRIES=4: 1 + 4 attempts: {done}"
    );
    assert!(
        done["error"].as_str().unwrap_or_default().contains("500"),
        "the error names the origin's 500: {done}"
    );
    tokio::time::sleep(SETTLE).await;
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 5, "one request per attempt");
    let attempts: Vec<&str> = seen.iter().filter_map(|d| d.header("x-attempt")).collect();
    assert_eq!(attempts, ["1", "2", "3", "4", "5"]);
    let later = get_job(&by, org, id).await;
    assert_eq!(later["status"], "dead", "{later}");
}

async fn a_422_fails_after_one_attempt(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-422");
    s.origin
        .script(&key, vec![Answer::Json(422, json!({"error": "bad input"}))]);
    let file = upload_file(&by, org).await;
    let job = create(&by, org, "file.process", file_payload(&key, &file)).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert!(
        done["error"].as_str().unwrap_or_default().contains("422"),
        "the error names the origin's 422: {done}"
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(s.origin.requests_for(&key).len(), 1, "a 4xx was retried");
    assert_eq!(get_job(&by, org, id).await["status"], "failed");
}

async fn a_slow_origin_is_retried(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-slow");
    // ORIGIN_TIMEOUT_MS is 2000 in the tests.
    s.origin.script(
        &key,
        vec![
            Answer::slow(3_500, Answer::Json(200, json!({"late": true}))),
            Answer::Json(200, json!({"in_time": true})),
        ],
    );
    let job = create(&by, org, "ai.generate", payload(s, "ai.generate", &key)).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["result"], json!({"in_time": true}), "{done}");
    tokio::time::sleep(SETTLE).await;
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 2, "one request per attempt");
    assert_eq!(seen[1].header("x-attempt"), Some("2"));
}

async fn status_changes_are_published_to_the_jobs_room(s: &Suite) {
    let (owner, other) = tokio::join!(signup(&s.api), signup(&s.api));
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    // Real sockets in the `jobs` rooms of both organizations, joined before the job exists.
    let (mut ws, _) = crate::rooms::kit::connect(&s.api, &owner.access, org, "jobs").await;
    let (mut theirs, _) =
        crate::rooms::kit::connect(&s.api, &other.access, &other.org_id, "jobs").await;
    let key = random::unique("jobs-events");
    s.origin.script(
        &key,
        vec![Answer::Status(503), Answer::Json(200, json!({"ok": 2}))],
    );
    let job = create(&by, org, "ai.generate", payload(s, "ai.generate", &key)).await;
    let id = job["id"].as_str().unwrap();
    let mut events: Vec<Value> = Vec::new();
    while !events.iter().any(|e| e["job"]["status"] == "succeeded") {
        let frame = ws.next_of("job.updated", JOB_DEADLINE).await;
        if frame["job"]["id"] == id {
            events.push(frame);
        }
    }
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    for e in &events {
        assert_eq!(e["type"], "job.updated", "{e}");
        assert_eq!(e["job"]["type"], "ai.generate", "{e}");
        for k in ["id", "type", "status", "attempts", "error"] {
            assert!(e["job"].get(k).is_some(), "event job lacks {k}: {e}");
        }
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["ts"].as_str().unwrap_or_default()).is_ok(),
            "ts: {e}"
        );
    }
    let last = events.last().unwrap();
    assert_eq!(
        last["job"]["status"], "succeeded",
        "the last event: {events:?}"
    );
    assert_eq!(last["job"]["attempts"], 2, "{last}");
    // The failed first attempt was announced too (back to queued, with its error).
    assert!(
        events
            .iter()
            .any(|e| e["job"]["attempts"] == 1 && e["job"]["status"] != "succeeded"),
        "no event for the failed first attempt: {events:?}"
    );
    // Another org's socket in its own `jobs` room got nothing of it.
    let seen = theirs.drain(Duration::from_millis(800)).await;
    assert!(
        !Value::from(seen.clone()).to_string().contains(id),
        "{seen:?}"
    );
    ws.close().await;
    theirs.close().await;
}

async fn a_hundred_jobs_at_once_each_delivered_once_per_attempt(s: &Suite) {
    let worker = s
        .private_worker(
            WorkerOptions::new()
                .var(
                    "PLAN_LIMITS",
                    r#"{"free":{"jobs_per_day":1000,"requests_per_minute":100000},"auth_per_minute":100000}"#,
                )
                // A loaded machine must not turn slow answers into timeouts (and retries).
                .var("ORIGIN_TIMEOUT_MS", "15000"),
        )
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = Caller::new(&api, &owner.access);
    let org = &owner.org_id;
    let prefix = random::unique("jobs-100");
    // Every seventh job fails twice first; every eleventh is refused (4xx).
    let mut keys = Vec::new();
    for n in 0..100usize {
        let key = format!("{prefix}-{n}");
        if n.is_multiple_of(7) {
            s.origin.script(
                &key,
                vec![
                    Answer::Status(500),
                    Answer::Status(502),
                    Answer::Json(200, json!({"n": n})),
                ],
            );
        } else if n.is_multiple_of(11) {
            s.origin.script(&key, vec![Answer::Status(409)]);
        }
        keys.push(key);
    }
    let types = ["email", "file.process", "ai.generate"];
    let file = upload_file(&by, org).await;
    let created = join_all(keys.iter().enumerate().map(|(n, key)| {
        let job_type = types[n % 3];
        let by = by.clone();
        let p = match job_type {
            "file.process" => file_payload(key, &file),
            other => payload(s, other, key),
        };
        async move { create(&by, org, job_type, p).await }
    }))
    .await;
    let ids: BTreeMap<String, usize> = created
        .iter()
        .enumerate()
        .map(|(n, j)| (j["id"].as_str().unwrap().to_owned(), n))
        .collect();
    assert_eq!(ids.len(), 100, "100 distinct job ids");

    // Every job reaches a final status (read through the list, 100 per page).
    let list_all = || async {
        let r = by.get(&format!("{}?limit=100", jobs_path(org))).await;
        r.expect_status(200);
        r.json()["items"].as_array().cloned().unwrap_or_default()
    };
    let finals = edge_tests::eventually(
        "100 jobs in a final status",
        Duration::from_secs(90),
        || async {
            let items = list_all().await;
            let done = items
                .iter()
                .filter(|j| ids.contains_key(j["id"].as_str().unwrap_or_default()))
                .filter(|j| super::kit::is_final(j))
                .count();
            (done == 100).then_some(items)
        },
    )
    .await;
    tokio::time::sleep(SETTLE).await;

    let mut per_job: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in s.origin.requests() {
        if r.key.as_deref().is_some_and(|k| k.starts_with(&prefix)) {
            let id = r.header("x-job-id").unwrap_or_default().to_owned();
            let attempt = r.header("x-attempt").unwrap_or_default().to_owned();
            per_job.entry(id).or_default().push(attempt);
        }
    }
    for job in &finals {
        let id = job["id"].as_str().unwrap();
        let n = ids[id];
        let (status, attempts) = if n.is_multiple_of(7) {
            ("succeeded", 3)
        } else if n.is_multiple_of(11) {
            ("failed", 1)
        } else {
            ("succeeded", 1)
        };
        let seen = per_job.get(id).cloned().unwrap_or_default();
        let counted = job["attempts"].as_u64().unwrap_or(0) as usize;
        let per_attempt: Vec<String> = (1..=counted).map(|a| a.to_string()).collect();
        assert_eq!(
            seen, per_attempt,
            "job {n} ({id}): the origin's X-Attempt values vs attempts {counted}: {job}"
        );
        assert_eq!(job["status"], status, "job {n}: {job}");
        assert_eq!(job["attempts"], attempts, "job {n}: {job}");
    }
    assert_eq!(per_job.len(), 100, "deliveries for jobs not created");
}
