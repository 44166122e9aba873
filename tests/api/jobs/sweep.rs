//! Duplicate delivery does not run a job twice: extra queue messages for a job (sent while it
//! runs, and after it succeeded) never reach the origin again; the stuck-job sweep
//! (`POST /__test/sweep`) re-sends nothing for jobs that are seconds old, and does re-send a
//! job whose lease ran out.

use super::kit::{
    assert_signed, create, get_job, payload, signup, wait_final, JOB_DEADLINE, SETTLE,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer, SendExt, WorkerOptions};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(duplicate_messages_never_reach_the_origin_twice),
        trial!(sweeping_right_after_create_delivers_once),
        trial!(sweeping_during_retries_keeps_one_request_per_attempt),
        trial!(a_running_job_whose_worker_died_is_resent_after_its_lease),
    ]
}

/// A sweep of the shared worker, whose jobs are all young and live: it must resend nothing.
async fn sweep(s: &Suite) {
    let sent = sweep_on(&s.api).await;
    assert_eq!(sent, 0, "the sweep resent messages for young, live jobs");
}

/// Runs the sweep; how many messages it sent.
async fn sweep_on(api: &edge_tests::Api) -> u64 {
    let r = api.post_json("/__test/sweep", &json!({})).reply().await;
    r.expect_status(200);
    let report = r.json();
    report["messages_sent"]
        .as_u64()
        .unwrap_or_else(|| panic!("sweep report: {report}"))
}

/// One more queue message for job `id`, as a queue's at-least-once delivery may send.
async fn redeliver(api: &edge_tests::Api, id: &str) {
    api.post_json(&format!("/__test/jobs/{id}/redeliver"), &json!({}))
        .reply()
        .await
        .expect_status(202);
}

async fn duplicate_messages_never_reach_the_origin_twice(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-dup");
    // Attempt 1 fails slowly (duplicates arrive while it runs), attempt 2 succeeds.
    s.origin.script(
        &key,
        vec![
            Answer::slow(1500, Answer::Status(503)),
            Answer::Json(200, json!({"ok": true})),
        ],
    );
    let job = create(&by, org, "ai.generate", payload(s, "ai.generate", &key)).await;
    let id = job["id"].as_str().unwrap().to_owned();
    s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    // While attempt 1 is at the origin: three duplicates.
    join_all((0..3).map(|_| redeliver(&s.api, &id))).await;
    let done = wait_final(&by, org, &id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    // After it succeeded: two more.
    join_all((0..2).map(|_| redeliver(&s.api, &id))).await;
    tokio::time::sleep(SETTLE * 2).await;
    let attempts: Vec<String> = s
        .origin
        .requests_for(&key)
        .iter()
        .map(|d| d.header("x-attempt").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        attempts,
        ["1", "2"],
        "one origin request per counted attempt"
    );
    let row = get_job(&by, org, &id).await;
    assert_eq!(
        (row["status"].as_str(), row["attempts"].as_u64()),
        (Some("succeeded"), Some(2)),
        "{row}"
    );
    // The consumer logged each duplicate as not delivered.
    let lines = s.worker.log_records();
    let deliveries = lines
        .iter()
        .filter(|l| l["msg"] == "job_delivery" && l["job_id"] == id.as_str())
        .count();
    assert_eq!(deliveries, 2, "deliveries logged for {id}");
}

async fn sweeping_right_after_create_delivers_once(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let mut jobs = Vec::new();
    for n in 0..4 {
        let key = random::unique("jobs-sweep");
        // A delivery that takes a while (within the 2 s timeout), so sweeps hit it running.
        s.origin.script(
            &key,
            vec![Answer::slow(800, Answer::Json(200, json!({"n": n})))],
        );
        let job = create(&by, org, "ai.generate", payload(s, "ai.generate", &key)).await;
        sweep(s).await;
        jobs.push((key, job["id"].as_str().unwrap().to_owned()));
    }
    for _ in 0..5 {
        join_all((0..3).map(|_| sweep(s))).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    for (_, id) in &jobs {
        let done = wait_final(&by, org, id, JOB_DEADLINE).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["attempts"], 1, "{done}");
    }
    sweep(s).await;
    tokio::time::sleep(SETTLE).await;
    for (key, id) in &jobs {
        let seen = s.origin.requests_for(key);
        assert_eq!(
            seen.len(),
            1,
            "job {id} reached the origin {} times",
            seen.len()
        );
        assert_eq!(seen[0].header("x-attempt"), Some("1"));
        assert_signed(s.worker.env_value("ORIGIN_SECRET"), &seen[0]);
        let row = get_job(&by, org, id).await;
        assert_eq!(
            (row["status"].as_str(), row["attempts"].as_u64()),
            (Some("succeeded"), Some(1)),
            "{row}"
        );
    }
}

async fn sweeping_during_retries_keeps_one_request_per_attempt(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("jobs-sweep-retry");
    s.origin.script(
        &key,
        vec![
            Answer::slow(500, Answer::Status(500)),
            Answer::slow(500, Answer::Status(503)),
            Answer::slow(500, Answer::Json(200, json!({"done": true}))),
        ],
    );
    let file = super::kit::upload_file(&by, org).await;
    let job = create(
        &by,
        org,
        "file.process",
        super::kit::file_payload(&key, &file),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let sweeping = async {
        for _ in 0..15 {
            sweep(s).await;
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        }
    };
    let (done, ()) = tokio::join!(wait_final(&by, org, id, JOB_DEADLINE), sweeping);
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 3, "{done}");
    sweep(s).await;
    tokio::time::sleep(SETTLE).await;
    let attempts: Vec<String> = s
        .origin
        .requests_for(&key)
        .iter()
        .map(|d| d.header("x-attempt").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(attempts, ["1", "2", "3"], "one origin request per attempt");
    let row = get_job(&by, org, id).await;
    assert_eq!(row["attempts"], 3, "{row}");
    assert_eq!(row["result"], json!({"done": true}), "{row}");
}

async fn a_running_job_whose_worker_died_is_resent_after_its_lease(s: &Suite) {
    // A long origin timeout, so the worker is surely killed mid-delivery; the lease is the
    // timeout plus 30 s.
    let worker = s
        .private_worker(WorkerOptions::new().var("ORIGIN_TIMEOUT_MS", "8000"))
        .await;
    let owner = signup(&worker.api()).await;
    let org = owner.org_id.clone();
    let key = random::unique("jobs-lease");
    s.origin.script(
        &key,
        vec![
            Answer::slow(60_000, Answer::Json(200, json!({"first": true}))),
            Answer::Json(200, json!({"second": true})),
        ],
    );
    let job = create(
        &owner.on(&worker.api()),
        &org,
        "ai.generate",
        payload(s, "ai.generate", &key),
    )
    .await;
    let id = job["id"].as_str().unwrap().to_owned();
    s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    // The consumer dies while the origin is still working on attempt 1.
    worker
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    let api = worker.api();
    let by = owner.on(&api);
    let row = get_job(&by, &org, &id).await;
    assert_eq!(row["status"], "running", "after the restart: {row}");
    assert_eq!(row["attempts"], 1, "{row}");
    // Once the lease runs out, the sweep hands the job back to the queue.
    let resent = std::sync::atomic::AtomicU64::new(0);
    edge_tests::eventually(
        "the second attempt after the lease ran out",
        std::time::Duration::from_secs(75),
        || async {
            let sent = sweep_on(&api).await;
            resent.fetch_add(sent, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            (s.origin.requests_for(&key).len() >= 2).then_some(())
        },
    )
    .await;
    let resent = resent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        resent > 0,
        "the second attempt came without the sweep resending it"
    );
    let done = wait_final(&by, &org, &id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 2, "{done}");
    assert_eq!(done["result"], json!({"second": true}), "{done}");
    assert_eq!(sweep_on(&api).await, 0, "a finished job was resent");
    tokio::time::sleep(SETTLE).await;
    let attempts: Vec<String> = s
        .origin
        .requests_for(&key)
        .iter()
        .map(|d| d.header("x-attempt").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(attempts, ["1", "2"], "one origin request per attempt");
}
