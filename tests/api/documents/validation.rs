//! Field errors on create and PATCH: 400 `validation_failed` naming the field, `unknown_field`
//! for anything outside the contract, `malformed_json` for broken bodies; nothing is written.

use super::kit::{self, doc, docs, signup, str_of, version_of};
use crate::support::{trial, Suite};
use edge_tests::Method;
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(create_rejects_bad_fields),
        trial!(create_rejects_unknown_fields_and_broken_bodies),
        trial!(patch_rejects_bad_fields_and_changes_nothing),
    ]
}

const MAX_CONTENT: usize = 512 * 1024;

/// Bodies that break one field each (valid in every other respect), with that field.
fn bad_fields() -> Vec<(Value, &'static str)> {
    vec![
        (json!({"title": ""}), "title"),
        (json!({"title": "   "}), "title"),
        (json!({"title": "\t \n"}), "title"),
        (json!({"title": "a".repeat(201)}), "title"),
        (json!({"title": "é".repeat(201)}), "title"),
        (
            json!({"title": format!("  {}  ", "b".repeat(201))}),
            "title",
        ),
        (json!({"title": "bell\u{7}"}), "title"),
        (json!({"title": "two\nlines"}), "title"),
        (json!({"title": "nul\u{0}byte"}), "title"),
        (json!({"title": 5}), "title"),
        (json!({"title": ["x"]}), "title"),
        (json!({"title": {"en": "x"}}), "title"),
        (json!({"title": true}), "title"),
        (
            json!({"title": "ok", "content": "x".repeat(MAX_CONTENT + 1)}),
            "content",
        ),
        // Under the limit in characters, over it in bytes.
        (
            json!({"title": "ok", "content": "é".repeat(MAX_CONTENT / 2 + 1)}),
            "content",
        ),
        (json!({"title": "ok", "content": 12}), "content"),
        (json!({"title": "ok", "content": {"text": "x"}}), "content"),
        (json!({"title": "ok", "status": "deleted"}), "status"),
        (json!({"title": "ok", "status": "Draft"}), "status"),
        (json!({"title": "ok", "status": ""}), "status"),
        (json!({"title": "ok", "status": 1}), "status"),
    ]
}

async fn create_rejects_bad_fields(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let mut cases = bad_fields();
    cases.push((json!({}), "title"));
    cases.push((json!({"content": "no title"}), "title"));
    cases.push((json!({"title": null}), "title"));
    for (body, field) in cases {
        let r = c.post(&docs(org), &body).await;
        let shown: String = body.to_string().chars().take(80).collect();
        assert_eq!(r.status, 400, "create {shown}: {}", r.text());
        let p = r.expect_problem(400, "validation_failed");
        assert!(
            p.fields().contains(&field),
            "create {shown}: expected an error for {field:?}, got {}",
            p.body
        );
    }
    // Several bad fields at once: each is named.
    let r = c
        .post(&docs(org), &json!({"title": "", "status": "gone"}))
        .await;
    let p = r.expect_problem(400, "validation_failed");
    p.expect_field("title").expect_field("status");

    assert!(
        kit::listed_ids(&c, org).await.is_empty(),
        "a refused create wrote a document"
    );
}

async fn create_rejects_unknown_fields_and_broken_bodies(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    for field in [
        "id",
        "org_id",
        "owner_id",
        "version",
        "created_at",
        "updated_at",
        "deleted_at",
        "Title",
    ] {
        let body = json!({"title": "ok", field: "x"});
        let r = c.post(&docs(org), &body).await;
        r.expect_problem(400, "unknown_field").expect_field(field);
    }
    for raw in [
        "{",
        "{\"title\": }",
        "not json",
        "{\"title\": \"a\"} trailing",
    ] {
        let r = c
            .request(Method::POST, &docs(org))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .expect("request");
        assert_eq!(r.status().as_u16(), 400, "body {raw:?}");
    }
    for body in [json!([]), json!("title"), json!(null), json!(7)] {
        let r = c.post(&docs(org), &body).await;
        assert_eq!(r.status, 400, "body {body}: {}", r.text());
        let p = r.problem();
        assert!(
            ["validation_failed", "malformed_json"].contains(&p.code.as_str()),
            "body {body}: {}",
            p.body
        );
    }
    // Over the 1 MiB body limit: refused before parsing.
    let huge = json!({"title": "big", "content": "x".repeat(1024 * 1024 + 1)});
    let r = c.post(&docs(org), &huge).await;
    r.expect_problem(413, "payload_too_large");
    // A body that is not JSON at all.
    let r = c
        .request(Method::POST, &docs(org))
        .header("content-type", "text/plain")
        .body("title=x")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 415, "text/plain body");
    assert!(
        kit::listed_ids(&c, org).await.is_empty(),
        "a refused create wrote a document"
    );
}

async fn patch_rejects_bad_fields_and_changes_nothing(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create(
        &c,
        org,
        &json!({"title": "Stable", "content": "as is", "status": "published"}),
    )
    .await;
    let id = str_of(&d, "id");
    let path = doc(org, id);
    for (body, field) in bad_fields() {
        let r = c.patch(&path, &body).await;
        let shown: String = body.to_string().chars().take(80).collect();
        assert_eq!(r.status, 400, "PATCH {shown}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field(field);
    }
    for field in [
        "id",
        "org_id",
        "owner_id",
        "version",
        "created_at",
        "deleted_at",
    ] {
        let r = c.patch(&path, &json!({"title": "ok", field: "x"})).await;
        r.expect_problem(400, "unknown_field").expect_field(field);
    }
    let r = c
        .request(Method::PATCH, &path)
        .header("content-type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 400);

    let now = kit::get_doc(&c, org, id).await;
    assert_eq!(now, d, "a refused PATCH changed the document");
    assert_eq!(version_of(&now), 1);
    let r = c.get(&format!("{path}/versions")).await;
    let (items, _) = kit::page(&r);
    assert_eq!(items.len(), 1, "a refused PATCH made a version: {items:?}");
}
