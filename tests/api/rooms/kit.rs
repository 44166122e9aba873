//! What the rooms trials share: room paths and names, connecting with a bearer or a ticket,
//! reading the `welcome`, and tickets forged with the worker's own secret (for expiry).

pub use crate::documents::kit::{api_key, join, signup, Caller};
use base64::Engine;
use edge_tests::ws::{ws_url, Refused, Ws};
use edge_tests::{random, Api, Worker};
use serde_json::{json, Value};
use std::time::Duration;

/// How long presence and close events may take.
pub const EVENT: Duration = Duration::from_secs(10);

pub fn room_name() -> String {
    format!("r-{}", random::hex(6))
}

pub fn room_path(org: &str, room: &str) -> String {
    format!("/v1/orgs/{org}/rooms/{room}")
}

pub fn connect_url(api: &Api, org: &str, room: &str) -> String {
    ws_url(&api.url(&format!("{}/connect", room_path(org, room))))
}

/// Connects with `Authorization: Bearer <bearer>`; `Err` with the refusal.
pub async fn try_connect(
    api: &Api,
    bearer: Option<&str>,
    org: &str,
    room: &str,
) -> Result<Ws, Refused> {
    Ws::connect(&connect_url(api, org, room), bearer).await
}

/// Connects (must succeed) and returns the socket with its `welcome`.
pub async fn connect(api: &Api, bearer: &str, org: &str, room: &str) -> (Ws, Value) {
    let mut ws = try_connect(api, Some(bearer), org, room)
        .await
        .unwrap_or_else(|r| panic!("connect refused: {} {}", r.status, r.body));
    let welcome = ws.next_json().await;
    assert_eq!(welcome["type"], "welcome", "first frame: {welcome}");
    (ws, welcome)
}

/// Connects with `?ticket=`.
pub async fn try_connect_ticket(
    api: &Api,
    ticket: &str,
    org: &str,
    room: &str,
) -> Result<Ws, Refused> {
    let url = format!(
        "{}?ticket={}",
        connect_url(api, org, room),
        crate::documents::kit::encode(ticket)
    );
    Ws::connect(&url, None).await
}

/// A ticket for `room` (201 expected).
pub async fn ticket(c: &Caller, org: &str, room: &str) -> Value {
    let r = c
        .post(&format!("{}/tickets", room_path(org, room)), &json!(null))
        .await;
    r.expect_status(201);
    r.json()
}

/// A ticket sealed like the worker's, with the worker's secret, for any claims.
pub fn forged_ticket(w: &Worker, claims: &Value) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.encode(claims.to_string());
    let secret = w.env_value("URL_SIGNING_SECRET");
    let tag = edge_tests::signature::hmac_hex(
        secret.as_bytes(),
        format!("room-ticket.{body}").as_bytes(),
    );
    format!("{body}.{}", b64.encode(hex::decode(tag).expect("hex")))
}

/// `user_id`s of a list of members.
pub fn user_ids(members: &Value) -> Vec<String> {
    members
        .as_array()
        .map(|m| {
            m.iter()
                .filter_map(|u| u["user_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Presence of a room (200 expected).
pub async fn presence(c: &Caller, org: &str, room: &str) -> Value {
    let r = c.get(&room_path(org, room)).await;
    r.expect_status(200);
    r.json()
}

/// Sends a `message` frame with `data`.
pub async fn say(ws: &mut Ws, data: Value) {
    ws.send_json(&json!({"type": "message", "data": data}))
        .await;
}

/// The session id (`sid`) of an access token.
pub fn session_of(access: &str) -> String {
    let payload = access.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let claims: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    claims["sid"].as_str().expect("sid").to_owned()
}

/// Percent-encodes a query value.
pub fn encode_q(s: &str) -> String {
    crate::documents::kit::encode(s)
}
