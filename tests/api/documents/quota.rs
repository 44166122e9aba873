//! The monthly documents quota (a private worker with `documents_per_month` = 3): the fourth
//! create is a 429 naming the quota; refused creates and replays cost nothing; other writes
//! and other organizations are not affected.

use super::kit::{self, doc, docs, signup, str_of};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt, WorkerOptions};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_fourth_document_of_the_month_is_429)]
}

const LIMITS: &str = r#"{"free":{"requests_per_minute":100000,"documents_per_month":3},"pro":{"requests_per_minute":100000},"auth_per_minute":100000}"#;

async fn the_fourth_document_of_the_month_is_429(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("PLAN_LIMITS", LIMITS))
        .await;
    let api = worker.api();
    let (a, b) = tokio::join!(signup(&api), signup(&api));
    let c = a.on(&api);
    let org = &a.org_id;

    // Refused creates use no quota.
    c.post(&docs(org), &json!({"title": ""}))
        .await
        .expect_problem(400, "validation_failed");
    c.post(&docs(org), &json!({"title": "x", "id": "doc_x"}))
        .await
        .expect_problem(400, "unknown_field");

    let key = random::unique("quota");
    let first = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&json!({"title": "Doc 1"}))
        .reply()
        .await;
    first.expect_status(201);
    let first_doc = first.json();
    kit::create_titled(&c, org, "Doc 2", "").await;
    kit::create_titled(&c, org, "Doc 3", "").await;

    let r = c.post(&docs(org), &json!({"title": "Doc 4"})).await;
    assert_eq!(r.status, 429, "fourth create: {}", r.text());
    let p = r.expect_problem(429, "rate_limited");
    assert_eq!(
        p.body["quota"], "documents",
        "the 429 names the quota: {}",
        p.body
    );
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {:?}", r.headers));
    assert!(
        (1..=31 * 86_400 + 1).contains(&retry),
        "Retry-After {retry} is not within the month"
    );
    assert_eq!(
        kit::listed_ids(&c, org).await.len(),
        3,
        "the refused create wrote"
    );

    // A replay of an earlier create is not a new document: still answered.
    let again = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&json!({"title": "Doc 1"}))
        .reply()
        .await;
    assert_eq!(again.status, 201, "replay over quota: {}", again.text());
    assert_eq!(again.body, first.body);
    // Editing, deleting and reading still work; a deletion does not give the quota back
    // (it counts documents created this month).
    let id = str_of(&first_doc, "id");
    kit::patch_doc(&c, org, id, &json!({"content": "edited over quota"})).await;
    c.delete(&doc(org, id)).await.expect_status(204);
    let r = c.post(&docs(org), &json!({"title": "Doc 5"})).await;
    assert_eq!(r.status, 429, "create after a delete: {}", r.text());
    assert_eq!(r.problem().body["quota"], "documents");
    kit::restore(&c, org, id).await.expect_status(200);
    // With a fresh idempotency key, still refused (and the refusal is not stored as a replay).
    let key2 = random::unique("quota");
    for _ in 0..2 {
        let r = c
            .request(Method::POST, &docs(org))
            .header("idempotency-key", &key2)
            .json(&json!({"title": "Doc 6"}))
            .reply()
            .await;
        assert_eq!(r.status, 429, "{}", r.text());
    }

    // Another organization on the same worker has its own quota.
    // Its quota is exact under concurrency: of 8 simultaneous creates, exactly 3 succeed.
    let bc = b.on(&api);
    let bodies: Vec<_> = (0..8).map(|i| json!({"title": format!("B {i}")})).collect();
    let b_docs = docs(&b.org_id);
    let replies = join_all(bodies.iter().map(|body| bc.post(&b_docs, body))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "concurrent creates against a quota of 3: {statuses:?}"
    );
    for r in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(r.status, 429, "{}", r.text());
        assert_eq!(r.problem().body["quota"], "documents");
    }
    assert_eq!(kit::listed_ids(&bc, &b.org_id).await.len(), 3);
    assert_eq!(kit::listed_ids(&c, org).await.len(), 3);
}
