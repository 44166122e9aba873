//! 200 sockets in one room: one message reaches every one of them.

use super::kit::{connect, room_name, say, signup};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use futures_util::future::join_all;
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(one_message_reaches_200_sockets)]
}

const SOCKETS: usize = 200;

async fn one_message_reaches_200_sockets(s: &Suite) {
    let w = s
        .private_worker(WorkerOptions::new().var(
            "PLAN_LIMITS",
            r#"{"free":{"requests_per_minute":100000,"room_connections":1000},"auth_per_minute":100000}"#,
        ))
        .await;
    let api = w.api();
    let a = signup(&api).await;
    let org = a.org_id.clone();
    let room = room_name();
    let mut sockets = Vec::with_capacity(SOCKETS);
    // Connect in waves of 25 (one user, 200 tabs).
    for _ in 0..SOCKETS / 25 {
        let wave = join_all((0..25).map(|_| connect(&api, &a.access, &org, &room))).await;
        sockets.extend(wave.into_iter().map(|(ws, _)| ws));
    }
    let (mut sender, _) = connect(&api, &a.access, &org, &room).await;
    say(&mut sender, json!({"fan": "out"})).await;
    let got = join_all(
        sockets
            .iter_mut()
            .map(|ws| async move { ws.next_of("message", Duration::from_secs(60)).await }),
    )
    .await;
    assert_eq!(got.len(), SOCKETS);
    assert!(got
        .iter()
        .all(|m| m["seq"] == 1 && m["data"] == json!({"fan": "out"})));
    let p = super::kit::presence(&a.on(&api), &org, &room).await;
    assert_eq!(p["connections"], SOCKETS + 1);
    assert_eq!(p["members"].as_array().map(Vec::len), Some(1));
}
