//! A change reaches a subscribed endpoint as one signed event that `standardwebhooks`
//! verifies, the event is listed, the attempt is logged; filters choose what each endpoint
//! gets; replay and test resend with a stable id.

use super::kit::{self, assert_verifies, endpoint, envelope, signup, types, wait, SETTLE};
use crate::documents::kit as docs;
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_document_write_is_delivered_signed_listed_and_logged),
        trial!(filters_choose_the_events_each_endpoint_gets),
        trial!(replay_resends_the_same_event_and_test_sends_one),
    ]
}

async fn a_document_write_is_delivered_signed_listed_and_logged(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.*"]).await;
    let doc = kit::document(&by, org, "Hooked").await;
    let got = wait(&s.receiver, &e, 1).await;
    let d = &got[0];
    assert_verifies(&e.secret, d);
    let body = envelope(d);
    assert_eq!(body["type"], "document.created", "{body}");
    assert_eq!(body["org_id"], org.as_str(), "{body}");
    assert_eq!(body["data"]["document"]["id"], doc.as_str(), "{body}");
    let ts: i64 = d
        .header("webhook-timestamp")
        .and_then(|t| t.parse().ok())
        .expect("webhook-timestamp");
    assert!(
        (chrono::Utc::now().timestamp() - ts).abs() < 60,
        "timestamp {ts} is not now"
    );
    // A signature under another secret is refused by the library (the check is real).
    let other = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // the spec's example secret
    assert!(
        kit::verifies(other, d).is_err(),
        "standardwebhooks accepted a delivery under a wrong secret"
    );
    // The same event in the org's event list, byte-for-byte the envelope delivered.
    let listed = kit::events(&by, org, "?type=document.created").await;
    let event = listed
        .iter()
        .find(|v| v["id"] == body["id"])
        .unwrap_or_else(|| panic!("event {} not listed: {listed:?}", body["id"]));
    assert_eq!(*event, body, "listed event vs delivered");
    let attempts = kit::attempts_until(&by, org, &e.id, "the attempt log", |a| !a.is_empty()).await;
    let a = &attempts[0];
    assert_eq!(a["event_id"], body["id"], "{a}");
    assert_eq!(a["attempt"], 1, "{a}");
    assert_eq!(a["outcome"], "succeeded", "{a}");
    assert_eq!(a["response_code"], 200, "{a}");
    assert!(a["latency_ms"].is_u64(), "{a}");
    assert!(
        a["response_head"]
            .as_str()
            .is_some_and(|h| h.contains("ok")),
        "first bytes of the answer: {a}"
    );
    // The secret is shown at creation only.
    let shown = kit::get(&by, org, &e.id).await;
    assert!(
        shown.get("secret").is_none(),
        "GET shows the secret: {shown}"
    );
    assert_eq!(shown["enabled"], true, "{shown}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        1,
        "delivered more than once"
    );
}

async fn filters_choose_the_events_each_endpoint_gets(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let created_only = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    let keys = endpoint(&by, &s.receiver, org, &["api_key.*"]).await;
    let all = endpoint(&by, &s.receiver, org, &["*"]).await;
    let off = endpoint(&by, &s.receiver, org, &["*"]).await;
    let r = by
        .patch(&kit::hook(org, &off.id), &json!({"enabled": false}))
        .await;
    assert_eq!(r.status, 200, "disable: {}", r.text());
    let doc = kit::document(&by, org, "Filtered").await;
    docs::patch_doc(&by, org, &doc, &json!({"content": "v2"})).await;
    docs::api_key(&by, org, &["documents:read"]).await;
    wait(&s.receiver, &all, 3).await;
    wait(&s.receiver, &created_only, 1).await;
    wait(&s.receiver, &keys, 1).await;
    // Subscribed after those events: gets none of them.
    let late = endpoint(&by, &s.receiver, org, &["*"]).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(types(&s.receiver, &created_only), ["document.created"]);
    assert_eq!(types(&s.receiver, &keys), ["api_key.created"]);
    let mut every = types(&s.receiver, &all);
    every.sort();
    assert_eq!(
        every,
        ["api_key.created", "document.created", "document.updated"]
    );
    assert!(
        kit::received(&s.receiver, &off).is_empty(),
        "a disabled endpoint got events"
    );
    assert!(
        kit::received(&s.receiver, &late).is_empty(),
        "an endpoint got events from before it existed"
    );
    // The list filters by type and by namespace.
    let docs_only = kit::events(&by, org, "?type=document.*").await;
    let mut listed: Vec<&str> = docs_only
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, ["document.created", "document.updated"]);
    let r = by
        .get(&format!("/v1/orgs/{org}/events?type=nonsense.*"))
        .await;
    kit::problem(&r, 400, "an unknown namespace filter");
}

async fn replay_resends_the_same_event_and_test_sends_one(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    let other = endpoint(&by, &s.receiver, org, &["*"]).await;
    kit::document(&by, org, "Replayed").await;
    let first = wait(&s.receiver, &e, 1).await;
    wait(&s.receiver, &other, 1).await;
    let id = first[0]
        .header("webhook-id")
        .expect("webhook-id")
        .to_owned();
    let path = format!("{}/events/{id}/replay", kit::hook(org, &e.id));
    let r = by.post(&path, &json!({})).await;
    assert_eq!(r.status, 202, "replay: {}", r.text());
    let again = wait(&s.receiver, &e, 2).await;
    assert_eq!(
        again[1].header("webhook-id"),
        Some(id.as_str()),
        "replay keeps the id"
    );
    assert_verifies(&e.secret, &again[1]);
    assert_eq!(again[1].body, first[0].body, "replay sends the same bytes");
    // An event the endpoint was not subscribed to cannot be replayed to it.
    docs::api_key(&by, org, &["documents:read"]).await;
    let key_event = kit::events(&by, org, "?type=api_key.created").await;
    let key_id = key_event[0]["id"].as_str().expect("event id");
    let r = by
        .post(
            &format!("{}/events/{key_id}/replay", kit::hook(org, &e.id)),
            &json!({}),
        )
        .await;
    kit::problem(&r, 404, "replaying an unsubscribed event");
    // The test event goes to that endpoint only.
    let r = by
        .post(&format!("{}/test", kit::hook(org, &e.id)), &json!({}))
        .await;
    assert_eq!(r.status, 202, "test: {}", r.text());
    let got = wait(&s.receiver, &e, 3).await;
    let test = envelope(&got[2]);
    assert_eq!(test["type"], "webhook.test", "{test}");
    assert_verifies(&e.secret, &got[2]);
    tokio::time::sleep(SETTLE).await;
    assert!(
        !types(&s.receiver, &other)
            .iter()
            .any(|t| t == "webhook.test"),
        "the test event reached another endpoint"
    );
}
