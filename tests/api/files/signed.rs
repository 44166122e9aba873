//! Signed URLs: an upload URL works once within its expiry without a credential; the second
//! use, an expired URL, an altered path, size, type or signature, and another organization's
//! path are all 403 and store nothing. Download URLs work without a credential (ranges too)
//! until they expire, and refuse alterations.

use super::kit::{self, content, id_of, pattern, sha256_hex};
use crate::documents::kit::signup;
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt};
use hmac::{Hmac, Mac};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_signed_upload_url_works_once),
        trial!(altered_or_expired_upload_urls_are_403),
        trial!(signed_download_urls),
    ]
}

type Query = Vec<(String, String)>;

/// `(path, query pairs)` of an absolute URL the API returned.
fn split(url: &str) -> (String, Vec<(String, String)>) {
    let u = edge_tests::reqwest::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let pairs = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    (u.path().to_owned(), pairs)
}

fn with(pairs: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == key {
                    value.to_owned()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

async fn upload_url(c: &crate::documents::kit::Caller, org: &str, size: usize, ct: &str) -> Value {
    let r = c
        .post(
            &format!("/v1/orgs/{org}/files/uploads"),
            &json!({"name": "signed.bin", "content_type": ct, "size": size}),
        )
        .await;
    r.expect_status(201);
    r.json()
}

async fn a_signed_upload_url_works_once(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let bytes = pattern(5000, 11);
    let u = upload_url(&c, org, bytes.len(), "image/png").await;
    assert_eq!(u["method"], "PUT");
    assert!(u["expires_at"].as_str().is_some());
    let url = u["upload_url"].as_str().expect("upload_url");
    assert!(url.starts_with(&s.api.url("/")), "{url}");
    // Reserved at once; not listed until uploaded.
    assert_eq!(kit::storage_used(&c, org).await, 5000);
    assert_eq!(c.get(&kit::files(org)).await.json()["items"], json!([]));

    let put = |body: Vec<u8>, ct: &'static str| {
        edge_tests::reqwest::Client::new()
            .put(url)
            .header("content-type", ct)
            .body(body)
            .reply()
    };
    // The wrong type or size is a 400 and does not use the URL up.
    put(bytes.clone(), "image/gif")
        .await
        .expect_problem(400, "validation_failed");
    put(bytes[..4999].to_vec(), "image/png")
        .await
        .expect_problem(400, "validation_failed");
    let mut longer = bytes.clone();
    longer.push(0);
    put(longer, "image/png")
        .await
        .expect_problem(400, "validation_failed");

    let r = put(bytes.clone(), "image/png").await;
    r.expect_status(201);
    let f = r.json();
    kit::assert_file(&f, "signed.bin", 5000, &sha256_hex(&bytes));
    assert_eq!(f["id"], u["file_id"]);
    let d = c.get(&content(org, &id_of(&f))).await;
    d.expect_status(200);
    assert!(d.body.as_ref() == bytes.as_slice());
    // Used: the second time is a 403, and the file is unchanged.
    put(pattern(5000, 12), "image/png")
        .await
        .expect_problem(403, "forbidden");
    let d = c.get(&content(org, &id_of(&f))).await;
    assert!(d.body.as_ref() == bytes.as_slice());
    assert_eq!(kit::storage_used(&c, org).await, 5000);
}

async fn altered_or_expired_upload_urls_are_403(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let c = a.on(&s.api);
    let org = &a.org_id;
    let u = upload_url(&c, org, 10, "text/plain").await;
    let (path, pairs) = split(u["upload_url"].as_str().expect("url"));
    let other = upload_url(&c, org, 10, "text/plain").await;
    let other_id = other["file_id"].as_str().expect("file_id");
    let sig = pairs
        .iter()
        .find(|(k, _)| k == "signature")
        .map(|(_, v)| v.clone())
        .expect("signature");
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    let file_id = u["file_id"].as_str().expect("file_id");
    let attempts: Vec<(&str, String, Query)> = vec![
        ("size", path.clone(), with(&pairs, "size", "11")),
        (
            "type",
            path.clone(),
            with(&pairs, "content_type", "text/html"),
        ),
        (
            "signature",
            path.clone(),
            with(&pairs, "signature", &flipped),
        ),
        (
            "no signature",
            path.clone(),
            pairs
                .iter()
                .filter(|(k, _)| k != "signature")
                .cloned()
                .collect(),
        ),
        (
            "expires",
            path.clone(),
            with(&pairs, "expires", "4102444800"),
        ),
        (
            "another file",
            path.replace(file_id, other_id),
            pairs.clone(),
        ),
        (
            "another org",
            path.replace(org.as_str(), &b.org_id),
            pairs.clone(),
        ),
    ];
    let client = edge_tests::reqwest::Client::new();
    for (what, p, q) in attempts {
        let ct = q
            .iter()
            .find(|(k, _)| k == "content_type")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let size: usize = q
            .iter()
            .find(|(k, _)| k == "size")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(10);
        let r = client
            .put(s.api.url(&kit::with_query(&p, &q)))
            .header("content-type", ct)
            .body(vec![b'x'; size])
            .reply()
            .await;
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        r.expect_problem(403, "forbidden");
    }
    // The hand-built canonical string is the worker's: with a live expiry it is accepted (on
    // a second upload URL, so the first stays unused) ...
    let live = upload_url(&c, org, 10, "text/plain").await;
    let (live_path, live_pairs) = split(live["upload_url"].as_str().expect("url"));
    let live_id = live["file_id"].as_str().expect("file_id");
    let soon = chrono::Utc::now().timestamp() + 120;
    let q = with(
        &with(&live_pairs, "expires", &soon.to_string()),
        "signature",
        &hand_signed(s, &live_path, org, live_id, soon),
    );
    let r = client
        .put(s.api.url(&kit::with_query(&live_path, &q)))
        .header("content-type", "text/plain")
        .body(vec![b'x'; 10])
        .reply()
        .await;
    assert_eq!(r.status, 201, "hand-signed live URL: {}", r.text());
    // ... and the same string for a past time is refused.
    let expired = 1_700_000_000i64;
    let q = with(
        &with(&pairs, "expires", &expired.to_string()),
        "signature",
        &hand_signed(s, &path, org, file_id, expired),
    );
    let r = client
        .put(s.api.url(&kit::with_query(&path, &q)))
        .header("content-type", "text/plain")
        .body(vec![b'x'; 10])
        .reply()
        .await;
    r.expect_problem(403, "forbidden");
    // Nothing else was stored by any of them; the original URL still works.
    let st = kit::stored(&s.api, org).await;
    let keys: Vec<&str> = st["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter_map(|o| o["key"].as_str())
        .collect();
    assert_eq!(keys, vec![format!("orgs/{org}/files/{live_id}")], "{st}");
    let r = client
        .put(s.api.url(&kit::with_query(&path, &pairs)))
        .header("content-type", "text/plain")
        .body(vec![b'x'; 10])
        .reply()
        .await;
    r.expect_status(201);
}

/// The upload signature as the worker documents it, computed here with the worker's secret.
fn hand_signed(s: &Suite, path: &str, org: &str, file_id: &str, expires: i64) -> String {
    let canonical =
        format!("edge-api signed url v1\nPUT\n{path}\n{org}\n{file_id}\n10\ntext/plain\n{expires}");
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(s.worker.env_value("URL_SIGNING_SECRET").as_bytes())
            .expect("hmac key");
    mac.update(canonical.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

async fn signed_download_urls(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let c = a.on(&s.api);
    let org = &a.org_id;
    let bytes = pattern(3000, 13);
    let f = kit::upload(&c, org, "dl.bin", bytes.clone()).await;
    let id = id_of(&f);
    let r = c
        .call(
            Method::POST,
            &format!("/v1/orgs/{org}/files/{id}/download-url"),
        )
        .await;
    r.expect_status(200);
    let url = r.json()["url"].as_str().expect("url").to_owned();
    let client = edge_tests::reqwest::Client::new();
    // No credential needed; reusable; ranges work.
    for _ in 0..2 {
        let d = client.get(&url).reply().await;
        d.expect_status(200);
        assert!(d.body.as_ref() == bytes.as_slice());
    }
    let d = client
        .get(&url)
        .header("range", "bytes=100-199")
        .reply()
        .await;
    d.expect_status(206);
    assert_eq!(d.body.as_ref(), &bytes[100..200]);

    let (path, pairs) = split(&url);
    let sig = pairs
        .iter()
        .find(|(k, _)| k == "signature")
        .map(|(_, v)| v.clone())
        .expect("sig");
    let flipped = format!(
        "{}{}",
        if sig.starts_with('a') { "b" } else { "a" },
        &sig[1..]
    );
    let other = kit::upload(&c, org, "other.bin", pattern(10, 1)).await;
    for (what, p, q) in [
        (
            "signature",
            path.clone(),
            with(&pairs, "signature", &flipped),
        ),
        (
            "expires",
            path.clone(),
            with(&pairs, "expires", "4102444800"),
        ),
        (
            "another file",
            path.replace(&id, &id_of(&other)),
            pairs.clone(),
        ),
        (
            "another org",
            path.replace(org.as_str(), &b.org_id),
            pairs.clone(),
        ),
    ] {
        let r = client
            .get(s.api.url(&kit::with_query(&p, &q)))
            .reply()
            .await;
        assert_eq!(r.status, 403, "{what}: {}", r.text());
    }
    // Without a signature the route wants a credential.
    client
        .get(s.api.url(&path))
        .reply()
        .await
        .expect_problem(401, "unauthenticated");
    // A deleted file's URL stops working.
    c.delete(&kit::file(org, &id)).await.expect_status(204);
    client
        .get(&url)
        .reply()
        .await
        .expect_problem(403, "forbidden");
}
