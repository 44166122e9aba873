//! A private worker stopped and started again on the same state: documents, versions, shares,
//! soft deletions, the search index and idempotent replays are all still there.

use super::kit::{self, doc, docs, page, signup, str_of, version_of, word, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(documents_survive_a_restart)]
}

async fn documents_survive_a_restart(s: &Suite) {
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = worker.api();
    let a = signup(&api).await;
    let c = a.on(&api);
    let org = &a.org_id;
    let w = word();
    let key = random::unique("restart");
    let created = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&json!({"title": format!("Durable {w}"), "content": "v1"}))
        .reply()
        .await;
    created.expect_status(201);
    let d = created.json();
    let id = str_of(&d, "id");
    kit::patch_doc(
        &c,
        org,
        id,
        &json!({"content": format!("v2 mentions {w}too")}),
    )
    .await;
    let last = kit::patch_doc(
        &c,
        org,
        id,
        &json!({"content": "v3 final", "status": "published"}),
    )
    .await;
    let gone = kit::create_titled(&c, org, &format!("Gone {w}"), "").await;
    c.delete(&doc(org, str_of(&gone, "id")))
        .await
        .expect_status(204);
    let r = c
        .post(
            &format!("{}/shares", doc(org, id)),
            &json!({"user_id": a.id, "permission": "view"}),
        )
        .await;
    r.expect_status(201);
    let versions_before = c.get(&format!("{}/versions", doc(org, id))).await.json();
    let shares_before = c.get(&format!("{}/shares", doc(org, id))).await.json();

    worker
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    let api = worker.api();
    let c = Caller::new(&api, &c.bearer);

    let after = kit::get_doc(&c, org, id).await;
    assert_eq!(after, last, "the document changed across a restart");
    assert_eq!(version_of(&after), 3);
    let versions = c.get(&format!("{}/versions", doc(org, id))).await;
    assert_eq!(
        versions.json(),
        versions_before,
        "versions changed across a restart"
    );
    for (n, content) in [
        (1, "v1".to_owned()),
        (2, format!("v2 mentions {w}too")),
        (3, "v3 final".to_owned()),
    ] {
        let r = c.get(&format!("{}/versions/{n}", doc(org, id))).await;
        r.expect_status(200);
        assert_eq!(r.json()["content"], content.as_str(), "version {n}");
    }
    assert_eq!(
        c.get(&format!("{}/shares", doc(org, id))).await.json(),
        shares_before
    );
    assert_eq!(kit::listed_ids(&c, org).await, vec![id.to_owned()]);
    c.get(&doc(org, str_of(&gone, "id")))
        .await
        .expect_problem(404, "not_found");
    // The search index: title words, and words only a later version brought.
    assert_eq!(kit::search_ids(&c, org, &w).await, vec![id.to_owned()]);
    assert!(kit::search_ids(&c, org, &format!("{w}too"))
        .await
        .is_empty());
    assert_eq!(kit::search_ids(&c, org, "final").await, vec![id.to_owned()]);
    // The idempotent create still replays.
    let again = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&json!({"title": format!("Durable {w}"), "content": "v1"}))
        .reply()
        .await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.body, created.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    // And it keeps working: a write after the restart continues the versions.
    let p = kit::patch_doc(&c, org, id, &json!({"title": "After restart"})).await;
    assert_eq!(version_of(&p), 4);
    let (items, _) = page(&c.get(&format!("{}/versions", doc(org, id))).await);
    assert_eq!(items.len(), 4);
    kit::restore(&c, org, str_of(&gone, "id"))
        .await
        .expect_status(200);
    assert_eq!(kit::listed_ids(&c, org).await.len(), 2);
}
