//! What the files tests share: paths, uploads, downloads, digests, and the view of R2 and D1
//! that the test route gives.

use crate::documents::kit::Caller;
use edge_tests::{Api, Method, Reply, SendExt};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn files(org: &str) -> String {
    format!("/v1/orgs/{org}/files")
}

pub fn file(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/files/{id}")
}

pub fn content(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/files/{id}/content")
}

/// `path?k=v&…`, form-encoded.
pub fn with_query(path: &str, pairs: &[(String, String)]) -> String {
    let mut u = edge_tests::reqwest::Url::parse(&format!("http://x{path}")).expect("path");
    u.query_pairs_mut().extend_pairs(pairs);
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic, incompressible-looking bytes (cheap to make, unlike the OS's randomness).
pub fn pattern(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// `POST …/files?name=` with `bytes` as `content_type`.
pub async fn upload_raw(
    c: &Caller,
    org: &str,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Reply {
    let path = with_query(&files(org), &[("name".into(), name.into())]);
    c.request(Method::POST, &path)
        .header("content-type", content_type)
        .body(bytes)
        .reply()
        .await
}

/// An upload that must succeed: the file as the API returns it.
pub async fn upload(c: &Caller, org: &str, name: &str, bytes: Vec<u8>) -> Value {
    let r = upload_raw(c, org, name, "application/octet-stream", bytes).await;
    r.expect_status(201);
    r.json()
}

pub fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

/// R2 objects and D1 rows of `org`, and any key outside `orgs/{org}/files/{id}`.
pub async fn stored(api: &Api, org: &str) -> Value {
    let r = api.get(&format!("/__test/files/{org}")).reply().await;
    r.expect_status(200);
    r.json()
}

/// Asserts `org` has nothing stored: no object, no row, no usage.
pub async fn assert_nothing_stored(api: &Api, c: &Caller, org: &str, after: &str) {
    let s = stored(api, org).await;
    assert_eq!(
        s["objects"],
        serde_json::json!([]),
        "{after}: objects left in R2: {s}"
    );
    assert_eq!(
        s["rows"],
        serde_json::json!([]),
        "{after}: rows left in D1: {s}"
    );
    assert_eq!(storage_used(c, org).await, 0, "{after}: storage usage");
}

/// `storage_bytes.used` from `/usage`.
pub async fn storage_used(c: &Caller, org: &str) -> u64 {
    let r = c.get(&format!("/v1/orgs/{org}/usage")).await;
    r.expect_status(200);
    r.json()["storage_bytes"]["used"]
        .as_u64()
        .unwrap_or_else(|| panic!("usage without storage_bytes.used: {}", r.text()))
}

/// Asserts the shape of a file object.
pub fn assert_file(v: &Value, name: &str, size: usize, sha: &str) {
    assert!(
        v["id"].as_str().is_some_and(|i| i.starts_with("fil_")),
        "{v}"
    );
    assert_eq!(v["name"], name, "{v}");
    assert_eq!(v["size"], size as u64, "{v}");
    assert_eq!(v["sha256"], sha, "{v}");
    assert!(v["created_at"].as_str().is_some(), "{v}");
    assert!(v["content_type"].as_str().is_some(), "{v}");
}
