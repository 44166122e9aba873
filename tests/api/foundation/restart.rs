//! A private worker: stopped and started again on the same state, its data is still there.

use super::job_api::{create_job, get_job, wait_final, JOB_DEADLINE};
use crate::support::{trial, Suite};
use edge_tests::{random, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(jobs_survive_a_restart)]
}

async fn jobs_survive_a_restart(s: &Suite) {
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = worker.api();
    let key = random::unique("job-restart");
    let job = create_job(&api, "email", json!({"test_key": key})).await;
    let id = job["id"].as_str().unwrap();
    let before = wait_final(&api, id, JOB_DEADLINE).await;
    assert_eq!(before["status"], "succeeded", "{before}");

    let old_url = worker.base_url();
    worker
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    let old = edge_tests::Api::new(old_url);
    assert!(
        old.get("/health").send().await.is_err(),
        "the stopped worker still answers"
    );
    let api = worker.api();
    api.get("/health").reply().await.expect_status(200);
    let after = get_job(&api, id).await;
    assert_eq!(after, before, "the job changed across a restart");
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "redelivered after restart"
    );
}
