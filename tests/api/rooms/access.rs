//! Every refusal happens before the upgrade, as a problem: no or a bad credential, tickets
//! (single use, expiry, bound to one room), other organizations' rooms, bad room names, API
//! key scopes, document rooms following document rights, the room-connection quota; and a
//! plain GET of the connect URL.

use super::kit::{
    api_key, connect, forged_ticket, room_name, room_path, signup, ticket, try_connect,
    try_connect_ticket, EVENT,
};
use crate::support::{trial, Suite};
use edge_tests::{random, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(refusals_happen_before_the_upgrade),
        trial!(tickets_are_single_use_short_lived_and_bound_to_their_room),
        trial!(document_rooms_follow_document_read_rights),
        trial!(the_room_connection_quota_is_enforced_and_released),
    ]
}

async fn refusals_happen_before_the_upgrade(s: &Suite) {
    let a = signup(&s.api).await;
    let other = signup(&s.api).await;
    let room = room_name();
    let refused = |r: Result<edge_tests::ws::Ws, edge_tests::ws::Refused>| match r {
        Ok(_) => panic!("the upgrade was accepted"),
        Err(e) => e,
    };
    let r = refused(try_connect(&s.api, None, &a.org_id, &room).await);
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        r.body
    );
    let r = refused(try_connect(&s.api, Some("not-a-token"), &a.org_id, &room).await);
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        r.body
    );
    // Another organization's room is indistinguishable from a missing one.
    let r = refused(try_connect(&s.api, Some(&a.access), &other.org_id, &room).await);
    assert_eq!(
        (r.status, r.code().as_str()),
        (404, "not_found"),
        "{}",
        r.body
    );
    // Room names outside [A-Za-z0-9_:.-]{1,96}.
    for bad in ["a%20b", &"x".repeat(97), "caf%C3%A9"] {
        let r = refused(try_connect(&s.api, Some(&a.access), &a.org_id, bad).await);
        assert_eq!(r.status, 404, "{bad}: {}", r.body);
    }
    // An API key needs rooms:join.
    let (_, no_scope) = api_key(&a.on(&s.api), &a.org_id, &["documents:read"]).await;
    let r = refused(try_connect(&s.api, Some(&no_scope), &a.org_id, &room).await);
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    let (key_id, key) = api_key(&a.on(&s.api), &a.org_id, &["rooms:join"]).await;
    let (_k, wk) = connect(&s.api, &key, &a.org_id, &room).await;
    assert_eq!(wk["you"]["user_id"], key_id.as_str());
    // Tickets are for users: an API key gets 403.
    let r = a
        .on(&s.api)
        .api
        .request(
            edge_tests::Method::POST,
            &format!("{}/tickets", room_path(&a.org_id, &room)),
        )
        .bearer_auth(&key)
        .reply()
        .await;
    r.expect_problem(403, "forbidden");
    // Without Upgrade, after the checks: 426, and no quota is taken.
    let r = a
        .on(&s.api)
        .get(&format!("{}/connect", room_path(&a.org_id, &room)))
        .await;
    r.expect_problem(426, "upgrade_required");
    let r = s
        .api
        .get(&format!("{}/connect", room_path(&a.org_id, &room)))
        .reply()
        .await;
    r.expect_problem(401, "unauthenticated");
    // Presence follows the same rights.
    other
        .on(&s.api)
        .get(&room_path(&a.org_id, &room))
        .await
        .expect_problem(404, "not_found");
}

async fn tickets_are_single_use_short_lived_and_bound_to_their_room(s: &Suite) {
    let a = signup(&s.api).await;
    let org = a.org_id.clone();
    let room = room_name();
    let t = ticket(&a.on(&s.api), &org, &room).await;
    let token = t["ticket"].as_str().expect("ticket").to_owned();
    let exp = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().expect("expires_at"))
        .expect("RFC 3339");
    let ttl = exp.timestamp() - chrono::Utc::now().timestamp();
    assert!((50..=61).contains(&ttl), "ticket lives 60 s, got {ttl}");
    // Bound to its room.
    let r = try_connect_ticket(&s.api, &token, &org, "another-room")
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        r.body
    );
    // Good once…
    let mut ws = try_connect_ticket(&s.api, &token, &org, &room)
        .await
        .unwrap_or_else(|r| panic!("ticket refused: {} {}", r.status, r.body));
    let w = ws.next_json().await;
    assert_eq!(w["you"]["user_id"], a.id.as_str());
    // …never twice, even while the first socket is open.
    let r = try_connect_ticket(&s.api, &token, &org, &room)
        .await
        .err()
        .expect("reused ticket refused");
    assert_eq!(
        (r.status, r.code().as_str()),
        (401, "unauthenticated"),
        "{}",
        r.body
    );
    // Expired (sealed like the worker's own, with its secret, one second too old)…
    let sid = super::kit::session_of(&a.access);
    let claims = |exp: i64| json!({"id": random::hex(16), "org": org, "room": room, "user": a.id, "session": sid, "exp": exp});
    let now = chrono::Utc::now().timestamp();
    let expired = forged_ticket(&s.worker, &claims(now - 1));
    let r = try_connect_ticket(&s.api, &expired, &org, &room)
        .await
        .err()
        .expect("expired refused");
    assert_eq!(r.status, 401, "{}", r.body);
    // …while the same claims unexpired open the room (so expiry is what refused it).
    let fresh = forged_ticket(&s.worker, &claims(now + 30));
    let mut ok = try_connect_ticket(&s.api, &fresh, &org, &room)
        .await
        .unwrap_or_else(|r| panic!("forged fresh ticket refused: {} {}", r.status, r.body));
    assert_eq!(ok.next_json().await["type"], "welcome");
    // Tampered.
    let mut tampered = token.clone();
    tampered.insert(3, 'x');
    let r = try_connect_ticket(&s.api, &tampered, &org, &room)
        .await
        .err()
        .expect("tampered refused");
    assert_eq!(r.status, 401, "{}", r.body);
    // With an Authorization header the header decides; a ticket beside it is not looked at.
    let url = format!(
        "{}?ticket=garbage",
        super::kit::connect_url(&s.api, &org, &room)
    );
    let mut both = edge_tests::ws::Ws::connect(&url, Some(&a.access))
        .await
        .unwrap_or_else(|r| panic!("header refused: {} {}", r.status, r.body));
    assert_eq!(both.next_json().await["type"], "welcome");
    // A ticket of a revoked session dies with it.
    let t2 = ticket(&a.on(&s.api), &org, &room).await;
    a.on(&s.api)
        .post("/v1/auth/logout", &json!(null))
        .await
        .expect_status(204);
    let r = try_connect_ticket(&s.api, t2["ticket"].as_str().unwrap_or(""), &org, &room)
        .await
        .err()
        .expect("revoked session's ticket refused");
    assert_eq!(r.status, 401, "{}", r.body);
}

async fn document_rooms_follow_document_read_rights(s: &Suite) {
    let a = signup(&s.api).await;
    let org = a.org_id.clone();
    let c = a.on(&s.api);
    let doc = crate::documents::kit::create_titled(&c, &org, "Room doc", "x").await;
    let id = doc["id"].as_str().expect("doc id").to_owned();
    let room = format!("doc:{id}");
    let (mut ws, _) = connect(&s.api, &a.access, &org, &room).await;
    // Writes to the document reach its room.
    crate::documents::kit::patch_doc(&c, &org, &id, &json!({"title": "Renamed"})).await;
    let ev = ws.next_of("document.updated", EVENT).await;
    assert_eq!(ev["document"]["title"], "Renamed");
    // A key that may join rooms but not read documents may not join a document's room.
    let (_, join_only) = api_key(&c, &org, &["rooms:join"]).await;
    let r = try_connect(&s.api, Some(&join_only), &org, &room)
        .await
        .err()
        .expect("refused");
    assert_eq!(
        (r.status, r.code().as_str()),
        (403, "forbidden"),
        "{}",
        r.body
    );
    let (_, both) = api_key(&c, &org, &["rooms:join", "documents:read"]).await;
    let _ok = connect(&s.api, &both, &org, &room).await;
    // No such document, or another organization's: 404.
    let missing = format!("doc:{}", crate::documents::kit::unknown_doc_id());
    let r = try_connect(&s.api, Some(&a.access), &org, &missing)
        .await
        .err()
        .expect("refused");
    assert_eq!(r.status, 404, "{}", r.body);
    let b = signup(&s.api).await;
    let r = try_connect(&s.api, Some(&b.access), &b.org_id, &room)
        .await
        .err()
        .expect("refused");
    assert_eq!(r.status, 404, "{}", r.body);
    let r = b
        .on(&s.api)
        .post(
            &format!("/v1/orgs/{}/rooms/{room}/tickets", b.org_id),
            &json!(null),
        )
        .await;
    r.expect_problem(404, "not_found");
    // A deleted document's room is gone for new joiners.
    c.delete(&crate::documents::kit::doc(&org, &id))
        .await
        .expect_status(204);
    let r = try_connect(&s.api, Some(&a.access), &org, &room)
        .await
        .err()
        .expect("refused");
    assert_eq!(r.status, 404, "{}", r.body);
    // The sockets already in it hear of the deletion, then are closed (4004).
    ws.next_of("document.deleted", EVENT).await;
    assert_eq!(ws.closed_with(EVENT).await, Some(4004));
}

async fn the_room_connection_quota_is_enforced_and_released(s: &Suite) {
    let w = s
        .private_worker(WorkerOptions::new().var(
            "PLAN_LIMITS",
            r#"{"free":{"requests_per_minute":100000,"room_connections":2},"auth_per_minute":100000}"#,
        ))
        .await;
    let api = w.api();
    let a = signup(&api).await;
    let org = a.org_id.clone();
    let (one, _) = connect(&api, &a.access, &org, &room_name()).await;
    let (two, _) = connect(&api, &a.access, &org, &room_name()).await;
    let r = try_connect(&api, Some(&a.access), &org, &room_name())
        .await
        .err()
        .expect("over quota");
    assert_eq!(
        (r.status, r.code().as_str()),
        (429, "rate_limited"),
        "{}",
        r.body
    );
    let p: serde_json::Value = serde_json::from_str(&r.body).expect("problem");
    assert_eq!(p["quota"], "room_connections");
    let usage = a
        .on(&api)
        .get(&format!("/v1/orgs/{org}/usage"))
        .await
        .json();
    assert_eq!(usage["room_connections"]["used"], 2, "{usage}");
    assert_eq!(usage["room_connections"]["limit"], 2);
    // A clean close and an abrupt one both give their connection back.
    one.close().await;
    two.abort();
    edge_tests::eventually("room connections released", Duration::from_secs(30), || {
        let c = a.on(&api);
        let org = org.clone();
        async move {
            let u = c.get(&format!("/v1/orgs/{org}/usage")).await.json();
            (u["room_connections"]["used"] == 0).then_some(())
        }
    })
    .await;
    let _again = connect(&api, &a.access, &org, &room_name()).await;
    let _and_again = connect(&api, &a.access, &org, &room_name()).await;
}
