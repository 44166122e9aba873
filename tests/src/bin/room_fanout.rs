//! The rooms fan-out benchmark client (run by `scripts/bench`):
//!
//! `room_fanout <base_url> <access_token> <org_id> [sockets=200] [messages=50]`
//!
//! Opens `sockets` receiving WebSockets and one sender in a fresh room, then
//! 1. latency: sends `messages` messages, one every 50 ms, each stamped with the send time;
//!    every receiver records send → receive (same host clock) for each one;
//! 2. throughput: sends `messages` more back to back and measures how long until every
//!    receiver has all of them.
//!
//! Fails unless every receiver got every paced and every burst message.
//! Prints one JSON line: `{sockets, messages, deliveries, burst_deliveries, p50_ms, p99_ms, max_ms,
//! burst_messages_per_s, burst_deliveries_per_s, connect_s}`.

use edge_tests::ws::{ws_url, Ws};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Reads `expect` message frames: the latencies (ms) of the paced ones, how many distinct
/// burst messages arrived, and when the last frame arrived.
async fn receive(mut ws: Ws, expect: usize) -> (Vec<f64>, usize, Instant) {
    let mut lat = Vec::with_capacity(expect);
    let mut burst = std::collections::BTreeSet::new();
    let mut seen = 0;
    let mut last = Instant::now();
    while seen < expect {
        let Some(f) = ws.next_json_within(Duration::from_secs(120)).await else {
            break;
        };
        if f["type"] != "message" {
            continue;
        }
        seen += 1;
        last = Instant::now();
        if let Some(t) = f["data"]["t"].as_i64() {
            if f["data"]["phase"] == "latency" {
                lat.push((now_us() - t) as f64 / 1000.0);
            }
        }
        if f["data"]["phase"] == "burst" {
            if let Some(i) = f["data"]["i"].as_u64() {
                burst.insert(i);
            }
        }
    }
    ws.close().await;
    (lat, burst.len(), last)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err(
            "usage: room_fanout <base_url> <access_token> <org_id> [sockets] [messages]".into(),
        );
    }
    let (base, token, org) = (&args[1], &args[2], &args[3]);
    let sockets: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(200);
    let messages: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(50);
    let room = format!("bench-{}", edge_tests::random::hex(6));
    let url = ws_url(&format!("{base}/v1/orgs/{org}/rooms/{room}/connect"));

    let started = Instant::now();
    let mut receivers = Vec::with_capacity(sockets);
    while receivers.len() < sockets {
        let wave = (sockets - receivers.len()).min(25);
        for r in join_all((0..wave).map(|_| Ws::connect(&url, Some(token)))).await {
            let mut ws = r.map_err(|e| format!("connect refused: {} {}", e.status, e.body))?;
            ws.next_json().await; // welcome
            receivers.push(ws);
        }
    }
    let mut sender = Ws::connect(&url, Some(token))
        .await
        .map_err(|e| format!("sender refused: {} {}", e.status, e.body))?;
    sender.next_json().await;
    let connect_s = started.elapsed().as_secs_f64();

    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|ws| tokio::spawn(receive(ws, 2 * messages)))
        .collect();
    for i in 0..messages {
        let data = json!({"phase": "latency", "i": i, "t": now_us()});
        sender
            .send_json(&json!({"type": "message", "data": data}))
            .await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the paced phase drain before the burst, so the two do not overlap.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let burst_start = Instant::now();
    for i in 0..messages {
        let data = json!({"phase": "burst", "i": i, "t": now_us()});
        sender
            .send_json(&json!({"type": "message", "data": data}))
            .await;
    }
    let mut lat = Vec::new();
    let mut last = burst_start;
    let mut complete = 0;
    let mut burst_deliveries = 0;
    for t in tasks {
        let (l, burst, at) = t.await.map_err(|e| e.to_string())?;
        // Complete: every paced message and every burst message.
        if l.len() == messages && burst == messages {
            complete += 1;
        }
        burst_deliveries += burst;
        lat.extend(l);
        last = last.max(at);
    }
    sender.close().await;
    lat.sort_by(f64::total_cmp);
    let burst_s = (last - burst_start).as_secs_f64().max(1e-6);
    let out: Value = json!({
        "sockets": sockets,
        "messages": messages,
        "receivers_complete": complete,
        "deliveries": lat.len(),
        "burst_deliveries": burst_deliveries,
        "p50_ms": percentile(&lat, 50.0),
        "p99_ms": percentile(&lat, 99.0),
        "max_ms": lat.last().copied().unwrap_or(f64::NAN),
        "burst_messages_per_s": messages as f64 / burst_s,
        "burst_deliveries_per_s": burst_deliveries as f64 / burst_s,
        "connect_s": connect_s,
    });
    println!("{out}");
    if complete != sockets {
        return Err(format!(
            "only {complete} of {sockets} receivers got every paced and burst message"
        ));
    }
    Ok(())
}
