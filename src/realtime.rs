//! Server-side publishing into realtime rooms: other capabilities push events (a document
//! changed, a job finished) to the room's `ROOM` object, which fans them out to its sockets.
//! Publishing happens after the response (`wait_until`): a slow room never slows a write.

use crate::pipeline::Ctx;
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
