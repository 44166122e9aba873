//! The edge API worker. This file is the table of contents: the runtime's entry points hand
//! off at once to the pipeline (HTTP) and the job consumer (Queues).
//!
//! - `pipeline`: the door (request id, CORS, routing, the request read once into `door`'s
//!   typed values and a `ctx::Ctx`), one error mapping, security headers, access log.
//! - `routes`: the handlers, one module per domain.
//! - `jobs`: the job transport to the customer's origin (enqueue, consume, signed delivery).
//! - `edge_core` (crate `core/`): every decision, pure and natively tested.
//! - `edge_durable_objects` (crate `durable_objects/`): the `Tenant` and `Room` classes.

mod account;
mod admin;
mod assets;
mod audit;
mod auth;
mod body;
mod config;
mod ctx;
mod db;
mod door;
mod drain;
mod events;
mod exports;
mod files;
mod generations;
mod http;
mod idempotency;
mod jobs;
mod limits;
mod list;
mod pipeline;
mod platform;
mod realtime;
mod routes;
mod storage;
mod webhooks;

use worker::{event, Context, Env, MessageBatch, Request, Response, Result};

/// The Durable Object classes, re-exported so the final wasm exports them; without this line
/// they would silently vanish from the deployment (tests/ checks the build's exports).
pub use edge_durable_objects::{Room, Tenant};

#[event(start)]
fn start() {
    // Keep worker's own panic hook (it flags the instance for re-initialisation), log the panic
    // with its location, and tell the JS entry (worker/entry.mjs), whose in-flight requests
    // would otherwise wait forever on futures that died with the instance.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        previous(info);
        notify_entry_of_panic();
    }));
}

fn notify_entry_of_panic() {
    use wasm_bindgen::JsCast;
    let hook = js_sys::Reflect::get(&js_sys::global(), &"__edgeApiPanic".into());
    if let Ok(f) = hook.and_then(|h| h.dyn_into::<js_sys::Function>()) {
        let _ = f.call0(&wasm_bindgen::JsValue::NULL);
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    Ok(pipeline::handle(req, env, ctx).await)
}

#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    if let Err(e) = jobs::sweep::run(&env).await {
        worker::console_error!("sweep failed: {e}");
    }
}

#[event(queue)]
async fn queue(batch: MessageBatch<serde_json::Value>, env: Env, _ctx: Context) -> Result<()> {
    jobs::consumer::handle_batch(batch, env).await
}
