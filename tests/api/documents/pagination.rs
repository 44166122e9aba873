//! The document list: newest first, cursor pages that neither repeat nor skip while documents
//! are being created (new ones only appear before the first page), the status filter, and
//! `limit` / `cursor` refusals (forged, tampered, or another organization's or list's cursor).

use super::kit::{self, docs, page, signup, str_of, Caller};
use crate::support::{trial, Suite};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(walk_250_documents_while_others_are_created),
        trial!(list_limits_status_and_cursors),
    ]
}

/// Creates `n` documents titled `{prefix} {i}`, `parallel` at a time; returns them in order.
async fn create_many(c: &Caller, org: &str, prefix: &str, n: usize, parallel: usize) -> Vec<Value> {
    let mut made = Vec::with_capacity(n);
    let titles: Vec<String> = (0..n).map(|i| format!("{prefix} {i}")).collect();
    for chunk in titles.chunks(parallel) {
        let batch = join_all(chunk.iter().map(|t| kit::create_titled(c, org, t, ""))).await;
        made.extend(batch);
    }
    made
}

/// `(created_at, id)` of each item: the list's order key.
fn order_keys(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|d| {
            (
                str_of(d, "created_at").to_owned(),
                str_of(d, "id").to_owned(),
            )
        })
        .collect()
}

fn assert_newest_first(items: &[Value], what: &str) {
    let keys = order_keys(items);
    for pair in keys.windows(2) {
        assert!(
            pair[0] > pair[1],
            "{what}: not newest first (created_at desc, id desc): {:?} before {:?}",
            pair[0],
            pair[1]
        );
    }
}

async fn walk_250_documents_while_others_are_created(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let original = create_many(&c, org, "Original", 250, 10).await;
    let original_ids: BTreeSet<String> = kit::ids(&original).into_iter().collect();
    assert_eq!(original_ids.len(), 250);
    let base = docs(org);

    let (first, next) = page(&c.get(&format!("{base}?limit=100")).await);
    let mut created_during = Vec::new();
    // Between pages and while each later page is read, more documents are created.
    created_during.extend(create_many(&c, org, "Between 1", 3, 3).await);
    let url = format!(
        "{base}?limit=100&cursor={}",
        next.expect("cursor after page 1")
    );
    let (r, more) = tokio::join!(c.get(&url), create_many(&c, org, "During 2", 3, 3));
    created_during.extend(more);
    let (second, next) = page(&r);
    created_during.extend(create_many(&c, org, "Between 2", 3, 3).await);
    let url = format!(
        "{base}?limit=50&cursor={}",
        next.expect("cursor after page 2")
    );
    let (r, more) = tokio::join!(c.get(&url), create_many(&c, org, "During 3", 3, 3));
    created_during.extend(more);
    let (third, next) = page(&r);

    assert_eq!(
        (first.len(), second.len(), third.len()),
        (100, 100, 50),
        "page sizes"
    );
    assert_eq!(next, None, "a cursor after the last of 250 documents");
    let walked: Vec<Value> = [first, second, third].concat();
    for d in &walked {
        kit::assert_summary(d);
    }
    assert_newest_first(&walked, "the walk");
    let walked_ids = kit::ids(&walked);
    let unique: BTreeSet<String> = walked_ids.iter().cloned().collect();
    assert_eq!(unique.len(), walked_ids.len(), "the walk repeats documents");
    let new_ids: BTreeSet<String> = kit::ids(&created_during).into_iter().collect();
    let leaked: Vec<&String> = unique.intersection(&new_ids).collect();
    assert!(
        leaked.is_empty(),
        "documents created during the walk appeared after its first page: {leaked:?}"
    );
    let missing: Vec<&String> = original_ids.difference(&unique).collect();
    assert!(missing.is_empty(), "the walk skipped {missing:?}");
    // The walk is exactly the originals, newest first.
    let mut by_age = original.clone();
    by_age.sort_by_key(|d| {
        std::cmp::Reverse((
            str_of(d, "created_at").to_owned(),
            str_of(d, "id").to_owned(),
        ))
    });
    assert_eq!(walked_ids, kit::ids(&by_age));

    // A fresh walk starts with the newcomers.
    let all = kit::list_all(&c, &base, 100).await;
    assert_eq!(all.len(), 250 + created_during.len());
    let head: BTreeSet<String> = kit::ids(&all[..created_during.len()]).into_iter().collect();
    assert_eq!(head, new_ids, "the newest documents come first");
    assert_eq!(kit::ids(&all[created_during.len()..]), walked_ids);
}

async fn list_limits_status_and_cursors(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let (ac, bc) = (a.on(&s.api), b.on(&s.api));
    let org = &a.org_id;
    let base = docs(org);
    // 25 documents: 5 published, 5 archived, 15 drafts.
    let mut made = Vec::new();
    for i in 0..25 {
        let status = match i % 5 {
            0 => "published",
            1 => "archived",
            _ => "draft",
        };
        made.push(
            kit::create(
                &ac,
                org,
                &json!({"title": format!("D{i}"), "status": status}),
            )
            .await,
        );
    }
    for _ in 0..3 {
        kit::create_titled(&bc, &b.org_id, "B", "").await;
    }

    // Default limit 20; limit bounds 1 and 100.
    let (items, next) = page(&ac.get(&base).await);
    assert_eq!(items.len(), 20, "default page size");
    assert!(next.is_some());
    assert_newest_first(&items, "default page");
    let (items, _) = page(&ac.get(&format!("{base}?limit=1")).await);
    assert_eq!(kit::ids(&items), vec![str_of(&made[24], "id").to_owned()]);
    let (items, next) = page(&ac.get(&format!("{base}?limit=100")).await);
    assert_eq!((items.len(), next), (25, None));
    for bad in ["0", "101", "-1", "x", "1.5", "1e2", "99999999999999999999"] {
        let r = ac.get(&format!("{base}?limit={bad}")).await;
        assert_eq!(r.status, 400, "limit={bad}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field("limit");
    }

    // The status filter, paged.
    for (status, n) in [("published", 5), ("archived", 5), ("draft", 15)] {
        let got = kit::list_all(&ac, &format!("{base}?status={status}"), 2).await;
        assert_eq!(got.len(), n, "status={status}");
        assert!(got.iter().all(|d| d["status"] == status), "status={status}");
        assert_newest_first(&got, status);
    }
    for bad in ["gone", "Draft", "draft,published", "deleted"] {
        let r = ac.get(&format!("{base}?status={}", kit::encode(bad))).await;
        assert_eq!(r.status, 400, "status={bad:?}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field("status");
    }

    // Cursors: forged, tampered, another organization's, another list's.
    let (_, next) = page(&ac.get(&format!("{base}?limit=5")).await);
    let cursor = next.expect("a cursor");
    let (_, b_next) = page(&bc.get(&format!("{}?limit=1", docs(&b.org_id))).await);
    let b_cursor = b_next.expect("B's cursor");
    let mut tampered = cursor.clone().into_bytes();
    let mid = tampered.len() / 2;
    tampered[mid] = if tampered[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii cursor");
    let (_, v_next) = page(
        &ac.get(&format!(
            "{}/versions?limit=1",
            kit::doc(org, str_of(&made[0], "id"))
        ))
        .await,
    );
    assert_eq!(v_next, None);
    let mut bad_cursors = vec![
        "forged".to_owned(),
        "eyJsIjoiZG9jdW1lbnRzIn0".to_owned(),
        tampered,
        b_cursor.clone(),
        format!("{cursor}x"),
        cursor[..cursor.len() - 2].to_owned(),
    ];
    // A cursor of another list of the same organization (members: a second member makes
    // a second page, so the cursor exists).
    kit::join(s, &ac, org, "member").await;
    let (_, m_next) = page(&ac.get(&format!("/v1/orgs/{org}/members?limit=1")).await);
    bad_cursors.push(m_next.expect("a members cursor: the organization has two members"));
    for bad in &bad_cursors {
        let r = ac
            .get(&format!("{base}?limit=5&cursor={}", kit::encode(bad)))
            .await;
        assert_eq!(r.status, 400, "cursor {bad:?}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field("cursor");
    }
    // A's cursor in B's list.
    let r = bc
        .get(&format!("{}?limit=5&cursor={cursor}", docs(&b.org_id)))
        .await;
    r.expect_problem(400, "validation_failed")
        .expect_field("cursor");
    // The genuine cursor still works, also combined with a different limit.
    let (items, _) = page(&ac.get(&format!("{base}?limit=100&cursor={cursor}")).await);
    assert_eq!(items.len(), 20);
}
