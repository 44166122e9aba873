//! Abandoned uploads are cleaned up by the sweep (cron, every minute; here run by the real
//! scheduled handler through wrangler's `--test-scheduled` trigger): an expired signed-upload reservation and a multipart upload left open past
//! its time are removed, their storage given back, and their URLs and ids stop working. A
//! private worker makes both expire after 2 seconds.

use super::kit::{self, files};
use crate::documents::kit::signup;
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_sweep_removes_abandoned_uploads)]
}

async fn the_sweep_removes_abandoned_uploads(s: &Suite) {
    let worker = s
        .private_worker(
            WorkerOptions::new()
                .var("SIGNED_URL_TTL_SECONDS", "2")
                .var("MULTIPART_TTL_SECONDS", "2"),
        )
        .await;
    let api = worker.api();
    let a = signup(&api).await;
    let c = a.on(&api);
    let org = &a.org_id;
    let r = c
        .post(
            &format!("{}/uploads", files(org)),
            &json!({"name": "never.bin", "content_type": "text/plain", "size": 100}),
        )
        .await;
    r.expect_status(201);
    let url = r.json()["upload_url"].as_str().expect("url").to_owned();
    let r = c
        .post(
            &format!("{}/multipart", files(org)),
            &json!({"name": "open.bin", "content_type": "text/plain", "size": 50}),
        )
        .await;
    r.expect_status(201);
    let upload = r.json()["upload_id"].as_str().expect("upload").to_owned();
    let mp = format!("{}/multipart/{upload}", files(org));
    c.request(Method::PUT, &format!("{mp}/parts/1"))
        .body(vec![7u8; 50])
        .reply()
        .await
        .expect_status(200);
    assert_eq!(kit::storage_used(&c, org).await, 150);
    // A sweep before the expiry leaves them alone.
    api.request(Method::POST, "/__test/sweep")
        .reply()
        .await
        .expect_status(200);
    assert_eq!(kit::storage_used(&c, org).await, 150);
    c.get(&mp).await.expect_status(200);

    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // The Cron Trigger's own entry point (`scheduled`), not the test route.
    let r = api.get("/__scheduled?cron=*+*+*+*+*").reply().await;
    assert_eq!(r.status, 200, "scheduled trigger: {}", r.text());
    edge_tests::eventually("the cron sweep", Duration::from_secs(20), || async {
        let st = kit::stored(&api, org).await;
        (st["objects"] == json!([]) && st["rows"] == json!([])).then_some(())
    })
    .await;
    kit::assert_nothing_stored(&api, &c, org, "the sweep").await;
    c.get(&mp).await.expect_problem(404, "not_found");
    edge_tests::reqwest::Client::new()
        .put(&url)
        .header("content-type", "text/plain")
        .body(vec![1u8; 100])
        .reply()
        .await
        .expect_problem(403, "forbidden");
}
