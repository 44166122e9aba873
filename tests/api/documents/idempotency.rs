//! `Idempotency-Key` on create: the first answer replayed byte for byte (status, body,
//! `Location`, `ETag`) with `Idempotent-Replayed: true`, 422 for the key with another body, one
//! document for many concurrent requests with one key, and keys scoped per credential and
//! organization.

use super::kit::{self, api_key, docs, join, signup, str_of, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, Reply, SendExt};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(replay_repeats_the_first_answer),
        trial!(a_key_with_another_body_is_422),
        trial!(concurrent_requests_with_one_key_make_one_document),
        trial!(keys_are_scoped_per_credential_and_organization),
    ]
}

async fn create_with_key(c: &Caller, org: &str, key: &str, body: &Value) -> Reply {
    c.request(Method::POST, &docs(org))
        .header("idempotency-key", key)
        .json(body)
        .reply()
        .await
}

async fn replay_repeats_the_first_answer(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let key = random::unique("doc-create");
    let body = json!({"title": "Once", "content": "only once", "status": "published"});
    let first = create_with_key(&c, org, &key, &body).await;
    first.expect_status(201);
    let d = kit::assert_doc_reply(&first);
    assert_eq!(
        first.header("idempotent-replayed"),
        None,
        "the first answer is not a replay"
    );

    // Changing the document does not change what the key replays.
    kit::patch_doc(&c, org, str_of(&d, "id"), &json!({"title": "Later"})).await;
    for _ in 0..2 {
        let again = create_with_key(&c, org, &key, &body).await;
        assert_eq!(again.status, 201, "{}", again.text());
        assert_eq!(again.body, first.body, "replayed body differs");
        for h in ["location", "etag", "content-type"] {
            assert_eq!(again.header(h), first.header(h), "replayed {h}");
        }
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
    }
    let listed = kit::listed_ids(&c, org).await;
    assert_eq!(
        listed,
        vec![str_of(&d, "id").to_owned()],
        "a replay created a document"
    );
    let now = kit::get_doc(&c, org, str_of(&d, "id")).await;
    assert_eq!(now["version"], 2, "a replay changed the document: {now}");

    // Without a key, the same body creates every time.
    for _ in 0..2 {
        let r = c.post(&docs(org), &body).await;
        r.expect_status(201);
        assert_eq!(r.header("idempotent-replayed"), None);
    }
    assert_eq!(kit::listed_ids(&c, org).await.len(), 3);

    // Malformed keys are refused before anything is written.
    for bad in [
        "a".repeat(256),
        "with space".to_owned(),
        "tab\tkey".to_owned(),
    ] {
        let r = create_with_key(&c, org, &bad, &body).await;
        assert_eq!(r.status, 400, "key {bad:?}: {}", r.text());
    }
    assert_eq!(kit::listed_ids(&c, org).await.len(), 3);
}

async fn a_key_with_another_body_is_422(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let key = random::unique("doc-create");
    let first = create_with_key(&c, org, &key, &json!({"title": "First"})).await;
    first.expect_status(201);
    for other in [
        json!({"title": "Second"}),
        json!({"title": "First", "content": ""}),
        json!({"title": "First", "status": "draft"}),
    ] {
        let r = create_with_key(&c, org, &key, &other).await;
        assert_eq!(r.status, 422, "{other}: {}", r.text());
        r.expect_problem(422, "idempotency_key_reused");
    }
    // The original still replays afterwards.
    let again = create_with_key(&c, org, &key, &json!({"title": "First"})).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(kit::listed_ids(&c, org).await.len(), 1);
}

async fn concurrent_requests_with_one_key_make_one_document(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let key = random::unique("doc-race");
    let body = json!({"title": "Exactly one", "content": "raced"});
    let replies = join_all((0..10).map(|_| create_with_key(&c, org, &key, &body))).await;
    let mut fresh = Vec::new();
    let mut replayed = Vec::new();
    for r in &replies {
        match (r.status, r.header("idempotent-replayed")) {
            (201, None) => fresh.push(r),
            (201, Some("true")) => replayed.push(r),
            (409, _) => {
                r.expect_problem(409, "conflict");
            }
            (other, h) => panic!("{other} (replayed {h:?}): {}", r.text()),
        }
    }
    assert_eq!(fresh.len(), 1, "exactly one request may create");
    for r in &replayed {
        assert_eq!(r.body, fresh[0].body, "a replay differs from the original");
    }
    let listed = kit::listed_ids(&c, org).await;
    assert_eq!(
        listed.len(),
        1,
        "documents after 10 concurrent requests: {listed:?}"
    );
    // Once settled, the key replays.
    let again = create_with_key(&c, org, &key, &body).await;
    assert_eq!((again.status, &again.body), (201, &fresh[0].body));
}

async fn keys_are_scoped_per_credential_and_organization(s: &Suite) {
    let a = signup(&s.api).await;
    let ac = a.on(&s.api);
    let org = &a.org_id;
    let admin = join(s, &ac, org, "admin").await;
    let (_, secret) = api_key(&ac, org, &["documents:read", "documents:write"]).await;
    let key_caller = Caller::new(&s.api, &secret);
    // A second organization of the same user.
    let r = ac
        .post(
            "/v1/orgs",
            &json!({"name": format!("Second {}", random::hex(3))}),
        )
        .await;
    r.expect_status(201);
    let org2 = r.json()["id"].as_str().expect("org id").to_owned();

    let key = random::unique("shared-key");
    let body = json!({"title": "Same key"});
    let mut ids = Vec::new();
    for (who, c, o) in [
        ("owner", &ac, org.as_str()),
        ("admin", &admin.on(&s.api), org.as_str()),
        ("API key", &key_caller, org.as_str()),
        ("owner in another org", &ac, org2.as_str()),
    ] {
        let r = create_with_key(c, o, &key, &body).await;
        assert_eq!(r.status, 201, "{who}: {}", r.text());
        assert_eq!(
            r.header("idempotent-replayed"),
            None,
            "{who} got another's replay"
        );
        ids.push(str_of(&r.json(), "id").to_owned());
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        4,
        "one key, four scopes, four documents: {ids:?}"
    );
    assert_eq!(kit::listed_ids(&ac, org).await.len(), 3);
    assert_eq!(kit::listed_ids(&ac, &org2).await.len(), 1);
}
