//! The frame protocol: messages in order with consecutive `seq` for everyone, history for
//! late joiners, presence per user, refused frames answered with `error` frames while the
//! socket and the room keep working, viewers read-only.

use super::kit::{connect, join, presence, room_name, say, signup, user_ids, EVENT};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(messages_arrive_in_order_with_consecutive_seq_and_late_joiners_get_history),
        trial!(history_keeps_the_last_50_messages),
        trial!(presence_counts_users_once_and_sees_clean_and_abrupt_leaves),
        trial!(bad_frames_get_error_frames_and_the_room_keeps_working),
        trial!(viewers_receive_but_cannot_send),
        trial!(any_display_name_travels_intact),
        trial!(a_flood_is_rate_limited_per_user_and_the_room_keeps_working),
    ]
}

async fn messages_arrive_in_order_with_consecutive_seq_and_late_joiners_get_history(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let member = join(s, &owner.on(&s.api), &org, "member").await;
    let room = room_name();
    let (mut a, wa) = connect(&s.api, &owner.access, &org, &room).await;
    assert_eq!(wa["you"]["user_id"], owner.id.as_str());
    assert_eq!(wa["you"]["can_send"], true);
    assert_eq!(wa["history"], json!([]));
    assert_eq!(user_ids(&wa["members"]), vec![owner.id.clone()]);
    let (mut b, wb) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(user_ids(&wb["members"]).len(), 2);
    let joined = a.next_json().await;
    assert_eq!(joined["type"], "joined");
    assert_eq!(joined["user"]["user_id"], member.id.as_str());

    // Both talk at once; everybody sees one order, seq 1..=6 with no gap.
    for i in 0..3 {
        say(&mut a, json!({"from": "a", "i": i})).await;
        say(&mut b, json!({"from": "b", "i": i})).await;
    }
    let mut seen_a = Vec::new();
    let mut seen_b = Vec::new();
    for _ in 0..6 {
        seen_a.push(a.next_of("message", EVENT).await);
        seen_b.push(b.next_of("message", EVENT).await);
    }
    let seqs: Vec<i64> = seen_a
        .iter()
        .map(|m| m["seq"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        seqs,
        (1..=6).collect::<Vec<_>>(),
        "consecutive seq: {seen_a:?}"
    );
    assert_eq!(
        seen_a, seen_b,
        "both clients see the same messages in the same order"
    );
    // Each sender's own messages keep their order.
    for who in ["a", "b"] {
        let is: Vec<i64> = seen_a
            .iter()
            .filter(|m| m["data"]["from"] == who)
            .map(|m| m["data"]["i"].as_i64().unwrap_or(-1))
            .collect();
        assert_eq!(is, vec![0, 1, 2]);
    }
    let first = &seen_a[0];
    assert!(
        first["ts"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{first}"
    );
    assert!(first["from"]["user_id"].is_string() && first["from"]["name"].is_string());

    // A third client joining later gets the six as history, oldest first.
    let viewer = join(s, &owner.on(&s.api), &org, "viewer").await;
    let (_c, wc) = connect(&s.api, &viewer.access, &org, &room).await;
    let history = wc["history"].as_array().cloned().unwrap_or_default();
    assert_eq!(history, seen_a, "history = the messages so far");
    assert_eq!(user_ids(&wc["members"]).len(), 3);
}

async fn history_keeps_the_last_50_messages(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let room = room_name();
    let (mut a, _) = connect(&s.api, &owner.access, &org, &room).await;
    for n in 1..=55 {
        say(&mut a, json!({"n": n})).await;
    }
    // All 55 were posted (seq 55 came back) before the late joiner arrives.
    loop {
        let m = a.next_of("message", EVENT).await;
        if m["data"]["n"] == 55 {
            assert_eq!(m["seq"], 55, "{m}");
            break;
        }
    }
    let (_late, w) = connect(&s.api, &owner.access, &org, &room).await;
    let history = w["history"].as_array().cloned().unwrap_or_default();
    let ns: Vec<i64> = history
        .iter()
        .map(|m| m["data"]["n"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(
        ns,
        (6..=55).collect::<Vec<_>>(),
        "the last 50, oldest first"
    );
    let seqs: Vec<i64> = history
        .iter()
        .map(|m| m["seq"].as_i64().unwrap_or(-1))
        .collect();
    assert_eq!(seqs, (6..=55).collect::<Vec<_>>());
}

async fn presence_counts_users_once_and_sees_clean_and_abrupt_leaves(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let member = join(s, &owner.on(&s.api), &org, "member").await;
    let room = room_name();
    let (mut a, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (tab1, _) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(a.next_json().await["type"], "joined");
    // A second tab of the same user: no new member, no event.
    let (tab2, w2) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(user_ids(&w2["members"]).len(), 2, "{w2}");
    let p = presence(&owner.on(&s.api), &org, &room).await;
    assert_eq!(p["room"], room.as_str());
    assert_eq!(p["connections"], 3);
    assert_eq!(user_ids(&p["members"]).len(), 2);
    // Closing one tab is not leaving.
    tab1.close().await;
    let quiet = a.drain(Duration::from_millis(1500)).await;
    assert!(quiet.iter().all(|f| f["type"] != "left"), "{quiet:?}");
    // Dropping the last tab without a close frame is.
    tab2.abort();
    let left = a.next_of("left", Duration::from_secs(30)).await;
    assert_eq!(left["user"]["user_id"], member.id.as_str());
    let p = presence(&owner.on(&s.api), &org, &room).await;
    assert_eq!(p["connections"], 1);
    assert_eq!(user_ids(&p["members"]), vec![owner.id.clone()]);
    // And a clean close of a single socket is a leave too.
    let (tab3, _) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(
        a.next_of("joined", EVENT).await["user"]["user_id"],
        member.id.as_str()
    );
    tab3.close().await;
    assert_eq!(
        a.next_of("left", EVENT).await["user"]["user_id"],
        member.id.as_str()
    );
}

async fn bad_frames_get_error_frames_and_the_room_keeps_working(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let room = room_name();
    let (mut a, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (mut b, _) = connect(&s.api, &owner.access, &org, &room).await;
    let big = json!({"type": "message", "data": "x".repeat(1 << 20)}).to_string();
    let over = json!({"type": "message", "data": "y".repeat(16 * 1024 + 1)}).to_string();
    let cases = vec![
        ("malformed_json", Frame::Text("{not json".into())),
        ("unsupported_frame", Frame::Binary(vec![0, 1, 2, 255])),
        ("payload_too_large", Frame::Text(big)),
        ("payload_too_large", Frame::Text(over)),
        (
            "unknown_type",
            Frame::Text(r#"{"type":"shout","data":1}"#.into()),
        ),
        (
            "validation_failed",
            Frame::Text(r#"{"type":"message"}"#.into()),
        ),
        ("validation_failed", Frame::Text("[1,2]".into())),
    ];
    for (code, frame) in cases {
        match frame {
            Frame::Text(t) => a.send_text(t).await,
            Frame::Binary(bytes) => a.send_binary(bytes).await,
        }
        let err = a.next_json().await;
        assert_eq!(err["type"], "error", "{code}: {err}");
        assert_eq!(err["code"], code, "{err}");
        assert!(err["detail"].is_string());
    }
    // Pings are answered (the exact frame by the runtime, others by the room).
    a.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(a.next_json().await, json!({"type": "pong"}));
    a.send_text(r#"{ "type" : "ping" }"#).await;
    assert_eq!(a.next_json().await, json!({"type": "pong"}));
    // Nothing reached the other socket, and both still work.
    say(&mut a, json!("still here")).await;
    let m = b.next_json().await;
    assert_eq!(
        (m["type"].clone(), m["data"].clone(), m["seq"].clone()),
        (json!("message"), json!("still here"), json!(1))
    );
    assert_eq!(a.next_json().await["seq"], 1);
    say(&mut b, json!({"ok": true})).await;
    assert_eq!(a.next_json().await["seq"], 2);
}

enum Frame {
    Text(String),
    Binary(Vec<u8>),
}

async fn viewers_receive_but_cannot_send(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let viewer = join(s, &owner.on(&s.api), &org, "viewer").await;
    let room = room_name();
    let (mut v, wv) = connect(&s.api, &viewer.access, &org, &room).await;
    assert_eq!(wv["you"]["role"], "viewer");
    assert_eq!(wv["you"]["can_send"], false);
    let (mut o, _) = connect(&s.api, &owner.access, &org, &room).await;
    say(&mut v, json!("may I?")).await;
    let err = v.next_of("error", EVENT).await;
    assert_eq!(err["code"], "forbidden");
    say(&mut o, json!("you may read")).await;
    let m: Value = v.next_of("message", EVENT).await;
    assert_eq!(m["data"], "you may read");
    assert_eq!(m["seq"], 1, "the viewer's attempt took no seq");
    // The owner never saw the viewer's attempt.
    let mine = o.next_of("message", EVENT).await;
    assert_eq!(mine["data"], "you may read");
}

async fn any_display_name_travels_intact(s: &Suite) {
    let a = signup(&s.api).await;
    let name = "Zoë \u{1F680} \"quoted\" <b>";
    a.on(&s.api)
        .patch("/v1/me", &json!({"name": name}))
        .await
        .expect_status(200);
    let room = room_name();
    let (mut ws, w) = connect(&s.api, &a.access, &a.org_id, &room).await;
    assert_eq!(w["you"]["name"], name);
    say(&mut ws, json!("hi")).await;
    assert_eq!(ws.next_of("message", EVENT).await["from"]["name"], name);
}

/// A private worker allows 5 messages per user per 10 s window: a user's two sockets share
/// the budget, the sixth message is refused with a `rate_limited` error frame (nothing posted,
/// no `seq` used), the socket and the room keep working, and the next window takes messages.
async fn a_flood_is_rate_limited_per_user_and_the_room_keeps_working(s: &Suite) {
    let worker = s
        .private_worker(edge_tests::WorkerOptions::new().var("ROOM_MESSAGES_PER_WINDOW", "5"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let org = owner.org_id.clone();
    let room = room_name();
    let (mut tab1, _) = connect(&api, &owner.access, &org, &room).await;
    let (mut tab2, _) = connect(&api, &owner.access, &org, &room).await;
    for i in 0..3 {
        say(&mut tab1, json!({"tab": 1, "i": i})).await;
        say(&mut tab2, json!({"tab": 2, "i": i})).await;
    }
    let frames = tab1.drain(Duration::from_secs(2)).await;
    let seqs: Vec<i64> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .filter_map(|f| f["seq"].as_i64())
        .collect();
    assert_eq!(seqs, (1..=5).collect::<Vec<_>>(), "{frames:?}");
    let refused: Vec<Value> = tab2
        .drain(Duration::from_secs(2))
        .await
        .into_iter()
        .filter(|f| f["type"] == "error")
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "one refusal, on the socket that sent the 6th: {refused:?}"
    );
    assert_eq!(refused[0]["code"], "rate_limited");
    let retry = refused[0]["retry_after"].as_u64().unwrap_or(0);
    assert!((1..=10).contains(&retry), "{}", refused[0]);
    // Pings still work; after the window the user posts again, with the next seq.
    tab2.send_text(r#"{"type":"ping"}"#).await;
    assert_eq!(tab2.next_of("pong", EVENT).await["type"], "pong");
    tokio::time::sleep(Duration::from_secs(retry + 1)).await;
    say(&mut tab2, json!({"after": "the window"})).await;
    let m = tab1.next_of("message", EVENT).await;
    assert_eq!(m["seq"], 6, "{m}");
}
