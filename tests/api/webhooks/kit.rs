//! What the webhook trials share: endpoints made through the API aimed at the loopback
//! receiver, waiting for deliveries, and verification with PyPI's `standardwebhooks`.

use crate::documents::kit::{self as docs, Caller};
use edge_tests::{random, Origin, Recorded, Reply};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

pub use crate::documents::kit::{join, signup};

/// How long an event may take to reach the receiver (retries are 1 s apart in tests).
pub const DELIVERY: Duration = Duration::from_secs(40);
/// Long enough for a delivery that should not happen to have happened.
pub const SETTLE: Duration = Duration::from_secs(4);

pub fn hooks(org: &str) -> String {
    format!("/v1/orgs/{org}/webhooks")
}

pub fn hook(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/webhooks/{id}")
}

/// An endpoint the receiver answers under script key `key`.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub id: String,
    pub secret: String,
    pub key: String,
    pub url: String,
}

/// The receiver's URL for script key `key`.
pub fn url_for(receiver: &Origin, key: &str) -> String {
    format!("{}/hook/{key}?test_key={key}", receiver.url())
}

/// `POST …/webhooks` subscribed to `types` (201 expected).
pub async fn endpoint(by: &Caller, receiver: &Origin, org: &str, types: &[&str]) -> Endpoint {
    let key = random::unique("hook");
    let url = url_for(receiver, &key);
    let r = by
        .post(
            &hooks(org),
            &json!({"url": url, "event_types": types, "description": "trial receiver"}),
        )
        .await;
    assert_eq!(r.status, 201, "create endpoint: {}", r.text());
    let b = r.json();
    let id = b["id"].as_str().expect("endpoint id").to_owned();
    assert!(id.starts_with("whe_"), "{b}");
    let secret = b["secret"].as_str().expect("secret shown at creation");
    assert!(secret.starts_with("whsec_"), "{b}");
    assert_eq!(
        r.header("location"),
        Some(hook(org, &id).as_str()),
        "Location"
    );
    Endpoint {
        id,
        secret: secret.to_owned(),
        key,
        url,
    }
}

/// Creates a document titled `title` and returns its id.
pub async fn document(by: &Caller, org: &str, title: &str) -> String {
    let d = docs::create_titled(by, org, title, "body").await;
    d["id"].as_str().expect("document id").to_owned()
}

/// The deliveries the receiver got for `e` so far.
pub fn received(receiver: &Origin, e: &Endpoint) -> Vec<Recorded> {
    receiver.requests_for(&e.key)
}

/// Waits for `n` deliveries to `e`.
pub async fn wait(receiver: &Origin, e: &Endpoint, n: usize) -> Vec<Recorded> {
    receiver.wait_for(&e.key, n, DELIVERY).await
}

/// The event envelope of a delivery; checks its headers agree with it.
pub fn envelope(d: &Recorded) -> Value {
    let body = d.json();
    assert_eq!(d.method, "POST", "{d:?}");
    assert_eq!(
        d.header("webhook-id"),
        body["id"].as_str(),
        "webhook-id is the event id: {body}"
    );
    assert!(
        d.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "content-type: {:?}",
        d.headers
    );
    for key in ["id", "type", "org_id", "occurred_at", "data"] {
        assert!(body.get(key).is_some(), "envelope lacks {key}: {body}");
    }
    body
}

/// The types of the events `e` got, in arrival order, each event once (a second delivery of
/// an id is a retry: at least once is the contract).
pub fn types(receiver: &Origin, e: &Endpoint) -> Vec<String> {
    let mut seen = BTreeSet::new();
    received(receiver, e)
        .iter()
        .filter(|d| seen.insert(d.header("webhook-id").unwrap_or_default().to_owned()))
        .map(|d| envelope(d)["type"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Distinct `webhook-id`s `e` got.
pub fn ids(receiver: &Origin, e: &Endpoint) -> BTreeSet<String> {
    received(receiver, e)
        .iter()
        .filter_map(|d| d.header("webhook-id").map(str::to_owned))
        .collect()
}

/// `Ok` when PyPI's `standardwebhooks` accepts the delivery under `secret`.
pub fn verifies(secret: &str, d: &Recorded) -> Result<(), String> {
    crate::jobs::kit::standard_webhook_verifies(secret, d)
}

/// Panics unless `standardwebhooks` accepts the delivery under `secret`.
pub fn assert_verifies(secret: &str, d: &Recorded) {
    if let Err(e) = verifies(secret, d) {
        panic!("standardwebhooks refused the delivery under its secret: {e}; {d:?}");
    }
}

/// `GET …/webhooks/{id}/attempts` (200 expected): the attempt rows, newest first.
pub async fn attempts(by: &Caller, org: &str, id: &str) -> Vec<Value> {
    let r = by.get(&format!("{}/attempts", hook(org, id))).await;
    assert_eq!(r.status, 200, "attempts: {}", r.text());
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

/// Polls the attempts log of `id` until `done` holds for it.
pub async fn attempts_until(
    by: &Caller,
    org: &str,
    id: &str,
    what: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    edge_tests::eventually(what, DELIVERY, || async {
        let a = attempts(by, org, id).await;
        done(&a).then_some(a)
    })
    .await
}

/// `GET …/events` with `query` (200 expected): the items.
pub async fn events(by: &Caller, org: &str, query: &str) -> Vec<Value> {
    let r = by.get(&format!("/v1/orgs/{org}/events{query}")).await;
    assert_eq!(r.status, 200, "events: {}", r.text());
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

/// `GET …/webhooks/{id}` (200 expected).
pub async fn get(by: &Caller, org: &str, id: &str) -> Value {
    let r = by.get(&hook(org, id)).await;
    assert_eq!(r.status, 200, "GET endpoint: {}", r.text());
    r.json()
}

/// Asserts `r` is a problem with `status`.
pub fn problem(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/problem+json")),
        "{what}: not problem+json"
    );
}
