//! A receiver that fails: 5xx three times then 200 (each retry the same `webhook-id`, each
//! verifying, then no more), 410 Gone (endpoint disabled, admins emailed, nothing more sent),
//! too slow (timeout, retried), refusing connections (retried), and failing for longer than
//! `WEBHOOK_DISABLE_AFTER_SECONDS` (disabled).

use super::kit::{self, assert_verifies, endpoint, signup, wait, Endpoint, SETTLE};
use crate::documents::kit::Caller;
use crate::support::{trial, Suite};
use edge_tests::{Answer, Origin, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(three_failures_then_success_retry_with_one_webhook_id),
        trial!(gone_disables_the_endpoint_and_tells_the_admins),
        trial!(a_slow_receiver_times_out_and_is_retried),
        trial!(a_refused_connection_is_retried),
        trial!(an_endpoint_failing_too_long_is_disabled),
    ]
}

fn ok() -> Answer {
    Answer::Json(200, json!({"ok": true}))
}

async fn three_failures_then_success_retry_with_one_webhook_id(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    s.receiver.script(
        &e.key,
        vec![
            Answer::Status(500),
            Answer::Status(503),
            Answer::Status(500),
            ok(),
        ],
    );
    kit::document(&by, org, "Flaky receiver").await;
    let got = wait(&s.receiver, &e, 4).await;
    let id = got[0].header("webhook-id").expect("webhook-id");
    for d in &got {
        assert_eq!(d.header("webhook-id"), Some(id), "a retry changed the id");
        assert_eq!(d.body, got[0].body, "a retry changed the body");
        assert_verifies(&e.secret, d);
    }
    let log = kit::attempts_until(&by, org, &e.id, "4 attempts", |a| a.len() >= 4).await;
    let mut rows: Vec<(u64, String, Value)> = log
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap_or_default(),
                a["outcome"].as_str().unwrap_or_default().to_owned(),
                a["response_code"].clone(),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    assert_eq!(
        rows,
        [
            (1, "failed".to_owned(), json!(500)),
            (2, "failed".to_owned(), json!(503)),
            (3, "failed".to_owned(), json!(500)),
            (4, "succeeded".to_owned(), json!(200)),
        ]
    );
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        4,
        "delivered after success"
    );
    let shown = kit::get(&by, org, &e.id).await;
    assert_eq!(shown["enabled"], true, "{shown}");
    assert_eq!(
        shown["failing_since"],
        Value::Null,
        "a success ends the streak: {shown}"
    );
}

/// The `email` jobs the origin got about endpoint `id` being disabled.
fn disabled_emails(origin: &Origin, id: &str) -> Vec<Value> {
    origin
        .requests()
        .into_iter()
        .filter(|r| r.path == "/jobs/email")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| {
            b["payload"]["template"] == "webhook_endpoint_disabled"
                && b["payload"]["endpoint_id"] == id
        })
        .collect()
}

async fn disabled(by: &Caller, org: &str, e: &Endpoint) -> Value {
    edge_tests::eventually("the endpoint to be disabled", kit::DELIVERY, || async {
        let v = kit::get(by, org, &e.id).await;
        (v["enabled"] == false).then_some(v)
    })
    .await
}

async fn gone_disables_the_endpoint_and_tells_the_admins(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.*"]).await;
    s.receiver.script(&e.key, vec![Answer::Status(410)]);
    kit::document(&by, org, "Gone receiver").await;
    wait(&s.receiver, &e, 1).await;
    let shown = disabled(&by, org, &e).await;
    assert!(
        shown["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410")),
        "{shown}"
    );
    let what = "an email to the owner about the disabled endpoint";
    let emails = edge_tests::eventually(what, kit::DELIVERY, || async {
        let m = disabled_emails(&s.origin, &e.id);
        (!m.is_empty()).then_some(m)
    })
    .await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    // Nothing more: neither a retry nor the next event.
    kit::document(&by, org, "After gone").await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        1,
        "sent to a disabled endpoint"
    );
    // Enabled again by an admin, it gets new events.
    s.receiver.script(&e.key, vec![ok()]);
    let r = by
        .patch(&kit::hook(org, &e.id), &json!({"enabled": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    kit::document(&by, org, "Back").await;
    wait(&s.receiver, &e, 2).await;
}

async fn a_slow_receiver_times_out_and_is_retried(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    // ORIGIN_TIMEOUT_MS is 2000 in tests.
    s.receiver
        .script(&e.key, vec![Answer::slow(4_000, ok()), ok()]);
    kit::document(&by, org, "Slow receiver").await;
    let got = wait(&s.receiver, &e, 2).await;
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    let log = kit::attempts_until(&by, org, &e.id, "the timeout and the success", |a| {
        a.iter().any(|r| r["outcome"] == "succeeded")
    })
    .await;
    assert!(
        log.iter()
            .any(|r| r["outcome"] == "timeout" && r["attempt"] == 1),
        "the first attempt is logged as a timeout: {log:?}"
    );
}

async fn a_refused_connection_is_retried(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let url = format!("http://{}/hook", s.refusing);
    let r = by
        .post(&kit::hooks(org), &json!({"url": url, "event_types": ["*"]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_str().expect("id").to_owned();
    kit::document(&by, org, "Nobody listens").await;
    let log = kit::attempts_until(&by, org, &id, "two refused attempts", |a| a.len() >= 2).await;
    for a in &log {
        assert_eq!(a["outcome"], "unreachable", "{a}");
        assert_eq!(a["response_code"], Value::Null, "{a}");
    }
    let mut n: Vec<u64> = log.iter().filter_map(|a| a["attempt"].as_u64()).collect();
    n.sort_unstable();
    assert_eq!(&n[..2], [1, 2], "{log:?}");
}

async fn an_endpoint_failing_too_long_is_disabled(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("WEBHOOK_DISABLE_AFTER_SECONDS", "2"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    s.receiver.script(&e.key, vec![Answer::Status(500)]);
    kit::document(&by, org, "Always failing").await;
    let shown = disabled(&by, org, &e).await;
    assert!(shown["failing_since"].is_string(), "{shown}");
    assert!(
        shown["disabled_reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{shown}"
    );
    let n = kit::received(&s.receiver, &e).len();
    assert!(n >= 2, "disabled before any retry: {n}");
    let what = "an email about the disabled endpoint";
    edge_tests::eventually(what, kit::DELIVERY, || async {
        (!disabled_emails(&s.origin, &e.id).is_empty()).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        n,
        "sent after it was disabled"
    );
}
