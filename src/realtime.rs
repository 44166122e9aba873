//! Server-side publishing into realtime rooms: other capabilities push events (a document
//! changed, a job finished) to the room's `ROOM` object, which fans them out to its sockets.
//! Publishing happens after the response (`wait_until`): a slow room never slows a write.

use crate::ctx::Ctx;
use serde_json::Value;
use worker::{Env, Method, Request, RequestInit};

/// The object of room `room` of organization `org_id`.
pub fn object_name(org_id: &str, room: &str) -> String {
    format!("{org_id}/{room}")
}

/// Sends `event` to the room now (from contexts without a request, such as the consumer).
pub async fn send(env: &Env, org_id: &str, room: &str, event: &Value) -> worker::Result<()> {
    let stub = env
        .durable_object("ROOM")?
        .get_by_name(&object_name(org_id, room))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&event.to_string())));
    let req = Request::new_with_init("https://room.internal/publish", &init)?;
    stub.fetch_with_request(req).await?;
    Ok(())
}

/// Publishes `event` to `room` once the response has been sent.
pub fn publish(cx: &Ctx, org_id: &str, room: String, event: Value) {
    let env = cx.env.clone();
    let org_id = org_id.to_owned();
    cx.ctx.wait_until(async move {
        if let Err(e) = send(&env, &org_id, &room, &event).await {
            let _ = crate::http::internal("publish to room", e);
        }
    });
}

/// The recent server-side events of a room (for the test suite and diagnostics).
pub async fn events(env: &Env, org_id: &str, room: &str) -> worker::Result<Value> {
    let stub = env
        .durable_object("ROOM")?
        .get_by_name(&object_name(org_id, room))?;
    stub.fetch_with_str("https://room.internal/events")
        .await?
        .json()
        .await
}

/// Calls the room object's internal `path` with `body` (POST) or without (GET).
pub async fn room_call(
    env: &Env,
    org_id: &str,
    room: &str,
    path: &str,
    body: Option<&Value>,
) -> worker::Result<worker::Response> {
    let stub = env
        .durable_object("ROOM")?
        .get_by_name(&object_name(org_id, room))?;
    let mut init = RequestInit::new();
    match body {
        Some(b) => init
            .with_method(Method::Post)
            .with_body(Some(wasm_bindgen::JsValue::from_str(&b.to_string()))),
        None => init.with_method(Method::Get),
    };
    let req = Request::new_with_init(&format!("https://room.internal{path}"), &init)?;
    stub.fetch_with_request(req).await
}

/// Whose sockets to close.
pub enum Whose<'a> {
    User(&'a str),
    Session(&'a str),
    /// Every socket of the organization.
    Everyone,
}

/// Closes the sockets of a user or a session in every room of `org_id` where they have one,
/// with close `code`. The org's TENANT object knows those rooms (each ROOM reports its
/// connections there), so no room is enumerated. Failures are logged, never raised: the
/// revocation itself has already happened and every later request is refused anyway.
pub async fn close_sockets(env: &Env, org_id: &str, whose: Whose<'_>, code: u16, reason: &str) {
    let (find, tag) = match whose {
        Whose::User(u) => (
            serde_json::json!({ "user_id": u }),
            edge_core::rooms::user_tag(u),
        ),
        Whose::Session(s) => (
            serde_json::json!({ "session": s }),
            edge_core::rooms::session_tag(s),
        ),
        Whose::Everyone => (
            serde_json::json!({ "all": true }),
            edge_core::rooms::EVERY_SOCKET.to_owned(),
        ),
    };
    let rooms = match tenant_find(env, org_id, &find).await {
        Ok(r) => r,
        Err(e) => {
            let _ = crate::http::internal("find rooms to close", e);
            return;
        }
    };
    let body = serde_json::json!({"tag": tag, "code": code, "reason": reason});
    for room in rooms {
        if let Err(e) = room_call(env, org_id, &room, "/close", Some(&body)).await {
            let _ = crate::http::internal("close room sockets", e);
        }
    }
}

async fn tenant_find(env: &Env, org_id: &str, find: &Value) -> worker::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Found {
        rooms: Vec<String>,
    }
    let stub = env.durable_object("TENANT")?.get_by_name(org_id)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(wasm_bindgen::JsValue::from_str(&find.to_string())));
    let req = Request::new_with_init("https://tenant.internal/rooms/find", &init)?;
    let found: Found = stub.fetch_with_request(req).await?.json().await?;
    Ok(found.rooms)
}

/// The connection ids a room still holds.
pub async fn live_conns(env: &Env, org_id: &str, room: &str) -> worker::Result<Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Conns {
        conns: Vec<String>,
    }
    let c: Conns = room_call(env, org_id, room, "/conns", None)
        .await?
        .json()
        .await?;
    Ok(c.conns)
}
