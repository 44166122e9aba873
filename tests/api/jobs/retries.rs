//! Retries as they run for real: with a real backoff base the second attempt comes after the
//! backoff, not at once; and when the queue itself gives up on a message (its `max_retries`,
//! 4 in wrangler.toml, below the worker's own `JOB_MAX_RETRIES` here), the message reaches the
//! dead-letter queue `JOBS_DLQ`, whose consumer marks the job `dead`.

use super::kit::{create, payload, signup, wait_final};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_real_backoff_base_spaces_the_attempts),
        trial!(the_queue_giving_up_dead_letters_the_job),
    ]
}

async fn a_real_backoff_base_spaces_the_attempts(s: &Suite) {
    // base 2 s: attempt 1's retry waits 1..2 s (equal jitter over 2 s).
    let worker = s
        .private_worker(WorkerOptions::new().var("JOB_RETRY_BASE_SECONDS", "2"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let key = random::unique("jobs-backoff");
    s.origin.script(
        &key,
        vec![
            Answer::Status(503),
            Answer::Json(200, json!({"later": true})),
        ],
    );
    let job = create(
        &by,
        &owner.org_id,
        "ai.generate",
        payload(s, "ai.generate", &key),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, &owner.org_id, id, Duration::from_secs(60)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 2, "one request per attempt");
    let gap = seen[1].at.duration_since(seen[0].at).unwrap_or_default();
    assert!(
        gap >= Duration::from_millis(900),
        "the retry came {gap:?} after the first attempt; the backoff is at least 1 s"
    );
    worker.stop();
}

async fn the_queue_giving_up_dead_letters_the_job(s: &Suite) {
    // The worker would retry 10 times; the queue gives up after its own 4 retries.
    let worker = s
        .private_worker(WorkerOptions::new().var("JOB_MAX_RETRIES", "10"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let key = random::unique("jobs-dlq");
    s.origin.script(&key, vec![Answer::Status(500)]);
    let job = create(&by, &owner.org_id, "email", payload(s, "email", &key)).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, &owner.org_id, id, Duration::from_secs(90)).await;
    // Dead after the queue's 5 deliveries, where the worker alone would have gone on to 11:
    // the dead-letter consumer marked it (keeping the last attempt's error).
    assert_eq!(done["status"], "dead", "{done}");
    assert_eq!(done["attempts"], 5, "{done}");
    assert!(
        done["error"].as_str().unwrap_or_default().contains("500"),
        "{done}"
    );
    // 1 delivery + the queue's 4 retries reached the origin, then nothing more.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(s.origin.requests_for(&key).len(), 5, "{done}");
    let lines = worker.log_records();
    assert!(
        lines
            .iter()
            .any(|l| l["msg"] == "job_dead_lettered" && l["job_id"] == id),
        "no job_dead_lettered line for {id}"
    );
    worker.stop();
}
