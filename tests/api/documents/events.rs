//! Every successful write publishes to the realtime room `doc:{id}` (as frames on a real
//! socket in the room, and in the room's recent server-side events, read through a test route
//! for the writes nobody can watch live): `document.updated` on create, PATCH and
//! restore, `document.deleted` on delete, with the document, the actor and a time; refused
//! writes and idempotent replays publish nothing.

use super::kit::{self, api_key, doc, docs, signup, str_of, wait_room_events, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(writes_publish_to_the_documents_room),
        trial!(refused_writes_and_replays_publish_nothing),
    ]
}

fn assert_event(e: &Value, kind: &str, doc: &Value, by: &str) {
    assert_eq!(e["type"], kind, "{e}");
    assert_eq!(e["by"], by, "{e}");
    let ts = str_of(e, "ts");
    assert!(
        chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
        "ts is not RFC 3339: {e}"
    );
    let d = &e["document"];
    for k in ["id", "org_id", "title", "status", "version", "owner_id"] {
        assert_eq!(d[k], doc[k], "event document {k}: {e}");
    }
}

async fn writes_publish_to_the_documents_room(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let created = kit::create_titled(&c, org, "Live", "v1").await;
    let id = str_of(&created, "id");
    let events = wait_room_events(&s.api, org, id, 1).await;
    assert_event(&events[0], "document.updated", &created, &a.id);

    // From here on a real socket in the document's room sees each write as a frame (the
    // create above and the restore below happen while nobody can be in the room).
    let room = format!("doc:{id}");
    let (mut ws, _) = crate::rooms::kit::connect(&s.api, &a.access, org, &room).await;
    let patched = kit::patch_doc(
        &c,
        org,
        id,
        &json!({"title": "Live 2", "status": "published"}),
    )
    .await;
    let frame = ws
        .next_of("document.updated", Duration::from_secs(10))
        .await;
    assert_event(&frame, "document.updated", &patched, &a.id);
    assert_eq!(frame["document"]["version"], 2);
    let events = wait_room_events(&s.api, org, id, 2).await;
    assert_event(&events[1], "document.updated", &patched, &a.id);

    c.delete(&doc(org, id)).await.expect_status(204);
    let frame = ws
        .next_of("document.deleted", Duration::from_secs(10))
        .await;
    assert_event(&frame, "document.deleted", &patched, &a.id);
    // The room of a deleted document closes its sockets (4004).
    assert_eq!(ws.closed_with(Duration::from_secs(10)).await, Some(4004));
    let events = wait_room_events(&s.api, org, id, 3).await;
    assert_event(&events[2], "document.deleted", &patched, &a.id);

    let r = kit::restore(&c, org, id).await;
    r.expect_status(200);
    let restored = r.json();
    let events = wait_room_events(&s.api, org, id, 4).await;
    assert_event(&events[3], "document.updated", &restored, &a.id);

    // Oldest first, nothing extra.
    let kinds: Vec<&str> = events.iter().map(|e| str_of(e, "type")).collect();
    assert_eq!(
        kinds,
        [
            "document.updated",
            "document.updated",
            "document.deleted",
            "document.updated"
        ]
    );
    let times: Vec<&str> = events.iter().map(|e| str_of(e, "ts")).collect();
    assert!(
        times.windows(2).all(|p| p[0] <= p[1]),
        "not oldest first: {times:?}"
    );

    // An API key's writes name the key.
    let (key_id, secret) = api_key(&c, org, &["documents:read", "documents:write"]).await;
    let k = Caller::new(&s.api, &secret);
    let by_key = kit::create_titled(&k, org, "Keyed", "").await;
    let kid = str_of(&by_key, "id");
    let events = wait_room_events(&s.api, org, kid, 1).await;
    assert_event(&events[0], "document.updated", &by_key, &key_id);

    // The room belongs to the organization: another's room of that name is empty.
    let b = signup(&s.api).await;
    assert!(kit::room_events(&s.api, &b.org_id, id).await.is_empty());
    // Each document has its own room.
    assert_eq!(kit::room_events(&s.api, org, kid).await.len(), 1);
}

async fn refused_writes_and_replays_publish_nothing(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let key = random::unique("evt");
    let body = json!({"title": "Quiet"});
    let first = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&body)
        .reply()
        .await;
    first.expect_status(201);
    let d = first.json();
    let id = str_of(&d, "id");
    wait_room_events(&s.api, org, id, 1).await;

    // Refused or repeated: a replay, a bad PATCH, a stale If-Match, a share for a non-member.
    let replay = c
        .request(Method::POST, &docs(org))
        .header("idempotency-key", &key)
        .json(&body)
        .reply()
        .await;
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    c.patch(&doc(org, id), &json!({"title": ""}))
        .await
        .expect_problem(400, "validation_failed");
    c.request(Method::PATCH, &doc(org, id))
        .header("if-match", kit::etag_of(id, 9))
        .json(&json!({"title": "stale"}))
        .reply()
        .await
        .expect_problem(412, "precondition_failed");
    c.post(
        &format!("{}/shares", doc(org, id)),
        &json!({"user_id": "usr_nobody", "permission": "view"}),
    )
    .await
    .expect_problem(400, "validation_failed");

    // Then one real write: it is the only event after the create.
    let p = kit::patch_doc(&c, org, id, &json!({"title": "Loud"})).await;
    let events = wait_room_events(&s.api, org, id, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events_later = kit::room_events(&s.api, org, id).await;
    assert_eq!(events_later, events, "more events arrived");
    assert_eq!(events.len(), 2, "events: {events:?}");
    assert_event(&events[1], "document.updated", &p, &a.id);
}
