//! Versions: every change makes one, listed newest first and paginated, each readable in full
//! with the state that change produced and who made it.

use super::kit::{self, doc, keys, page, str_of, team, version_of};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(every_change_is_a_version),
        trial!(versions_paginate_newest_first),
    ]
}

async fn every_change_is_a_version(s: &Suite) {
    let t = team(s).await;
    let org = &t.org;
    let member = t.member.on(&s.api);
    let admin = t.admin.on(&s.api);
    let d = kit::create(
        &member,
        org,
        &json!({"title": "V1", "content": "one", "status": "draft"}),
    )
    .await;
    let id = str_of(&d, "id");
    let mut states: Vec<Value> = vec![d.clone()];
    states.push(kit::patch_doc(&member, org, id, &json!({"title": "V2"})).await);
    states.push(kit::patch_doc(&admin, org, id, &json!({"content": "three"})).await);
    states.push(kit::patch_doc(&member, org, id, &json!({"status": "published"})).await);
    let authors = [&t.member.id, &t.member.id, &t.admin.id, &t.member.id];

    let r = member.get(&format!("{}/versions", doc(org, id))).await;
    let (items, next) = page(&r);
    assert_eq!(next, None);
    let listed: Vec<u64> = items.iter().map(version_of).collect();
    assert_eq!(listed, vec![4, 3, 2, 1], "newest first: {items:?}");
    let fields: BTreeSet<String> = ["version", "title", "status", "created_at", "author_id"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    for item in &items {
        assert_eq!(keys(item), fields, "version list item: {item}");
        let n = version_of(item) as usize;
        let state = &states[n - 1];
        assert_eq!(item["title"], state["title"], "{item}");
        assert_eq!(item["status"], state["status"], "{item}");
        assert_eq!(item["author_id"], authors[n - 1].as_str(), "{item}");
        assert_eq!(item["created_at"], state["updated_at"], "{item} vs {state}");
    }

    // Each version in full: the state its change produced.
    for (i, state) in states.iter().enumerate() {
        let n = i + 1;
        let r = member.get(&format!("{}/versions/{n}", doc(org, id))).await;
        r.expect_status(200);
        let v = r.json();
        let want: BTreeSet<String> = [
            "doc_id",
            "version",
            "title",
            "content",
            "status",
            "author_id",
            "created_at",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        assert_eq!(keys(&v), want, "version {n}: {v}");
        assert_eq!(v["doc_id"], id);
        assert_eq!(v["version"], n);
        for f in ["title", "content", "status"] {
            assert_eq!(v[f], state[f], "version {n} {f}: {v}");
        }
        assert_eq!(v["author_id"], authors[i].as_str());
    }
    // Versions that do not exist.
    for n in ["0", "5", "-1", "abc", "1.0", "99999999999999999999"] {
        let r = member.get(&format!("{}/versions/{n}", doc(org, id))).await;
        assert_eq!(r.status, 404, "version {n}: {}", r.text());
        r.expect_problem(404, "not_found");
    }
    // A viewer reads versions too.
    let viewer = t.viewer.on(&s.api);
    let r = viewer.get(&format!("{}/versions", doc(org, id))).await;
    assert_eq!(page(&r).0.len(), 4);
    viewer
        .get(&format!("{}/versions/2", doc(org, id)))
        .await
        .expect_status(200);
}

async fn versions_paginate_newest_first(s: &Suite) {
    let a = kit::signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create_titled(&c, org, "v", "0").await;
    let id = str_of(&d, "id");
    let other = kit::create_titled(&c, org, "other", "").await;
    for i in 1..=6 {
        kit::patch_doc(&c, org, id, &json!({"content": i.to_string()})).await;
    }
    let base = format!("{}/versions", doc(org, id));
    let all = kit::list_all(&c, &base, 2).await;
    let listed: Vec<u64> = all.iter().map(version_of).collect();
    assert_eq!(listed, vec![7, 6, 5, 4, 3, 2, 1]);

    let (first, next) = page(&c.get(&format!("{base}?limit=3")).await);
    assert_eq!(first.len(), 3);
    let cursor = next.expect("a next_cursor after 3 of 7");
    // The cursor is bound to this document's versions.
    let r = c
        .get(&format!(
            "{}/versions?cursor={cursor}",
            doc(org, str_of(&other, "id"))
        ))
        .await;
    r.expect_problem(400, "validation_failed")
        .expect_field("cursor");
    let r = c.get(&format!("{}?cursor={cursor}", kit::docs(org))).await;
    r.expect_problem(400, "validation_failed")
        .expect_field("cursor");
    for bad in ["0", "101", "x"] {
        let r = c.get(&format!("{base}?limit={bad}")).await;
        r.expect_problem(400, "validation_failed")
            .expect_field("limit");
    }
    let r = c.get(&format!("{base}?cursor=forged")).await;
    r.expect_problem(400, "validation_failed")
        .expect_field("cursor");
}
