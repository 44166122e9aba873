//! Create, read, update, soft delete and restore: the answers' shapes, what each write changes
//! and what it leaves alone, and where a deleted document is (not) visible.

use super::kit::{self, doc, docs, signup, str_of, version_of};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(create_defaults_and_location),
        trial!(create_keeps_every_field_and_trims_the_title),
        trial!(patch_changes_only_the_given_fields),
        trial!(soft_delete_hides_everywhere_and_restore_brings_back),
    ]
}

async fn create_defaults_and_location(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let r = c.post(&docs(&a.org_id), &json!({"title": "Plain"})).await;
    r.expect_status(201);
    let d = kit::assert_doc_reply(&r);
    let id = str_of(&d, "id");
    assert_eq!(d["org_id"], a.org_id.as_str(), "{d}");
    assert_eq!(d["title"], "Plain", "{d}");
    assert_eq!(d["content"], "", "content defaults to empty: {d}");
    assert_eq!(d["status"], "draft", "status defaults to draft: {d}");
    assert_eq!(d["version"], 1, "{d}");
    assert_eq!(d["owner_id"], a.id.as_str(), "{d}");
    assert_eq!(d["created_at"], d["updated_at"], "{d}");
    let location = r.header("location").expect("Location on 201");
    assert_eq!(location, doc(&a.org_id, id), "Location");
    assert!(
        r.header("cache-control")
            .is_some_and(|v| v.contains("no-store")),
        "an authenticated answer must not be cached"
    );

    // The Location answers with the very same document and tag.
    let g = c.get(location).await;
    g.expect_status(200);
    assert_eq!(kit::assert_doc_reply(&g), d, "GET Location");
    assert_eq!(g.header("etag"), r.header("etag"));

    // Ids are opaque and fresh.
    let e = kit::create_titled(&c, &a.org_id, "Plain", "").await;
    assert_ne!(e["id"], d["id"]);
}

async fn create_keeps_every_field_and_trims_the_title(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let content =
        "Zeile 1\nLine 2 \u{1F600} «ü» \"quoted\" \\ <b>html</b>\t\r\n nul:\u{0}: \u{7f} trailing  ";
    let d = kit::create(
        &c,
        &a.org_id,
        &json!({"title": "   Spaced out  ", "content": content, "status": "published"}),
    )
    .await;
    assert_eq!(d["title"], "Spaced out", "title is trimmed: {d}");
    assert_eq!(d["content"], content, "content is kept byte for byte");
    assert_eq!(d["status"], "published");
    let got = kit::get_doc(&c, &a.org_id, str_of(&d, "id")).await;
    assert_eq!(got, d);

    // The limits are inclusive: 200 characters (not bytes) of title, 512 KiB of content.
    let title: String = "é".repeat(200);
    let big = "x".repeat(512 * 1024);
    for status in ["draft", "published", "archived"] {
        let d = kit::create(
            &c,
            &a.org_id,
            &json!({"title": title, "content": big, "status": status}),
        )
        .await;
        assert_eq!(d["title"], title.as_str());
        assert_eq!(d["status"], status);
        assert_eq!(d["content"].as_str().map(str::len), Some(512 * 1024));
    }
    // Exactly 512 KiB made of multi-byte characters.
    let multi = "€".repeat(512 * 1024 / 3) + "ab";
    assert_eq!(multi.len(), 512 * 1024);
    let d = kit::create(&c, &a.org_id, &json!({"title": "t", "content": multi})).await;
    assert_eq!(d["content"], multi.as_str());
}

async fn patch_changes_only_the_given_fields(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create(
        &c,
        org,
        &json!({"title": "First", "content": "body one", "status": "draft"}),
    )
    .await;
    let id = str_of(&d, "id");

    let p = kit::patch_doc(&c, org, id, &json!({"title": "  Second "})).await;
    assert_eq!(p["title"], "Second", "{p}");
    assert_eq!(p["content"], "body one", "{p}");
    assert_eq!(p["status"], "draft", "{p}");
    assert_eq!(version_of(&p), 2, "{p}");
    for same in ["id", "org_id", "owner_id", "created_at"] {
        assert_eq!(p[same], d[same], "{same} changed on PATCH");
    }
    assert!(
        str_of(&p, "updated_at") >= str_of(&d, "updated_at"),
        "updated_at went back: {d} → {p}"
    );

    let p = kit::patch_doc(&c, org, id, &json!({"content": ""})).await;
    assert_eq!(
        (p["title"].as_str(), p["content"].as_str()),
        (Some("Second"), Some(""))
    );
    let p = kit::patch_doc(&c, org, id, &json!({"status": "archived"})).await;
    assert_eq!(p["status"], "archived");
    let p = kit::patch_doc(
        &c,
        org,
        id,
        &json!({"title": "Third", "content": "body three", "status": "published"}),
    )
    .await;
    assert_eq!(version_of(&p), 5, "{p}");
    assert_eq!(
        (
            p["title"].as_str(),
            p["content"].as_str(),
            p["status"].as_str()
        ),
        (Some("Third"), Some("body three"), Some("published"))
    );
    assert_eq!(kit::get_doc(&c, org, id).await, p, "GET after PATCH");

    // Nothing to change: the document as it is, no new version.
    let r = c.patch(&doc(org, id), &json!({})).await;
    r.expect_status(200);
    assert_eq!(kit::assert_doc_reply(&r), p, "PATCH {{}}");
    let (versions, _) = kit::page(&c.get(&format!("{}/versions", doc(org, id))).await);
    assert_eq!(versions.len(), 5, "an empty PATCH made a version");
}

async fn soft_delete_hides_everywhere_and_restore_brings_back(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let w = kit::word();
    let keep = kit::create_titled(&c, org, "Kept", &format!("{w} stays")).await;
    let d = kit::create_titled(&c, org, &format!("Doomed {w}"), "content").await;
    let id = str_of(&d, "id");
    let d = kit::patch_doc(&c, org, id, &json!({"status": "published"})).await;
    let both = vec![id.to_owned(), str_of(&keep, "id").to_owned()];
    assert_eq!(kit::listed_ids(&c, org).await, both);
    assert_eq!(kit::search_ids(&c, org, &w).await.len(), 2);

    let r = c.delete(&doc(org, id)).await;
    r.expect_status(204);
    assert!(r.body.is_empty(), "204 with a body: {}", r.text());

    // Gone from every read and write route...
    for path in [
        doc(org, id),
        format!("{}/versions", doc(org, id)),
        format!("{}/versions/1", doc(org, id)),
        format!("{}/shares", doc(org, id)),
    ] {
        c.get(&path).await.expect_problem(404, "not_found");
    }
    c.patch(&doc(org, id), &json!({"title": "zombie"}))
        .await
        .expect_problem(404, "not_found");
    c.delete(&doc(org, id))
        .await
        .expect_problem(404, "not_found");
    c.post(
        &format!("{}/shares", doc(org, id)),
        &json!({"user_id": a.id, "permission": "view"}),
    )
    .await
    .expect_problem(404, "not_found");
    // ...and from the list (also filtered by its status) and from search.
    assert_eq!(kit::listed_ids(&c, org).await, vec![both[1].clone()]);
    let published = kit::list_all(&c, &format!("{}?status=published", docs(org)), 10).await;
    assert!(
        published.is_empty(),
        "deleted document listed: {published:?}"
    );
    assert_eq!(kit::search_ids(&c, org, &w).await, vec![both[1].clone()]);
    assert!(kit::search_ids(&c, org, "Doomed").await.is_empty());

    // Restore gives back the document as it was, in list and search again.
    let r = kit::restore(&c, org, id).await;
    r.expect_status(200);
    let restored = kit::assert_doc_reply(&r);
    for same in [
        "id",
        "title",
        "content",
        "status",
        "version",
        "owner_id",
        "created_at",
    ] {
        assert_eq!(
            restored[same], d[same],
            "{same} changed by delete + restore"
        );
    }
    assert_eq!(kit::get_doc(&c, org, id).await, restored);
    assert_eq!(kit::listed_ids(&c, org).await, both);
    assert_eq!(
        kit::search_ids(&c, org, "Doomed").await,
        vec![id.to_owned()]
    );
    let versions = c.get(&format!("{}/versions", doc(org, id))).await;
    versions.expect_status(200);
    // Editable again.
    let p = kit::patch_doc(&c, org, id, &json!({"title": "Saved"})).await;
    assert_eq!(version_of(&p), version_of(&d) + 1);

    // Restoring a live document or an unknown one.
    let again = kit::restore(&c, org, id).await;
    again.expect_status(200);
    let unknown = kit::unknown_doc_id();
    kit::restore(&c, org, &unknown)
        .await
        .expect_problem(404, "not_found");
}
