//! The files the worker serves from its static assets (`build/assets/`, the `ASSETS` binding)
//! instead of its wasm: the OpenAPI document and the demo pages answer as before, with the
//! API's headers; the files themselves have no URL of their own (`run_worker_first`); and the
//! wasm no longer carries them.

use super::headers::assert_security_headers;
use crate::support::{trial, Suite};
use edge_tests::{project, random, SendExt};
use libtest_mimic::Trial;
use serde_json::Value;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(the_openapi_document_is_the_written_one_with_the_api_headers),
        trial!(the_demo_pages_come_with_a_fresh_nonce),
        trial!(asset_files_have_no_url_of_their_own),
        trial!(the_wasm_does_not_embed_the_assets),
    ]
}

fn read(path: &str) -> Vec<u8> {
    let path = project::root().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn the_openapi_document_is_the_written_one_with_the_api_headers(s: &Suite) {
    let id = random::unique("rid");
    let r = s
        .api
        .get("/v1/openapi.json")
        .header("x-request-id", &id)
        .reply()
        .await;
    r.expect_status(200);
    let written: Value =
        serde_json::from_slice(&read("core/openapi.json")).expect("core/openapi.json is JSON");
    assert!(
        r.json() == written,
        "the served document differs from core/openapi.json"
    );
    assert!(
        r.body.len() < read("core/openapi.json").len(),
        "served without the whitespace"
    );
    assert_eq!(r.header("x-request-id"), Some(id.as_str()));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(r.header("cache-control"), Some("public, max-age=300"));
    assert_security_headers(&r, "GET /v1/openapi.json");
}

async fn the_demo_pages_come_with_a_fresh_nonce(s: &Suite) {
    for (path, file) in [
        ("/demo/rooms", "src/routes/rooms_demo.html"),
        ("/demo/passkeys", "src/routes/passkeys_demo.html"),
    ] {
        let (a, b) = (s.api.get(path).reply().await, s.api.get(path).reply().await);
        let nonce = |r: &edge_tests::Reply| {
            r.expect_status(200);
            assert!(r.header("x-request-id").is_some(), "{path}");
            assert!(
                r.header("content-type")
                    .is_some_and(|c| c.starts_with("text/html")),
                "{path}"
            );
            assert_security_headers(r, path);
            let csp = r.header("content-security-policy").unwrap_or_default();
            let nonce = csp
                .split("script-src 'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .unwrap_or_else(|| panic!("{path}: no script nonce in {csp:?}"))
                .to_owned();
            let written = String::from_utf8(read(file)).expect("the page is UTF-8");
            assert_eq!(r.text(), written.replace("{{NONCE}}", &nonce), "{path}");
            nonce
        };
        assert_ne!(nonce(&a), nonce(&b), "{path}: the nonce is per response");
    }
}

/// `run_worker_first`: a request for a file's name is routed like any other unknown path.
async fn asset_files_have_no_url_of_their_own(s: &Suite) {
    for path in [
        "/openapi.json",
        "/rooms_demo.html",
        "/passkeys_demo.html",
        "/rooms_demo",
        "/passkeys_demo",
        "/assets/openapi.json",
        "/build/assets/openapi.json",
        "/v1/rooms_demo.html",
    ] {
        let id = random::unique("rid");
        let r = s.api.get(path).header("x-request-id", &id).reply().await;
        let p = r.expect_problem(404, "not_found");
        assert_eq!(p.request_id, id, "{path}");
        assert_eq!(r.header("x-request-id"), Some(id.as_str()), "{path}");
        assert_security_headers(&r, path);
    }
}

/// The point of the assets: none of their bytes are in the wasm.
async fn the_wasm_does_not_embed_the_assets(_s: &Suite) {
    let wasm = read("build/index_bg.wasm");
    for asset in [
        "build/assets/openapi.json",
        "build/assets/rooms_demo.html",
        "build/assets/passkeys_demo.html",
    ] {
        let bytes = read(asset);
        let head = &bytes[..bytes.len().min(200)];
        assert!(
            !wasm.windows(head.len()).any(|w| w == head),
            "build/index_bg.wasm still contains {asset}"
        );
    }
}
