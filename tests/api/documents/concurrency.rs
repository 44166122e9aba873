//! Concurrent PATCHes: without `If-Match` none is lost and versions stay dense (1..n, each
//! once, the document equal to the highest); with one shared `If-Match` exactly one wins.

use super::kit::{self, doc, etag_of, page, signup, str_of, version_of};
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt};
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(concurrent_patches_make_dense_versions),
        trial!(concurrent_patches_with_one_if_match_have_one_winner),
    ]
}

const N: usize = 20;

async fn concurrent_patches_make_dense_versions(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create_titled(&c, org, "Race", "start").await;
    let id = str_of(&d, "id");
    let path = doc(org, id);

    let replies = join_all((0..N).map(|i| {
        c.request(Method::PATCH, &path)
            .json(
                &json!({"title": format!("Race {i}"), "content": format!("content of writer {i}")}),
            )
            .reply()
    }))
    .await;
    // Version → the state that PATCH answered with.
    let mut won: BTreeMap<u64, Value> = BTreeMap::new();
    for (i, r) in replies.iter().enumerate() {
        match r.status {
            200 => {
                let body = kit::assert_doc_reply(r);
                assert_eq!(body["content"], format!("content of writer {i}"), "{body}");
                assert_eq!(body["title"], format!("Race {i}"), "{body}");
                let v = version_of(&body);
                assert!(
                    won.insert(v, body.clone()).is_none(),
                    "two PATCHes answered with version {v}"
                );
            }
            412 => {
                r.expect_problem(412, "precondition_failed");
            }
            other => panic!("PATCH {i} without If-Match: {other} {}", r.text()),
        }
    }
    assert!(!won.is_empty(), "no PATCH succeeded");
    let n = 1 + won.len() as u64;
    let want: Vec<u64> = (2..=n).collect();
    assert_eq!(
        won.keys().copied().collect::<Vec<_>>(),
        want,
        "answered versions"
    );

    // The version list: exactly n..1, no gap, no duplicate.
    let (items, next) = page(&c.get(&format!("{path}/versions?limit=100")).await);
    assert_eq!(next, None);
    let listed: Vec<u64> = items.iter().map(version_of).collect();
    let want: Vec<u64> = (1..=n).rev().collect();
    assert_eq!(listed, want, "listed versions");

    // Each version holds exactly what its PATCH produced; the document equals the highest.
    for (v, body) in &won {
        let r = c.get(&format!("{path}/versions/{v}")).await;
        r.expect_status(200);
        let stored = r.json();
        assert_eq!(
            (&stored["title"], &stored["content"]),
            (&body["title"], &body["content"]),
            "version {v}"
        );
    }
    let now = kit::get_doc(&c, org, id).await;
    assert_eq!(version_of(&now), n, "{now}");
    let top = &won[&n];
    assert_eq!(
        now["content"], top["content"],
        "final content ≠ highest version"
    );
    assert_eq!(now["title"], top["title"]);
    let r = c.get(&format!("{path}/versions/{n}")).await;
    assert_eq!(r.json()["content"], now["content"]);
}

async fn concurrent_patches_with_one_if_match_have_one_winner(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let d = kit::create_titled(&c, org, "Guarded", "v1").await;
    let id = str_of(&d, "id");
    let path = doc(org, id);
    let tag = etag_of(id, 1);

    let replies = join_all((0..N).map(|i| {
        c.request(Method::PATCH, &path)
            .header("if-match", &tag)
            .json(&json!({"content": format!("guarded writer {i}")}))
            .reply()
    }))
    .await;
    let mut winners = Vec::new();
    for (i, r) in replies.iter().enumerate() {
        match r.status {
            200 => winners.push((i, kit::assert_doc_reply(r))),
            412 => {
                r.expect_problem(412, "precondition_failed");
                assert_eq!(
                    r.header("etag"),
                    Some(etag_of(id, 2).as_str()),
                    "412 names the current version"
                );
            }
            other => panic!("PATCH {i} with If-Match: {other} {}", r.text()),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "with one If-Match exactly one PATCH may win: {:?}",
        winners.iter().map(|(i, _)| i).collect::<Vec<_>>()
    );
    let (i, won) = &winners[0];
    assert_eq!(version_of(won), 2);
    assert_eq!(won["content"], format!("guarded writer {i}"));
    let now = kit::get_doc(&c, org, id).await;
    assert_eq!(&now, won);
    let (items, _) = page(&c.get(&format!("{path}/versions")).await);
    assert_eq!(items.iter().map(version_of).collect::<Vec<_>>(), vec![2, 1]);
}
