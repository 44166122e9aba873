//! A room follows the policy of the data it carries: `jobs` (every job's status) needs the
//! jobs read right, like `GET …/jobs`; and sockets do not outlive their right to be there: an
//! API key's socket closes (4002) when the key reaches its `expires_at`, a `doc:{id}` room's
//! sockets close (4004) once its document is deleted.

use super::kit::{api_key, connect, join, room_path, signup, ticket, try_connect, EVENT};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::{Duration, Instant};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(the_jobs_room_needs_the_jobs_read_right),
        trial!(a_socket_closes_when_its_api_key_expires),
        trial!(a_document_rooms_sockets_close_when_it_is_deleted),
    ]
}

async fn the_jobs_room_needs_the_jobs_read_right(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let c = owner.on(&s.api);
    let (_, join_only) = api_key(&c, &org, &["rooms:join"]).await;
    // rooms:join alone: no ticket, no connect, no presence of `jobs`, each a 403 naming the
    // missing right; any other room is fine.
    let r = try_connect(&s.api, Some(&join_only), &org, "jobs")
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    assert!(r.body.contains("jobs:write"), "{}", r.body);
    let as_key = |path: String| {
        s.api
            .request(edge_tests::Method::POST, &path)
            .bearer_auth(&join_only)
    };
    use edge_tests::SendExt;
    let r = as_key(format!("{}/tickets", room_path(&org, "jobs")))
        .reply()
        .await;
    let p = r.expect_problem(403, "forbidden");
    assert!(
        p.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("jobs:write"),
        "{}",
        r.text()
    );
    let r = s
        .api
        .get(&room_path(&org, "jobs"))
        .bearer_auth(&join_only)
        .reply()
        .await;
    r.expect_problem(403, "forbidden");
    // The jobs list refuses it the same way: the room follows that policy.
    let r = s
        .api
        .get(&format!("/v1/orgs/{org}/jobs"))
        .bearer_auth(&join_only)
        .reply()
        .await;
    r.expect_problem(403, "forbidden");
    let _lobby = connect(&s.api, &join_only, &org, "lobby").await;
    // With the jobs right as well, the key joins `jobs`.
    let (_, jobs_key) = api_key(&c, &org, &["rooms:join", "jobs:write"]).await;
    let (_ws, welcome) = connect(&s.api, &jobs_key, &org, "jobs").await;
    assert_eq!(welcome["room"], "jobs");
    // Every role may read jobs: a viewer gets a ticket and joins.
    let viewer = join(s, &c, &org, "viewer").await;
    let t = ticket(&viewer.on(&s.api), &org, "jobs").await;
    assert!(t["ticket"].is_string(), "{t}");
    let (_v, w) = connect(&s.api, &viewer.access, &org, "jobs").await;
    assert_eq!(w["you"]["role"], "viewer");
}

async fn a_socket_closes_when_its_api_key_expires(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let c = owner.on(&s.api);
    let expires = chrono::Utc::now() + chrono::Duration::seconds(4);
    let body = json!({
        "name": "short-lived",
        "scopes": ["rooms:join"],
        "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    let r = c.post(&format!("/v1/orgs/{org}/api-keys"), &body).await;
    r.expect_status(201);
    let b = r.json();
    let (key_id, key) = (
        b["id"].as_str().expect("id").to_owned(),
        b["key"].as_str().expect("key").to_owned(),
    );
    let room = super::kit::room_name();
    let (mut o, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (mut k, _) = connect(&s.api, &key, &org, &room).await;
    assert_eq!(
        o.next_of("joined", EVENT).await["user"]["user_id"],
        key_id.as_str()
    );
    let started = Instant::now();
    let code = k.closed_with(Duration::from_secs(20)).await;
    let at = chrono::Utc::now();
    assert_eq!(code, Some(4002), "the key's socket closed as expired");
    assert!(at >= expires, "closed before expires_at ({at} < {expires})");
    assert!(
        at - expires <= chrono::Duration::seconds(5),
        "closed {} ms after expires_at (waited {:?})",
        (at - expires).num_milliseconds(),
        started.elapsed()
    );
    assert_eq!(
        o.next_of("left", EVENT).await["user"]["user_id"],
        key_id.as_str()
    );
    // The owner's socket stays, and the expired key cannot come back.
    o.send_json(&json!({"type": "message", "data": "still here"}))
        .await;
    assert_eq!(o.next_of("message", EVENT).await["data"], "still here");
    let r = try_connect(&s.api, Some(&key), &org, &room)
        .await
        .err()
        .expect("refused");
    assert_eq!(r.status, 401, "{}", r.body);
}

async fn a_document_rooms_sockets_close_when_it_is_deleted(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let c = owner.on(&s.api);
    let member = join(s, &c, &org, "member").await;
    let doc = crate::documents::kit::create_titled(&c, &org, "Doomed", "x").await;
    let id = doc["id"].as_str().expect("doc id").to_owned();
    let room = format!("doc:{id}");
    let other = super::kit::room_name();
    let (mut a, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (mut m, _) = connect(&s.api, &member.access, &org, &room).await;
    let (mut elsewhere, _) = connect(&s.api, &member.access, &org, &other).await;
    a.next_of("joined", EVENT).await;
    c.delete(&crate::documents::kit::doc(&org, &id))
        .await
        .expect_status(204);
    for ws in [&mut a, &mut m] {
        let ev = ws.next_of("document.deleted", EVENT).await;
        assert_eq!(ev["document"]["id"], id.as_str());
        assert_eq!(ws.closed_with(EVENT).await, Some(4004));
    }
    // The member's socket in another room is untouched, and the room connections were given
    // back (only that one is left).
    elsewhere
        .send_json(&json!({"type": "message", "data": "hi"}))
        .await;
    assert_eq!(elsewhere.next_of("message", EVENT).await["data"], "hi");
    let usage = c.get(&format!("/v1/orgs/{org}/usage")).await.json();
    assert_eq!(usage["room_connections"]["used"], 1, "{usage}");
}
