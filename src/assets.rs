//! Files the worker serves but does not embed: `scripts/build` writes them to `build/assets/`
//! (the OpenAPI document without whitespace, the two demo pages), wrangler uploads that
//! directory as the script's static assets, and `wrangler.toml` binds it as `ASSETS` with
//! `run_worker_first = true`: no request reaches a file directly (a file name is no URL of its
//! own), the routes below read them through the binding and answer like every other route
//! (request id, security headers, CORS, the problem format). Keeping them out of the wasm keeps
//! it under 1 MiB gzipped.

use crate::ctx::Ctx;
use crate::http::{internal, ApiResult, OrInternal};
use crate::platform;
use edge_core::encoding::hex;
use edge_core::ApiError;
use worker::Response;

/// `GET /v1/openapi.json`: the OpenAPI 3.1 document (kept in step with the route table by a
/// test in `edge-core`), as written in `core/openapi.json` without the whitespace between tokens.
pub async fn openapi(cx: &Ctx) -> ApiResult {
    let mut resp = Response::ok(text(cx, "openapi.json").await?).or_internal("openapi")?;
    let h = resp.headers_mut();
    let _ = h.set("Content-Type", "application/json; charset=utf-8");
    let _ = h.set("Cache-Control", "public, max-age=300");
    Ok(resp)
}

/// `GET /demo/rooms` (`rooms_demo.html`, a chat page) and `GET /demo/passkeys`
/// (`passkeys_demo.html`: signs up or in with a password, registers a passkey and signs in with
/// it; load it from an allowed origin, `WEBAUTHN_ORIGINS`, e.g. `http://localhost:8787`: an IP
/// address cannot be an RP id). Self-contained pages whose script and style run under a
/// per-response nonce and talk to this origin only.
pub async fn demo_page(cx: &Ctx, name: &str) -> ApiResult {
    let nonce = hex(&platform::random::<16>());
    let page = text(cx, name).await?.replace("{{NONCE}}", &nonce);
    let mut resp = Response::from_html(page).or_internal("demo page")?;
    let _ = resp.headers_mut().set(
        "Content-Security-Policy",
        &format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        ),
    );
    Ok(resp)
}

/// The text of the asset `name` (a file name in `build/assets/`). A missing binding or file is
/// a deployment fault: a logged 500 `internal`, never a panic.
async fn text(cx: &Ctx, name: &str) -> Result<String, ApiError> {
    let assets = cx
        .env
        .assets("ASSETS")
        .or_internal("assets binding ASSETS")?;
    // The binding looks at the path only; the host is a placeholder.
    let mut resp = assets
        .fetch(format!("https://assets.invalid/{name}"), None)
        .await
        .or_internal("assets fetch")?;
    if resp.status_code() != 200 {
        let status = resp.status_code();
        return Err(internal("asset missing", format!("{name}: {status}")));
    }
    resp.text().await.or_internal("asset body")
}
