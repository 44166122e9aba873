//! Refused uploads change nothing: no Content-Length, a body shorter than it, a file over the
//! size cap or over the storage quota, no or a bad media type, a bad name — each a clear
//! problem, and afterwards no object in R2, no row in D1 and no storage counted. A private
//! worker has a 1,000-byte storage quota and a 600-byte cap per file.

use super::kit::{self, files, pattern};
use crate::documents::kit::signup;
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn trials() -> Vec<Trial> {
    vec![trial!(refused_uploads_leave_nothing_behind)]
}

const LIMITS: &str = r#"{"free":{"requests_per_minute":100000,"storage_bytes":1000,"max_upload_bytes":600},"auth_per_minute":100000}"#;

/// Sends a request (with `X-Request-Id: request_id`) whose body stops `missing` bytes short of
/// its `Content-Length`, then closes the sending side; returns whatever came back (maybe
/// nothing).
async fn short_body(
    base_url: &str,
    path: &str,
    bearer: &str,
    request_id: &str,
    declared: usize,
    missing: usize,
) -> String {
    let addr = base_url.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path}?name=short.bin HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\n\
         X-Request-Id: {request_id}\r\nContent-Type: application/octet-stream\r\nContent-Length: {declared}\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.expect("write head");
    tcp.write_all(&pattern(declared - missing, 9))
        .await
        .expect("write body");
    let _ = tcp.shutdown().await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), tcp.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

async fn refused_uploads_leave_nothing_behind(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("PLAN_LIMITS", LIMITS))
        .await;
    let api = worker.api();
    let a = signup(&api).await;
    let c = a.on(&api);
    let org = &a.org_id;
    let url = files(org);

    // No Content-Length (a chunked body): 411.
    let chunks = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(vec![1u8; 100])]);
    let r = c
        .request(Method::POST, &url)
        .header("content-type", "application/octet-stream")
        .body(edge_tests::reqwest::Body::wrap_stream(chunks))
        .reply()
        .await;
    r.expect_problem(411, "length_required");
    // Over the per-file cap: 413 before a byte is stored.
    let r = kit::upload_raw(
        &c,
        org,
        "big.bin",
        "application/octet-stream",
        pattern(601, 1),
    )
    .await;
    let p = r.expect_problem(413, "payload_too_large");
    assert_eq!(p.body["max_upload_bytes"], 600);
    // No media type, a bad one, a bad name.
    let r = c
        .request(Method::POST, &url)
        .body(vec![1u8; 10])
        .reply()
        .await;
    r.expect_problem(415, "unsupported_media_type");
    kit::upload_raw(&c, org, "x", "not a type", vec![1; 10])
        .await
        .expect_problem(415, "unsupported_media_type");
    kit::upload_raw(&c, org, "a\u{1}b", "text/plain", vec![1; 10])
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("name");
    // Declared uploads over the cap (signed URL, multipart): 413, nothing reserved.
    for path in ["uploads", "multipart"] {
        let r = c
            .post(
                &format!("{url}/{path}"),
                &json!({"name": "n", "content_type": "text/plain", "size": 601}),
            )
            .await;
        r.expect_problem(413, "payload_too_large");
        c.post(
            &format!("{url}/{path}"),
            &json!({"name": "n", "content_type": "text/plain", "size": -1}),
        )
        .await
        .expect_problem(400, "validation_failed");
    }
    // A body that ends before its Content-Length: refused, and the partial object, the row
    // and the reserved storage are all gone.
    let request_id = format!("short-body-{}", edge_tests::random::hex(8));
    let answer = short_body(&worker.base_url(), &url, &a.access, &request_id, 500, 200).await;
    let status_line = answer.lines().next().unwrap_or_default().to_owned();
    eprintln!("short body answer: {status_line}");
    // The worker's own answer, from its access log: the client's fault, a 4xx.
    let record = worker.log_record(&request_id).await;
    let status = record["status"].as_u64().unwrap_or_default();
    assert!(
        (400..500).contains(&status),
        "the worker answered a short body with {status}: {record}"
    );
    // What reached the client: that 4xx, a closed connection, or (under `wrangler dev` only)
    // the dev proxy's own 500 for a client connection that ended early, never ours (every
    // answer of the worker carries the request id).
    let ours_reached = answer
        .to_ascii_lowercase()
        .contains(&format!("x-request-id: {request_id}"));
    assert!(
        answer.is_empty()
            || status_line.starts_with("HTTP/1.1 4")
            || (status_line.starts_with("HTTP/1.1 500") && !ours_reached),
        "a short body was answered: {answer}"
    );
    edge_tests::eventually(
        "the short upload cleaned up",
        Duration::from_secs(20),
        || async {
            let st = kit::stored(&api, org).await;
            let used = kit::storage_used(&c, org).await;
            (st["objects"] == json!([]) && st["rows"] == json!([]) && used == 0).then_some(())
        },
    )
    .await;
    kit::assert_nothing_stored(&api, &c, org, "refusals").await;

    // Over the storage quota: 429 naming it, for every way in; the earlier file stays.
    let kept = kit::upload(&c, org, "kept.bin", pattern(600, 2)).await;
    let r = kit::upload_raw(
        &c,
        org,
        "more.bin",
        "application/octet-stream",
        pattern(401, 3),
    )
    .await;
    let p = r.expect_problem(429, "rate_limited");
    assert_eq!(p.body["quota"], "storage_bytes", "{}", p.body);
    for path in ["uploads", "multipart"] {
        c.post(
            &format!("{url}/{path}"),
            &json!({"name": "n", "content_type": "text/plain", "size": 401}),
        )
        .await
        .expect_problem(429, "rate_limited");
    }
    let st = kit::stored(&api, org).await;
    assert_eq!(st["objects"].as_array().map(Vec::len), Some(1), "{st}");
    assert_eq!(st["rows"].as_array().map(Vec::len), Some(1), "{st}");
    assert_eq!(kit::storage_used(&c, org).await, 600);
    // What fits still fits, exactly up to the quota.
    kit::upload(&c, org, "fits.bin", pattern(400, 4)).await;
    assert_eq!(kit::storage_used(&c, org).await, 1000);
    kit::upload_raw(&c, org, "one-more.bin", "text/plain", vec![1])
        .await
        .expect_problem(429, "rate_limited");
    // Deleting frees exactly its bytes.
    c.delete(&kit::file(org, &kit::id_of(&kept)))
        .await
        .expect_status(204);
    assert_eq!(kit::storage_used(&c, org).await, 400);
    kit::upload(&c, org, "now-fits.bin", pattern(600, 5)).await;
}
