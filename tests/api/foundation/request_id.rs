//! `X-Request-Id`: a sane client value is echoed, anything else is replaced by a generated
//! id, and a problem's `request_id` is always the header's value.

use crate::support::{trial, Suite};
use edge_tests::reqwest::header::HeaderValue;
use edge_tests::{random, SendExt};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(sane_client_ids_are_echoed),
        trial!(insane_client_ids_are_replaced),
        trial!(absent_ids_are_generated_and_unique),
    ]
}

/// What a generated id must at least be: a non-empty visible-ASCII token of ≤ 128 chars.
fn assert_generated(id: Option<&str>, instead_of: &[u8]) {
    let id = id.expect("every response has X-Request-Id");
    assert!(
        !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()),
        "generated id {id:?} is not a sane token"
    );
    assert_ne!(id.as_bytes(), instead_of, "the insane client id was echoed");
}

async fn sane_client_ids_are_echoed(s: &Suite) {
    let max = format!("{}{}", "A".repeat(112), random::hex(8));
    let ids = [
        random::unique("rid"),
        format!("Ab9.:-{}", random::hex(4)),
        max,
    ];
    for id in ids {
        assert_eq!(id.len().min(128), id.len());
        let r = s
            .api
            .get("/health")
            .header("x-request-id", &id)
            .reply()
            .await;
        assert_eq!(r.header("x-request-id"), Some(id.as_str()));
        let r = s
            .api
            .get("/nowhere")
            .header("x-request-id", &id)
            .reply()
            .await;
        assert_eq!(r.expect_problem(404, "not_found").request_id, id);
    }
}

async fn insane_client_ids_are_replaced(s: &Suite) {
    let too_long = format!("{}{}", "a".repeat(121), random::hex(4));
    let insane: [&[u8]; 6] = [
        too_long.as_bytes(),
        b"has space",
        b"semi;colon",
        b"quote\"d",
        "caf\u{e9}-non-ascii".as_bytes(),
        b"",
    ];
    for bad in insane {
        let value = HeaderValue::from_bytes(bad).expect("a valid header value");
        let r = s
            .api
            .get("/health")
            .header("x-request-id", value.clone())
            .reply()
            .await;
        r.expect_status(200);
        assert_generated(r.header("x-request-id"), bad);
        let r = s
            .api
            .get("/nowhere")
            .header("x-request-id", value)
            .reply()
            .await;
        let p = r.expect_problem(404, "not_found"); // also checks request_id == header
        assert_generated(Some(&p.request_id), bad);
    }
}

async fn absent_ids_are_generated_and_unique(s: &Suite) {
    let a = s.api.get("/health").reply().await;
    let b = s.api.get("/health").reply().await;
    assert_generated(a.header("x-request-id"), b"");
    assert_generated(b.header("x-request-id"), b"");
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
    let p = s
        .api
        .get("/nowhere")
        .reply()
        .await
        .expect_problem(404, "not_found");
    assert_generated(Some(&p.request_id), b"");
}
