//! Draining a request body the handler left unread, before the answer goes out, so an early
//! refusal (401, 404, 411, 413, 415, 429…) of a large upload reaches the client as its problem
//! under `wrangler dev` too (local workerd answers only after the body has arrived, and a
//! cancelled body breaks the connection). The bytes are piped natively into a null sink —
//! they never enter wasm — and only up to the bound of `edge_core::drain`: a body declared
//! larger than one byte over the largest accepted one is answered at once.

use crate::storage::{call, construct, get, wait};
use edge_core::drain::{self, Plan};
use futures_util::future::{select, Either};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{Delay, Request};

/// The request's body stream, kept before the handler takes the request, when there is one
/// worth draining.
pub struct Unread(JsValue);

pub fn capture(req: &Request, max_upload_bytes: u64) -> Option<Unread> {
    let headers = req.headers();
    let length = headers.get("Content-Length").ok().flatten();
    let chunked = headers.has("Transfer-Encoding").unwrap_or(false);
    match drain::plan(length.as_deref(), chunked, drain::limit(max_upload_bytes)) {
        Plan::Declared(_) | Plan::Counted(_) => req.inner().body().map(JsValue::from),
        Plan::Nothing | Plan::GiveUp => None,
    }
    .map(Unread)
}

impl Unread {
    /// Reads what nobody read (a locked stream was consumed, or is being, by the handler),
    /// for at most `MAX_DRAIN_MS`. Failures are ignored: the answer goes out anyway.
    pub async fn drain(self) {
        let locked = get(&self.0, "locked")
            .map(|v| v.is_truthy())
            .unwrap_or(true);
        if locked {
            return;
        }
        let Ok(sink) = construct(&["WritableStream"], &[]) else {
            return;
        };
        let Ok(piping) = call(&self.0, "pipeTo", &[sink]) else {
            return;
        };
        let timeout = Delay::from(Duration::from_millis(drain::MAX_DRAIN_MS));
        if let Either::Right(_) = select(Box::pin(wait(piping)), timeout).await {
            worker::console_log!(
                "{}",
                serde_json::json!({"level": "warn", "msg": "request body drain timed out"})
            );
        }
    }
}
