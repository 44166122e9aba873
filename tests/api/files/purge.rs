//! Deleting an organization deletes its files for real: every R2 object under
//! `orgs/{org_id}/` (direct, signed-URL and multipart uploads) is purged and its open
//! multipart uploads aborted, durably (a purge row written with the deletion, worked off by
//! the request and then the sweep); another organization's objects are untouched. R2 is
//! inspected through the test route `/__test/files/{org}`.

use super::kit::{self, files};
use crate::documents::kit::signup;
use crate::support::{trial, Suite};
use edge_tests::{Method, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(deleting_an_organization_purges_its_objects)]
}

fn objects(st: &Value) -> usize {
    st["objects"].as_array().map_or(0, Vec::len)
}

async fn deleting_an_organization_purges_its_objects(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let c = a.on(&s.api);
    let org = &a.org_id;
    kit::upload(&c, org, "direct.bin", kit::pattern(1000, 1)).await;
    kit::upload(&b.on(&s.api), &b.org_id, "theirs.bin", kit::pattern(100, 2)).await;
    // A signed-URL upload.
    let r = c
        .post(
            &format!("{}/uploads", files(org)),
            &json!({"name": "signed.bin", "content_type": "text/plain", "size": 10}),
        )
        .await;
    r.expect_status(201);
    let url = r.json()["upload_url"].as_str().expect("url").to_owned();
    edge_tests::reqwest::Client::new()
        .put(&url)
        .header("content-type", "text/plain")
        .body(vec![b'x'; 10])
        .reply()
        .await
        .expect_status(201);
    // A completed multipart upload, and one left open with a part in it.
    let mut open = String::new();
    for complete in [true, false] {
        let r = c
            .post(
                &format!("{}/multipart", files(org)),
                &json!({"name": "parts.bin", "content_type": "text/plain", "size": 50}),
            )
            .await;
        r.expect_status(201);
        let mp = format!(
            "{}/multipart/{}",
            files(org),
            r.json()["upload_id"].as_str().expect("id")
        );
        c.request(Method::PUT, &format!("{mp}/parts/1"))
            .body(vec![7u8; 50])
            .reply()
            .await
            .expect_status(200);
        if complete {
            c.call(Method::POST, &format!("{mp}/complete"))
                .await
                .expect_status(201);
        } else {
            open = mp;
        }
    }
    assert!(!open.is_empty());
    let before = kit::stored(&s.api, org).await;
    assert_eq!(objects(&before), 3, "three stored objects: {before}");

    c.delete(&format!("/v1/orgs/{org}"))
        .await
        .expect_status(204);
    edge_tests::eventually(
        "the organization's objects purged",
        Duration::from_secs(30),
        || async {
            let st = kit::stored(&s.api, org).await;
            if objects(&st) == 0 {
                return Some(());
            }
            // The sweep finishes what the deleting request left.
            s.api.post_json("/__test/sweep", &json!({})).reply().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            None
        },
    )
    .await;
    let theirs = kit::stored(&s.api, &b.org_id).await;
    assert_eq!(
        objects(&theirs),
        1,
        "another organization's object: {theirs}"
    );
}
