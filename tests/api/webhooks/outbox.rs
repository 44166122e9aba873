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
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(only_the_winning_write_of_a_race_has_an_event),
        // Alone: its load would slow other trials' deliveries past the receiver timeout.
        trial!(exclusive two_hundred_concurrent_writes_give_two_hundred_events_and_deliveries),
        trial!(batches_lost_to_an_audit_race_leave_no_event),
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
    assert_eq!(ids.len(), N);
    assert_eq!(docs_seen, created, "each document's event exactly once");
    // A second delivery of an id is only ever a logged retry (e.g. an attempt that timed out
    // under this load although the receiver got it): each id succeeded exactly once, and the
    // receiver got no more requests for it than the attempts logged.
    let log = all_attempts(&by, org, &e.id).await;
    let mut per_id: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for a in &log {
        let slot = per_id
            .entry(a["event_id"].as_str().unwrap_or_default().to_owned())
            .or_default();
        slot.0 += 1;
        slot.1 += usize::from(a["outcome"] == "succeeded");
    }
    for id in &ids {
        let (attempts, succeeded) = per_id.get(id).copied().unwrap_or_default();
        assert_eq!(
            succeeded, 1,
            "{id}: {attempts} attempts, {succeeded} succeeded"
        );
        let received = got
            .iter()
            .filter(|d| d.header("webhook-id") == Some(id.as_str()))
            .count();
        assert!(
            received <= attempts,
            "{id} arrived {received} times with {attempts} attempts logged"
        );
    }
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

/// Every row of an endpoint's attempt log, following the cursor.
async fn all_attempts(
    by: &crate::documents::kit::Caller,
    org: &str,
    endpoint: &str,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{}/attempts?limit=100", kit::hook(org, endpoint));
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = by.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        out.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Concurrent audited changes race for the audit chain's next `seq`: every loser's whole batch
/// fails on the chain's UNIQUE index and is written again. The events in the failed batches
/// must not exist: exactly one event per change, each delivered.
async fn batches_lost_to_an_audit_race_leave_no_event(s: &Suite) {
    const N: usize = 20;
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["api_key.created"]).await;
    let keys =
        join_all((0..N).map(|_| crate::documents::kit::api_key(&by, org, &["documents:read"])))
            .await;
    let key_ids: BTreeSet<String> = keys.into_iter().map(|(id, _)| id).collect();
    assert_eq!(key_ids.len(), N);
    let what = format!("{N} api_key.created deliveries");
    edge_tests::eventually(&what, Duration::from_secs(60), || async {
        (kit::ids(&s.receiver, &e).len() >= N).then_some(())
    })
    .await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::ids(&s.receiver, &e).len(),
        N,
        "events of failed batches were delivered"
    );
    let listed = kit::events(&by, org, "?type=api_key.created&limit=100").await;
    assert_eq!(listed.len(), N, "one event per key: {listed:?}");
    let named: BTreeSet<String> = listed
        .iter()
        .filter_map(|v| v["data"]["object"]["id"].as_str())
        .map(str::to_owned)
        .collect();
    assert_eq!(named, key_ids, "each event names its key: {listed:?}");
}
