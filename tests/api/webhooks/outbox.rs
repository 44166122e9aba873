//! The outbox: an event commits with its change or not at all. Of concurrent PATCHes under
//! one `If-Match` only the winner's change and event exist; a refused write writes none; 200
//! concurrent document writes give exactly 200 events and 200 deliveries, each id once.

use super::kit::{self, endpoint, envelope, signup, wait, SETTLE};
use crate::documents::kit::{doc, etag_of};
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt};
use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};
use libtest_mimic::Trial;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(only_the_winning_write_of_a_race_has_an_event),
        trial!(two_hundred_concurrent_writes_give_two_hundred_events_and_deliveries),
    ]
}

async fn only_the_winning_write_of_a_race_has_an_event(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.updated"]).await;
    let id = kit::document(&by, org, "Raced").await;
    let path = doc(org, &id);
    let tag = etag_of(&id, 1);
    let replies = join_all((0..8).map(|i| {
        by.request(Method::PATCH, &path)
            .header("if-match", &tag)
            .json(&json!({"content": format!("writer {i}")}))
            .reply()
    }))
    .await;
    let won: Vec<usize> = (0..8).filter(|i| replies[*i].status == 200).collect();
    assert_eq!(
        won.len(),
        1,
        "one winner: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 412));
    // Refused outright (validation): no change, no event.
    let r = by.patch(&path, &json!({"title": ""})).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let got = wait(&s.receiver, &e, 1).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        1,
        "events of losing writes: {got:?}"
    );
    let body = envelope(&got[0]);
    let winner = replies[won[0]].json();
    assert_eq!(body["data"]["document"]["version"], 2, "{body}");
    assert_eq!(
        body["data"]["document"]["updated_at"], winner["updated_at"],
        "the event describes the winner's change: {body} vs {winner}"
    );
    let listed = kit::events(&by, org, "?type=document.updated").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
}

async fn two_hundred_concurrent_writes_give_two_hundred_events_and_deliveries(s: &Suite) {
    const N: usize = 200;
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    let created: Vec<String> = stream::iter(0..N)
        .map(|i| {
            let by = by.clone();
            let org = org.clone();
            async move { kit::document(&by, &org, &format!("Burst {i}")).await }
        })
        .buffer_unordered(25)
        .collect()
        .await;
    let created: BTreeSet<String> = created.into_iter().collect();
    assert_eq!(created.len(), N);
    let what = format!("{N} distinct deliveries");
    edge_tests::eventually(&what, Duration::from_secs(90), || async {
        (kit::ids(&s.receiver, &e).len() >= N).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    let got = kit::received(&s.receiver, &e);
    let mut docs_seen = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for d in &got {
        let body = envelope(d);
        kit::assert_verifies(&e.secret, d);
        if ids.insert(body["id"].as_str().unwrap_or_default().to_owned()) {
            docs_seen.insert(
                body["data"]["document"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    // Every delivery answered 200 at once: a duplicate would be a second delivery of one id.
    assert_eq!(got.len(), N, "deliveries (duplicates?): {}", got.len());
    assert_eq!(ids.len(), N);
    assert_eq!(docs_seen, created, "each document's event exactly once");
    let mut listed = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?type=document.created&limit=100&cursor={c}"),
            None => "?type=document.created&limit=100".to_owned(),
        };
        let r = by.get(&format!("/v1/orgs/{org}/events{q}")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        for v in page["items"].as_array().into_iter().flatten() {
            assert!(
                listed.insert(v["id"].as_str().unwrap_or_default().to_owned()),
                "listed twice"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(listed, ids, "the event list is exactly what was delivered");
}
