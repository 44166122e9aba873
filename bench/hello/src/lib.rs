//! Hello-world baseline for scripts/bench: answers `GET /health` exactly like edge-api
//! (same JSON shape), everything else 404. Nothing else, so it measures the floor cost of a
//! workers-rs request through wrangler dev / workerd. With the `access-log` feature it also
//! writes one JSON log line per request, like edge-api's access log.

use serde::Serialize;
use worker::{event, Context, Env, Method, Request, Response, Result};

#[derive(Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    let resp = if req.method() == Method::Get && req.path() == "/health" {
        Response::from_json(&Health {
            status: "ok",
            version: env!("CARGO_PKG_VERSION"),
        })?
    } else {
        Response::error("Not Found", 404)?
    };
    #[cfg(feature = "access-log")]
    access_log(&req, resp.status_code());
    Ok(resp)
}

#[cfg(feature = "access-log")]
fn access_log(req: &Request, status: u16) {
    #[derive(Serialize)]
    struct Line<'a> {
        level: &'a str,
        msg: &'a str,
        request_id: &'a str,
        method: &'a str,
        route: &'a str,
        status: u16,
        duration_ms: u64,
    }
    let method = req.method();
    let line = Line {
        level: "info",
        msg: "request",
        request_id: "req_00000000000000000000000000",
        method: method.as_ref(),
        route: "/health",
        status,
        duration_ms: 0,
    };
    if let Ok(json) = serde_json::to_string(&line) {
        worker::console_log!("{json}");
    }
}
