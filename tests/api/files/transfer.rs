//! Bytes in and out: round trips from 0 B to 64 MiB, multipart in parts sent out of order and
//! again, ranges and conditional requests, list and metadata, delete giving storage back, and
//! the `file.process` job each upload queues to the origin.

use super::kit::{self, content, file, files, id_of, pattern, sha256_hex};
use crate::documents::kit::{signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::{Method, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(small_files_round_trip_byte_identical),
        trial!(a_64_mib_file_streams_both_ways),
        trial!(multipart_20_mib_then_three_ranges),
        trial!(ranges_and_conditional_downloads),
        trial!(delete_removes_the_object_and_frees_storage),
        trial!(every_upload_queues_a_file_process_job),
    ]
}

async fn download(c: &Caller, org: &str, id: &str) -> Reply {
    let r = c.get(&content(org, id)).await;
    r.expect_status(200);
    r
}

async fn small_files_round_trip_byte_identical(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let mut used = 0;
    for (n, name) in [
        (0usize, "empty.bin"),
        (1, "one.bin"),
        (1 << 20, "one-mib.bin"),
    ] {
        let bytes = pattern(n, n as u64 + 7);
        let sha = sha256_hex(&bytes);
        let r = kit::upload_raw(&c, org, name, "application/x-test", bytes.clone()).await;
        r.expect_status(201);
        let f = r.json();
        kit::assert_file(&f, name, n, &sha);
        assert_eq!(f["content_type"], "application/x-test");
        let id = id_of(&f);
        assert_eq!(r.header("location"), Some(file(org, &id).as_str()));
        assert_eq!(r.header("etag"), Some(format!("\"{sha}\"").as_str()));

        let d = download(&c, org, &id).await;
        assert_eq!(d.body.len(), n, "{name}: length");
        assert!(d.body.as_ref() == bytes.as_slice(), "{name}: bytes differ");
        assert_eq!(d.header("content-type"), Some("application/x-test"));
        assert_eq!(d.header("content-length"), Some(n.to_string().as_str()));
        assert_eq!(d.header("etag"), Some(format!("\"{sha}\"").as_str()));
        assert_eq!(d.header("accept-ranges"), Some("bytes"));
        assert_eq!(d.header("x-content-type-options"), Some("nosniff"));
        assert!(
            d.header("content-disposition")
                .is_some_and(|v| v.starts_with("attachment; filename=\"")),
            "{:?}",
            d.headers
        );

        let meta = c.get(&file(org, &id)).await;
        meta.expect_status(200);
        assert_eq!(meta.json(), f, "metadata equals the upload answer");
        used += n as u64;
        assert_eq!(
            kit::storage_used(&c, org).await,
            used,
            "storage after {name}"
        );
    }
    let list = c.get(&files(org)).await;
    list.expect_status(200);
    let names: Vec<Value> = list.json()["items"]
        .as_array()
        .map(|i| i.iter().map(|f| f["name"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        vec![json!("one-mib.bin"), json!("one.bin"), json!("empty.bin")]
    );
}

async fn a_64_mib_file_streams_both_ways(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let n = 64 << 20;
    let bytes = pattern(n, 64);
    let sha = sha256_hex(&bytes);
    let started = std::time::Instant::now();
    let f = kit::upload(&c, org, "big.bin", bytes.clone()).await;
    let up = started.elapsed();
    kit::assert_file(&f, "big.bin", n, &sha);
    let started = std::time::Instant::now();
    let d = download(&c, org, &id_of(&f)).await;
    let down = started.elapsed();
    assert_eq!(d.body.len(), n);
    assert_eq!(sha256_hex(&d.body), sha, "downloaded bytes differ");
    eprintln!("64 MiB: upload {up:.1?}, download {down:.1?}");
}

async fn multipart_20_mib_then_three_ranges(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let n = 20 << 20;
    let bytes = pattern(n, 20);
    let sha = sha256_hex(&bytes);
    let r = c
        .post(
            &format!("{}/multipart", files(org)),
            &json!({"name": "parts.bin", "content_type": "application/x-parts", "size": n}),
        )
        .await;
    r.expect_status(201);
    let up = r.json();
    let upload = up["upload_id"].as_str().expect("upload_id").to_owned();
    let part = up["part_size"].as_u64().expect("part_size") as usize;
    let count = up["part_count"].as_u64().expect("part_count") as usize;
    assert_eq!(count, n.div_ceil(part));
    assert!(count >= 2, "20 MiB comes in several parts: {up}");
    assert_eq!(up["parts"], json!([]));
    // Storage is reserved at once.
    assert_eq!(kit::storage_used(&c, org).await, n as u64);
    let base = format!("{}/multipart/{upload}", files(org));
    let send = |k: usize, body: Vec<u8>| {
        let c = c.clone();
        let url = format!("{base}/parts/{k}");
        async move { c.request(Method::PUT, &url).body(body).reply().await }
    };
    let chunk = |k: usize| bytes[(k - 1) * part..(k * part).min(n)].to_vec();

    // A part of the wrong size is refused; the last part first, then the rest.
    send(1, vec![0; 10])
        .await
        .expect_problem(400, "validation_failed");
    send(count + 1, vec![0; 10])
        .await
        .expect_problem(400, "validation_failed");
    // Completing before every part is there: 409 naming the missing parts.
    send(count, chunk(count)).await.expect_status(200);
    let early = c.call(Method::POST, &format!("{base}/complete")).await;
    early.expect_problem(409, "conflict");
    assert_eq!(
        early.json()["missing_parts"],
        json!((1..count).collect::<Vec<_>>())
    );
    for k in (1..count).rev() {
        let r = send(k, chunk(k)).await;
        r.expect_status(200);
        assert_eq!(r.json()["part_number"], k as u64);
    }
    // A part sent again (a resumed upload) replaces the earlier one.
    send(1, chunk(1)).await.expect_status(200);
    let status = c.get(&base).await;
    status.expect_status(200);
    assert_eq!(status.json()["parts"].as_array().map(Vec::len), Some(count));

    let done = c.call(Method::POST, &format!("{base}/complete")).await;
    done.expect_status(201);
    let f = done.json();
    kit::assert_file(&f, "parts.bin", n, &sha);
    let id = id_of(&f);
    // The upload is gone once complete.
    c.get(&base).await.expect_problem(404, "not_found");
    assert_eq!(kit::storage_used(&c, org).await, n as u64);

    let whole = download(&c, org, &id).await;
    assert_eq!(sha256_hex(&whole.body), sha);
    for (range, start, end) in [
        ("bytes=0-99".to_owned(), 0, 99),
        // Across the boundary of parts 1 and 2.
        (
            format!("bytes={}-{}", part - 50, part + 49),
            part - 50,
            part + 49,
        ),
        ("bytes=-1000".to_owned(), n - 1000, n - 1),
    ] {
        let r = c
            .request(Method::GET, &content(org, &id))
            .header("range", &range)
            .reply()
            .await;
        r.expect_status(206);
        assert_eq!(
            r.header("content-range"),
            Some(format!("bytes {start}-{end}/{n}").as_str()),
            "{range}"
        );
        assert_eq!(r.body.as_ref(), &bytes[start..=end], "{range}: bytes");
        assert_eq!(
            r.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
    }
}

async fn ranges_and_conditional_downloads(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let bytes = pattern(1000, 3);
    let f = kit::upload(&c, org, "r.bin", bytes.clone()).await;
    let id = id_of(&f);
    let etag = format!("\"{}\"", f["sha256"].as_str().unwrap_or_default());
    let get = |h: Vec<(&'static str, String)>| {
        let mut req = c.request(Method::GET, &content(org, &id));
        for (k, v) in h {
            req = req.header(k, v);
        }
        req.reply()
    };
    let r = get(vec![("if-none-match", etag.clone())]).await;
    r.expect_status(304);
    assert!(r.body.is_empty());
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    get(vec![("if-none-match", format!("W/{etag}"))])
        .await
        .expect_status(304);
    get(vec![("if-none-match", "\"other\"".into())])
        .await
        .expect_status(200);

    let r = get(vec![("range", "bytes=990-".into())]).await;
    r.expect_status(206);
    assert_eq!(r.body.as_ref(), &bytes[990..]);
    let r = get(vec![("range", "bytes=1000-".into())]).await;
    r.expect_problem(416, "range_not_satisfiable");
    assert_eq!(r.header("content-range"), Some("bytes */1000"));
    // Invalid or multiple ranges are ignored: the whole file.
    for ignored in ["bytes=5-1", "lines=1-2", "bytes=0-1,5-6"] {
        let r = get(vec![("range", ignored.into())]).await;
        r.expect_status(200);
        assert_eq!(r.body.len(), 1000, "{ignored}");
    }
    // If-Range with a stale tag: the whole file; with the current one: the range.
    let r = get(vec![
        ("range", "bytes=0-9".into()),
        ("if-range", "\"stale\"".into()),
    ])
    .await;
    r.expect_status(200);
    let r = get(vec![
        ("range", "bytes=0-9".into()),
        ("if-range", etag.clone()),
    ])
    .await;
    r.expect_status(206);
    assert_eq!(r.body.as_ref(), &bytes[..10]);
}

async fn delete_removes_the_object_and_frees_storage(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = &a.org_id;
    let keep = kit::upload(&c, org, "keep.bin", pattern(300, 1)).await;
    let gone = kit::upload(&c, org, "gone.bin", pattern(700, 2)).await;
    assert_eq!(kit::storage_used(&c, org).await, 1000);
    let id = id_of(&gone);
    c.delete(&file(org, &id)).await.expect_status(204);
    c.delete(&file(org, &id))
        .await
        .expect_problem(404, "not_found");
    c.get(&file(org, &id))
        .await
        .expect_problem(404, "not_found");
    c.get(&content(org, &id))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(kit::storage_used(&c, org).await, 300);
    let st = kit::stored(&s.api, org).await;
    let keys: Vec<&str> = st["objects"]
        .as_array()
        .map(|o| o.iter().filter_map(|x| x["key"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        vec![format!("orgs/{org}/files/{}", id_of(&keep))],
        "{st}"
    );
    let audit = c.get(&format!("/v1/orgs/{org}/audit-log")).await;
    let actions: Vec<String> = audit.json()["items"]
        .as_array()
        .map(|i| {
            i.iter()
                .filter_map(|e| e["action"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(actions.contains(&"file.deleted".to_owned()), "{actions:?}");
    assert!(actions.contains(&"file.uploaded".to_owned()), "{actions:?}");
}

async fn every_upload_queues_a_file_process_job(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let org = a.org_id.clone();
    let f = kit::upload(&c, &org, "process-me.txt", b"hello".to_vec()).await;
    let id = id_of(&f);
    let body = edge_tests::eventually(
        "the file.process job at the origin",
        Duration::from_secs(30),
        || {
            let id = id.clone();
            async move {
                s.origin
                    .requests()
                    .into_iter()
                    .filter(|r| r.path == "/jobs/file.process")
                    .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
                    .find(|b| b["payload"]["file_id"] == id.as_str())
            }
        },
    )
    .await;
    assert_eq!(body["org_id"], org.as_str());
    assert_eq!(body["payload"]["sha256"], f["sha256"]);
    assert_eq!(body["payload"]["size"], 5);
    assert_eq!(body["payload"]["name"], "process-me.txt");
    // And it is a job of the organization, visible in the jobs API.
    let jobs = c.get(&format!("/v1/orgs/{org}/jobs")).await;
    assert!(
        jobs.json()["items"]
            .as_array()
            .is_some_and(|j| j.iter().any(|j| j["type"] == "file.process")),
        "{}",
        jobs.text()
    );
}
