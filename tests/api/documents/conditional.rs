//! Entity tags: a strong `ETag` naming the version on every document answer, a new one on every
//! change, `If-None-Match` → 304, and `If-Match` → 412 (with the current tag) when stale.

use super::kit::{self, doc, etag_of, signup, str_of, version_of, Caller};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(conditional_get_is_304_until_the_document_changes),
        trial!(every_change_has_a_new_etag_and_if_match_guards_it),
        trial!(if_none_match_compares_weakly),
    ]
}

async fn get_if_none_match(c: &Caller, path: &str, tags: &str) -> Reply {
    c.request(Method::GET, path)
        .header("if-none-match", tags)
        .reply()
        .await
}

async fn patch_if_match(c: &Caller, path: &str, tags: &str, body: &Value) -> Reply {
    c.request(Method::PATCH, path)
        .header("if-match", tags)
        .json(body)
        .reply()
        .await
}

fn assert_304(r: &Reply, tag: &str, what: &str) {
    assert_eq!(r.status, 304, "{what}: {}", r.text());
    assert!(r.body.is_empty(), "{what}: a 304 with a body");
    assert_eq!(r.header("etag"), Some(tag), "{what}: the 304's ETag");
}

async fn conditional_get_is_304_until_the_document_changes(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let created = c.post(&kit::docs(org), &json!({"title": "Cached"})).await;
    created.expect_status(201);
    let d = kit::assert_doc_reply(&created);
    let id = str_of(&d, "id");
    let path = doc(org, id);
    let e1 = etag_of(id, 1);
    assert_eq!(created.header("etag"), Some(e1.as_str()));
    assert!(!e1.starts_with("W/"), "the tag must be strong");

    let g = c.get(&path).await;
    assert_eq!(g.header("etag"), Some(e1.as_str()));
    assert_304(
        &get_if_none_match(&c, &path, &e1).await,
        &e1,
        "If-None-Match: current",
    );
    assert_304(
        &get_if_none_match(&c, &path, "*").await,
        &e1,
        "If-None-Match: *",
    );
    let list = format!("\"nope\", {e1}, \"other\"");
    assert_304(
        &get_if_none_match(&c, &path, &list).await,
        &e1,
        "a list with the tag",
    );
    for other in [
        "\"nope\"",
        &etag_of(id, 2),
        &etag_of(&kit::unknown_doc_id(), 1),
    ] {
        let r = get_if_none_match(&c, &path, other).await;
        assert_eq!(r.status, 200, "If-None-Match: {other}");
        assert_eq!(kit::assert_doc_reply(&r), d);
    }

    // After a change the old tag no longer matches.
    let p = kit::patch_doc(&c, org, id, &json!({"content": "new"})).await;
    let e2 = etag_of(id, 2);
    let r = get_if_none_match(&c, &path, &e1).await;
    assert_eq!(r.status, 200, "stale If-None-Match");
    assert_eq!(r.header("etag"), Some(e2.as_str()));
    assert_eq!(kit::assert_doc_reply(&r), p);
    assert_304(&get_if_none_match(&c, &path, &e2).await, &e2, "the new tag");

    // A deleted document is gone, conditional or not.
    c.delete(&path).await.expect_status(204);
    let r = get_if_none_match(&c, &path, &e2).await;
    r.expect_problem(404, "not_found");
    let r = kit::restore(&c, org, id).await;
    r.expect_status(200);
    assert_eq!(kit::assert_doc_reply(&r)["version"], 2);
}

async fn every_change_has_a_new_etag_and_if_match_guards_it(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let created = c
        .post(
            &kit::docs(org),
            &json!({"title": "Tagged", "content": "c0"}),
        )
        .await;
    let d = kit::assert_doc_reply(&created);
    let id = str_of(&d, "id");
    let path = doc(org, id);
    let mut seen: BTreeSet<String> = BTreeSet::new();
    seen.insert(created.header("etag").expect("ETag").to_owned());

    // Every kind of change, each with the tag it was read at.
    let mut current = etag_of(id, 1);
    for body in [
        json!({"title": "Tagged 2"}),
        json!({"content": "c1"}),
        json!({"status": "published"}),
        json!({"status": "archived", "content": "c2"}),
        json!({"title": "Tagged 2"}),
    ] {
        let r = patch_if_match(&c, &path, &current, &body).await;
        assert_eq!(
            r.status,
            200,
            "PATCH {body} If-Match {current}: {}",
            r.text()
        );
        let p = kit::assert_doc_reply(&r);
        let tag = r.header("etag").expect("ETag").to_owned();
        assert!(seen.insert(tag.clone()), "ETag {tag} reused after {body}");
        assert_eq!(c.get(&path).await.header("etag"), Some(tag.as_str()));
        current = tag;
        assert_eq!(current, etag_of(id, version_of(&p)));
    }
    assert_eq!(seen.len(), 6);

    // A stale tag: 412 with the current tag, nothing changed.
    let before = kit::get_doc(&c, org, id).await;
    for stale in [
        etag_of(id, 1),
        etag_of(id, 5),
        "\"garbage\"".to_owned(),
        format!("W/{current}"),
        etag_of(&kit::unknown_doc_id(), 6),
    ] {
        let r = patch_if_match(&c, &path, &stale, &json!({"title": "lost update"})).await;
        assert_eq!(r.status, 412, "If-Match {stale}: {}", r.text());
        r.expect_problem(412, "precondition_failed");
        assert_eq!(
            r.header("etag"),
            Some(current.as_str()),
            "412 names the current tag"
        );
    }
    assert_eq!(
        kit::get_doc(&c, org, id).await,
        before,
        "a 412 changed the document"
    );
    let (items, _) = kit::page(&c.get(&format!("{path}/versions")).await);
    assert_eq!(items.len(), 6, "a 412 made a version");

    // `*` and a list containing the current tag match.
    let r = patch_if_match(&c, &path, "*", &json!({"content": "star"})).await;
    r.expect_status(200);
    let now = etag_of(id, 7);
    let list = format!("{}, {now}", etag_of(id, 1));
    let r = patch_if_match(&c, &path, &list, &json!({"content": "list"})).await;
    r.expect_status(200);
    assert_eq!(r.header("etag"), Some(etag_of(id, 8).as_str()));
    // A bad body is still a 400 under a matching If-Match, and uses no version.
    let r = patch_if_match(&c, &path, &etag_of(id, 8), &json!({"title": ""})).await;
    r.expect_problem(400, "validation_failed");
    assert_eq!(version_of(&kit::get_doc(&c, org, id).await), 8);
}

/// RFC 9110 §13.1.2: `If-None-Match` uses the weak comparison, so `W/"<tag>"` (what a client
/// gets back once a proxy, such as Cloudflare compressing the answer, has weakened the tag)
/// still matches and gives 304; `If-Match` stays strong (checked above).
async fn if_none_match_compares_weakly(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create_titled(&c, org, "Weakly cached", "w").await;
    let id = str_of(&d, "id");
    let path = doc(org, id);
    let e1 = etag_of(id, 1);
    let weak = format!("W/{e1}");
    assert_304(
        &get_if_none_match(&c, &path, &weak).await,
        &e1,
        "If-None-Match: W/<current tag>",
    );
    let r = get_if_none_match(&c, &path, &format!("W/{}", etag_of(id, 2))).await;
    assert_eq!(r.status, 200, "a weak tag of another version");
}
