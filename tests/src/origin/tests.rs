use super::{Answer, Origin};
use serde_json::json;
use std::time::{Duration, Instant};

async fn post(url: &str, body: serde_json::Value) -> (u16, String) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{url}/jobs/email"))
        .json(&body)
        .send()
        .await
        .expect("origin answers");
    (r.status().as_u16(), r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn scripts_answer_in_order_and_the_last_repeats() {
    let origin = Origin::start().await.unwrap();
    origin.script(
        "k1",
        vec![Answer::Status(500), Answer::Json(201, json!({"n": 2}))],
    );
    let job = json!({"id": "job_1", "payload": {"test_key": "k1"}});
    assert_eq!(post(&origin.url(), job.clone()).await, (500, String::new()));
    assert_eq!(
        post(&origin.url(), job.clone()).await,
        (201, r#"{"n":2}"#.into())
    );
    assert_eq!(post(&origin.url(), job).await.0, 201);
    let seen = origin.wait_for("k1", 3, Duration::from_secs(1)).await;
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].path, "/jobs/email");
    assert_eq!(seen[0].json()["id"], "job_1");
}

#[tokio::test]
async fn unscripted_and_keyless_requests_get_the_default() {
    let origin = Origin::start().await.unwrap();
    let (status, body) = post(&origin.url(), json!({"payload": {}})).await;
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(origin.requests().len(), 1);
    assert_eq!(origin.requests()[0].key, None);
}

#[tokio::test]
async fn header_key_and_slow_answers() {
    let origin = Origin::start().await.unwrap();
    origin.script("h", vec![Answer::slow(300, Answer::Status(204))]);
    let started = Instant::now();
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}/any?x=1", origin.url()))
        .header("X-Test-Key", "h")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let seen = origin.requests_for("h");
    assert_eq!(seen[0].query.as_deref(), Some("x=1"));
    assert_eq!(seen[0].header("X-TEST-KEY"), Some("h"));
}
