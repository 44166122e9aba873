//! Tenancy and roles: another organization's file (or upload) ids are 404 on every files
//! route, under its path and under the caller's own; names can never move an object out of
//! `orgs/{org_id}/`; viewers and `files:read` keys read but cannot write.

use super::kit::{self, content, file, files, id_of, pattern};
use crate::documents::kit::{api_key, join, signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(other_orgs_files_are_404_on_every_route),
        trial!(names_never_escape_the_org_prefix),
        trial!(viewers_and_read_keys_cannot_write),
    ]
}

async fn every_route(c: &Caller, org: &str, id: &str, upload: &str) -> Vec<(String, Reply)> {
    let mp = format!("{}/multipart/{upload}", files(org));
    vec![
        (format!("GET {id}"), c.get(&file(org, id)).await),
        (format!("GET {id}/content"), c.get(&content(org, id)).await),
        (
            format!("GET {id}/content range"),
            c.request(Method::GET, &content(org, id))
                .header("range", "bytes=0-1")
                .reply()
                .await,
        ),
        (
            format!("POST {id}/download-url"),
            c.call(Method::POST, &format!("{}/download-url", file(org, id)))
                .await,
        ),
        (format!("DELETE {id}"), c.delete(&file(org, id)).await),
        (format!("GET {mp}"), c.get(&mp).await),
        (
            format!("PUT {mp}/parts/1"),
            c.request(Method::PUT, &format!("{mp}/parts/1"))
                .body(vec![0u8; 10])
                .reply()
                .await,
        ),
        (
            format!("POST {mp}/complete"),
            c.call(Method::POST, &format!("{mp}/complete")).await,
        ),
        (format!("DELETE {mp}"), c.delete(&mp).await),
    ]
}

async fn other_orgs_files_are_404_on_every_route(s: &Suite) {
    let (a, b) = tokio::join!(signup(&s.api), signup(&s.api));
    let ca = a.on(&s.api);
    let cb = b.on(&s.api);
    let f = kit::upload(&ca, &a.org_id, "secret.txt", b"top secret".to_vec()).await;
    let id = id_of(&f);
    let r = ca
        .post(
            &format!("{}/multipart", files(&a.org_id)),
            &json!({"name": "m", "content_type": "text/plain", "size": 10}),
        )
        .await;
    r.expect_status(201);
    let upload = r.json()["upload_id"].as_str().expect("upload").to_owned();
    // B under A's path (not a member) and under B's own path (A's ids): all 404.
    for org in [&a.org_id, &b.org_id] {
        for (what, r) in every_route(&cb, org, &id, &upload).await {
            assert_eq!(r.status, 404, "B: {what} under {org}: {}", r.text());
            r.expect_problem(404, "not_found");
        }
    }
    // Lists never show another organization's files.
    let listed = cb.get(&files(&b.org_id)).await;
    assert_eq!(listed.json()["items"], json!([]));
    // Unknown and malformed ids are 404 too, for the owner.
    for bad in ["fil_nope", "..%2F..%2Fx", "fil_%00", &"f".repeat(300)] {
        for (what, r) in every_route(&ca, &a.org_id, bad, bad).await {
            assert_eq!(r.status, 404, "{what}: {}", r.text());
        }
    }
    // Nothing of A's changed.
    let d = ca.get(&content(&a.org_id, &id)).await;
    assert_eq!(d.body.as_ref(), b"top secret");
    ca.get(&format!("{}/multipart/{upload}", files(&a.org_id)))
        .await
        .expect_status(200);
}

async fn names_never_escape_the_org_prefix(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let names = [
        "../../x",
        "%2e%2e/%2e%2e/y",
        "/etc/passwd",
        "..\\..\\z",
        "résumé \"final\"; a=b.pdf",
        "a\u{202e}txt.exe",
    ];
    let mut ids = Vec::new();
    for name in names {
        let f = kit::upload(&c, org, name, pattern(8, 1)).await;
        assert_eq!(f["name"], name, "the name is kept as given");
        let id = id_of(&f);
        let d = c.get(&content(org, &id)).await;
        d.expect_status(200);
        let cd = d.header("content-disposition").expect("disposition");
        assert!(cd.starts_with("attachment; filename=\""), "{cd}");
        // One quoted ASCII parameter and one RFC 8187 parameter: nothing else.
        assert_eq!(cd.matches('"').count(), 2, "{cd}");
        assert_eq!(cd.matches(';').count(), 2, "{cd}");
        ids.push(id);
    }
    // Control characters are refused outright.
    for bad in ["a\r\nSet-Cookie: x=y", "nul\0", "tab\there"] {
        kit::upload_raw(&c, org, bad, "text/plain", vec![1])
            .await
            .expect_problem(400, "validation_failed");
    }
    let st = kit::stored(&s.api, org).await;
    let mut keys: Vec<String> = st["objects"]
        .as_array()
        .map(|o| {
            o.iter()
                .filter_map(|x| x["key"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|i| format!("orgs/{org}/files/{i}"))
        .collect();
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    assert_eq!(st["keys_outside_orgs"], json!([]), "{st}");
}

async fn viewers_and_read_keys_cannot_write(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let by = owner.on(&s.api);
    let viewer = join(s, &by, &org, "viewer").await.on(&s.api);
    let f = kit::upload(&by, &org, "shared.txt", b"shared".to_vec()).await;
    let id = id_of(&f);
    let (_, read_key) = api_key(&by, &org, &["files:read"]).await;
    let (_, write_key) = api_key(&by, &org, &["files:read", "files:write"]).await;
    let reader = Caller::new(&s.api, &read_key);
    let writer = Caller::new(&s.api, &write_key);
    for c in [&viewer, &reader] {
        c.get(&content(&org, &id)).await.expect_status(200);
        c.get(&files(&org)).await.expect_status(200);
        kit::upload_raw(c, &org, "no.txt", "text/plain", vec![1])
            .await
            .expect_problem(403, "forbidden");
        c.delete(&file(&org, &id))
            .await
            .expect_problem(403, "forbidden");
        c.post(
            &format!("{}/uploads", files(&org)),
            &json!({"name": "n", "content_type": "text/plain", "size": 1}),
        )
        .await
        .expect_problem(403, "forbidden");
    }
    let (_, docs_key) = api_key(&by, &org, &["documents:read"]).await;
    Caller::new(&s.api, &docs_key)
        .get(&content(&org, &id))
        .await
        .expect_problem(403, "forbidden");
    let f2 = kit::upload(&writer, &org, "by-key.txt", b"k".to_vec()).await;
    assert!(
        f2["uploaded_by"]
            .as_str()
            .is_some_and(|u| u.starts_with("key_")),
        "{f2}"
    );
    writer
        .delete(&file(&org, &id_of(&f2)))
        .await
        .expect_status(204);
}
