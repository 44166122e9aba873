//! JSON body decoding on the test route `POST /__test/echo`: the happy path, and each way a
//! body is refused (400 malformed / unknown field / invalid, 415, 413 with and without length).

use super::ECHO;
use crate::support::{trial, Suite};
use edge_tests::{reqwest, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(echo_returns_the_same_object),
        trial!(echo_omits_absent_optional_fields),
        trial!(malformed_json_is_400),
        trial!(unknown_field_is_400_naming_it),
        trial!(invalid_values_are_400_validation_failed),
        trial!(non_json_content_type_is_415),
        trial!(body_over_1_mib_with_length_is_413),
        trial!(streamed_body_over_1_mib_is_413),
        trial!(streamed_small_body_is_accepted),
    ]
}

async fn echo_returns_the_same_object(s: &Suite) {
    let bodies = [
        json!({"name": "Ada", "count": 7}),
        json!({"name": "x", "count": 0}),
        json!({"name": "é".repeat(100), "count": 1000}),
        json!({"count": 12, "name": "z".repeat(100)}),
    ];
    for body in bodies {
        let r = s.api.post_json(ECHO, &body).reply().await;
        r.expect_status(200);
        assert_eq!(r.json(), body);
    }
    let r = s
        .api
        .post_raw(ECHO, "application/json; charset=utf-8", r#"{"name":"Lin"}"#)
        .reply()
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["name"], "Lin");
}

async fn echo_omits_absent_optional_fields(s: &Suite) {
    let body = json!({"name": "Grace"});
    let r = s.api.post_json(ECHO, &body).reply().await;
    r.expect_status(200);
    assert_eq!(
        r.json(),
        body,
        "the echo must be the same object, no added nulls"
    );
}

async fn malformed_json_is_400(s: &Suite) {
    for raw in [
        "{\"name\":",
        "not json",
        "{\"name\":\"a\"}}",
        "",
        "{\"name\":\"a\",}",
    ] {
        let r = s.api.post_raw(ECHO, "application/json", raw).reply().await;
        let p = r.problem();
        assert_eq!(
            (p.status, p.code.as_str()),
            (400, "malformed_json"),
            "{raw:?}"
        );
    }
}

async fn unknown_field_is_400_naming_it(s: &Suite) {
    let body = json!({"name": "Ada", "admin": true});
    let r = s.api.post_json(ECHO, &body).reply().await;
    let p = r.expect_problem(400, "unknown_field");
    assert_eq!(
        p.errors.first().map(|e| e.field.as_str()),
        Some("admin"),
        "{}",
        p.body
    );
}

async fn invalid_values_are_400_validation_failed(s: &Suite) {
    let cases: [(Value, &str); 10] = [
        (json!({"name": 5}), "name"),
        (json!({"name": null}), "name"),
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "é".repeat(101)}), "name"),
        (json!({"name": "a", "count": -1}), "count"),
        (json!({"name": "a", "count": 1001}), "count"),
        (json!({"name": "a", "count": 1.5}), "count"),
        (json!({"name": "a", "count": "3"}), "count"),
    ];
    for (body, field) in cases {
        let r = s.api.post_json(ECHO, &body).reply().await;
        let p = r.problem();
        assert_eq!(
            (p.status, p.code.as_str()),
            (400, "validation_failed"),
            "{body}"
        );
        p.expect_field(field);
    }
}

async fn non_json_content_type_is_415(s: &Suite) {
    let body = r#"{"name":"Ada"}"#;
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let r = s.api.post_raw(ECHO, content_type, body).reply().await;
        r.expect_problem(415, "unsupported_media_type");
    }
    let r = s
        .api
        .request(reqwest::Method::POST, ECHO)
        .body(body)
        .reply()
        .await;
    r.expect_problem(415, "unsupported_media_type");
}

/// `{"name":"aaa…"}` of exactly `len` bytes.
fn json_of_len(len: usize) -> Vec<u8> {
    let mut body = b"{\"name\":\"".to_vec();
    body.resize(len - 2, b'a');
    body.extend_from_slice(b"\"}");
    body
}

async fn body_over_1_mib_with_length_is_413(s: &Suite) {
    let r = s
        .api
        .post_raw(ECHO, "application/json", json_of_len(MIB + 1))
        .reply()
        .await;
    r.expect_problem(413, "payload_too_large");
    // Exactly 1 MiB is not over the limit: it is parsed (and the name is too long).
    let r = s
        .api
        .post_raw(ECHO, "application/json", json_of_len(MIB))
        .reply()
        .await;
    r.expect_problem(400, "validation_failed")
        .expect_field("name");
}

/// A body of unknown length (chunked), sent in `chunk`-byte pieces.
fn streamed(data: Vec<u8>, chunk: usize) -> reqwest::Body {
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        data.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
}

async fn streamed_body_over_1_mib_is_413(s: &Suite) {
    // Not even JSON: the limit applies before parsing.
    let body = streamed(vec![b'x'; MIB + MIB / 2], 64 * 1024);
    let r = s.api.post_raw(ECHO, "application/json", body).reply().await;
    r.expect_problem(413, "payload_too_large");
}

async fn streamed_small_body_is_accepted(s: &Suite) {
    let body = streamed(br#"{"name":"Chunky","count":3}"#.to_vec(), 5);
    let r = s.api.post_raw(ECHO, "application/json", body).reply().await;
    r.expect_status(200);
    assert_eq!(r.json(), json!({"name": "Chunky", "count": 3}));
}
