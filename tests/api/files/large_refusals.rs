//! Early refusals of the largest bodies reach the client as their problem under `wrangler dev`
//! too: a real 100 MiB + 1 byte upload (one byte over the cap, streamed, never held in
//! memory) without a credential is 401, to another organization 404, to one's own 413; a
//! 100 MiB upload of a refused media type is 415 — each as `application/problem+json`, never
//! the dev server's `500 Network connection lost` — and nothing is stored.

use super::kit::{self, files};
use crate::documents::kit::signup;
use crate::support::{trial, Suite};
use edge_tests::SendExt;
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial!(refusals_of_100_mib_bodies_arrive_as_problems)]
}

const MIB: u64 = 1024 * 1024;
const CHUNK: usize = 256 * 1024;

/// `len` zero bytes as a stream of 256 KiB chunks, with its `Content-Length`.
fn zeros(len: u64) -> edge_tests::reqwest::Body {
    let chunks = len.div_ceil(CHUNK as u64);
    let stream = futures_util::stream::iter((0..chunks).map(move |i| {
        let size = (len - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok::<_, std::io::Error>(vec![0u8; size])
    }));
    edge_tests::reqwest::Body::wrap_stream(stream)
}

async fn upload(
    s: &Suite,
    org: &str,
    bearer: Option<&str>,
    content_type: &str,
    len: u64,
) -> edge_tests::Reply {
    let mut req = s
        .api
        .post_raw(
            &format!("{}?name=big.bin", files(org)),
            content_type,
            zeros(len),
        )
        .header("content-length", len.to_string());
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    req.reply().await
}

async fn refusals_of_100_mib_bodies_arrive_as_problems(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let over = 100 * MIB + 1;
    let cases = [
        (
            "no credential",
            a.org_id.as_str(),
            None,
            "application/octet-stream",
            over,
            401,
            "unauthenticated",
        ),
        (
            "another org",
            b.org_id.as_str(),
            Some(a.access.as_str()),
            "application/octet-stream",
            over,
            404,
            "not_found",
        ),
        (
            "over the cap",
            a.org_id.as_str(),
            Some(a.access.as_str()),
            "application/octet-stream",
            over,
            413,
            "payload_too_large",
        ),
        (
            "bad media type",
            a.org_id.as_str(),
            Some(a.access.as_str()),
            "not a type",
            100 * MIB,
            415,
            "unsupported_media_type",
        ),
    ];
    for (what, org, bearer, ct, len, status, code) in cases {
        let r = upload(s, org, bearer, ct, len).await;
        assert_eq!(r.status, status, "{what}: {}", r.text());
        assert!(
            r.header("content-type")
                .is_some_and(|t| t.starts_with("application/problem+json")),
            "{what}: {:?}",
            r.header("content-type")
        );
        r.expect_problem(status, code);
    }
    kit::assert_nothing_stored(&s.api, &a.on(&s.api), &a.org_id, "the refusals").await;
}
