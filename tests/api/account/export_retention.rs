//! Exports over time: one pending at a time and five a day, assemblies whose consumer died or
//! whose message was lost taken back by the sweep, a file too large for one R2 part (a
//! multipart upload), deleted by the sweep past its retention, purged with the account.

use super::export::{objects, path_of, ready, sql, start};
use crate::identity::kit::{signup, Account, Caller};
use crate::support::{trial, Suite};
use edge_tests::{Method, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(one_export_is_pending_at_a_time_and_five_start_a_day),
        trial!(the_sweep_takes_back_interrupted_and_lost_assemblies),
        trial!(exports_expire_and_go_with_the_account),
    ]
}

async fn one_export_is_pending_at_a_time_and_five_start_a_day(s: &Suite) {
    // Its own worker: writing a worker's SQLite file from outside (`wrangler d1 execute`)
    // locks it, and the shared worker's other trials would meet SQLITE_BUSY meanwhile.
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = &worker.api();
    let persist = worker.persist_dir();
    // A user whose export is being assembled (held by a live claim) gets that one back.
    let a = signup(api).await;
    let held = "exp_0000000000000000000000held";
    sql(
        persist,
        &format!(
            "INSERT INTO account_exports (id, user_id, status, attempts, lease_until, request_id, \
             created_at, created_unix, updated_at) VALUES ('{held}', '{}', 'running', 1, \
             strftime('%s','now') * 1000 + 3600000, 'test', strftime('%Y-%m-%dT%H:%M:%SZ','now'), \
             strftime('%s','now'), strftime('%Y-%m-%dT%H:%M:%SZ','now'))",
            a.id
        ),
    )
    .await;
    for _ in 0..2 {
        let r = start(&a.on(api)).await;
        r.expect_status(202);
        assert_eq!(r.json()["id"], held, "{}", r.text());
        assert_eq!(r.json()["status"], "running", "{}", r.text());
    }
    let n = sql(
        persist,
        &format!(
            "SELECT COUNT(*) AS n FROM account_exports WHERE user_id = '{}'",
            a.id
        ),
    )
    .await;
    assert_eq!(n[0]["n"], 1, "nothing new started: {n:?}");
    // Five started in the last day (whatever became of them): the sixth waits.
    let b = signup(api).await;
    for i in 0..5 {
        sql(
            persist,
            &format!(
                "INSERT INTO account_exports (id, user_id, status, request_id, created_at, \
                 created_unix, updated_at) VALUES ('exp_000000000000000000000000d{i}', '{}', \
                 'failed', 'test', '2026-01-01T00:00:00Z', strftime('%s','now') - {}, \
                 '2026-01-01T00:00:00Z')",
                b.id,
                3600 * (i + 1)
            ),
        )
        .await;
    }
    let r = start(&b.on(api)).await;
    let p = r.expect_problem(429, "rate_limited");
    let retry: i64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("Retry-After");
    // The oldest of the five was 5 h ago: it leaves the window in 19 h.
    assert!(
        (19 * 3600 - 60..=19 * 3600).contains(&retry),
        "{retry}: {p:?}"
    );
    assert_eq!(
        b.on(api).get("/v1/me/exports").await.json()["items"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

async fn exports_expire_and_go_with_the_account(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("ACCOUNT_DELETION_GRACE_SECONDS", "1"))
        .await;
    let api = worker.api();
    let a: Account = signup(&api).await;
    let me = a.on(&api);
    // Eleven documents of 500 KB: the file outgrows one 5 MiB part (a multipart upload).
    let docs = format!("/v1/orgs/{}/documents", a.org_id);
    for i in 0..11 {
        let content = format!("{i:02}{}", "x".repeat(500_000));
        me.post(
            &docs,
            &json!({"title": format!("big {i}"), "content": content}),
        )
        .await
        .expect_status(201);
    }
    // A user without a second factor is not held.
    let r = start(&me).await;
    r.expect_status(202);
    let first = r.json()["id"].as_str().expect("id").to_owned();
    let b = ready(&me, &first).await;
    assert!(b["size"].as_u64() > Some(5 * 1024 * 1024), "{b}");
    assert_eq!(b["counts"]["documents"], 11, "{b}");
    let stored = objects(&api, &a.id).await;
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0]["size"], b["size"], "{stored:?}");
    let url = path_of(b["download_url"].as_str().expect("url"));
    let got = Caller::anon(&api).get(&url).await;
    got.expect_status(200);
    assert_eq!(
        b["sha256"],
        hex::encode(Sha256::digest(&got.body)),
        "the parts joined in order"
    );
    let f: Value = serde_json::from_slice(&got.body).expect("the file is JSON");
    let mut firsts: Vec<String> = f["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["content"].as_str().unwrap_or_default()[..2].to_owned())
        .collect();
    firsts.sort();
    let expected: Vec<String> = (0..11).map(|i| format!("{i:02}")).collect();
    assert_eq!(firsts, expected);
    // Its retention ends: the URL and the file stop at once, the sweep deletes the object.
    sql(
        worker.persist_dir(),
        &format!(
            "UPDATE account_exports SET expires_at = strftime('%s','now') - 1 WHERE id = '{first}'"
        ),
    )
    .await;
    Caller::anon(&api)
        .get(&url)
        .await
        .expect_problem(403, "forbidden");
    me.get(&format!("/v1/me/exports/{first}/content"))
        .await
        .expect_problem(409, "conflict");
    let r = Caller::anon(&api).post("/__test/sweep", &json!({})).await;
    r.expect_status(200);
    assert_eq!(r.json()["exports"]["expired"], 1, "{}", r.text());
    let b = me.get(&format!("/v1/me/exports/{first}")).await.json();
    assert_eq!(b["status"], "expired", "{b}");
    assert_eq!(b["download_url"], Value::Null, "{b}");
    assert_eq!(objects(&api, &a.id).await, Vec::<Value>::new());

    // A second one, then the account is deleted: its URL dies with the sessions, and the
    // hard delete purges the user's prefix.
    let r = start(&me).await;
    r.expect_status(202);
    let second = r.json()["id"].as_str().expect("id").to_owned();
    let b = ready(&me, &second).await;
    let url = path_of(b["download_url"].as_str().expect("url"));
    assert_eq!(objects(&api, &a.id).await.len(), 1);
    me.call(
        Method::DELETE,
        "/v1/me",
        Some(&json!({"password": a.password})),
    )
    .await
    .expect_status(202);
    Caller::anon(&api)
        .get(&url)
        .await
        .expect_problem(403, "forbidden");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let r = Caller::anon(&api).post("/__test/sweep", &json!({})).await;
    r.expect_status(200);
    assert!(
        r.json()["accounts_purged"].as_u64() >= Some(1),
        "{}",
        r.text()
    );
    assert_eq!(objects(&api, &a.id).await, Vec::<Value>::new());
    let rows = sql(
        worker.persist_dir(),
        &format!(
            "SELECT COUNT(*) AS n FROM account_exports WHERE user_id = '{}'",
            a.id
        ),
    )
    .await;
    assert_eq!(rows[0]["n"], 0, "{rows:?}");
}

/// Writes an export row as a consumer left it: `status`, `attempts`, the lease (ms from now)
/// and `updated_at` (s before now).
async fn left_behind(
    persist: &std::path::Path,
    id: &str,
    user: &str,
    status: &str,
    attempts: i64,
    lease_ms: i64,
    quiet_s: i64,
) {
    sql(
        persist,
        &format!(
            "INSERT INTO account_exports (id, user_id, status, attempts, lease_until, request_id, \
             created_at, created_unix, updated_at) VALUES ('{id}', '{user}', '{status}', {attempts}, \
             strftime('%s','now') * 1000 + {lease_ms}, 'test', strftime('%Y-%m-%dT%H:%M:%SZ','now'), \
             strftime('%s','now'), strftime('%Y-%m-%dT%H:%M:%SZ','now', '-{quiet_s} seconds'))"
        ),
    )
    .await;
}

async fn the_sweep_takes_back_interrupted_and_lost_assemblies(s: &Suite) {
    // Its own worker: writing a worker's SQLite file from outside (`wrangler d1 execute`)
    // locks it, and the shared worker's other trials would meet SQLITE_BUSY meanwhile.
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = &worker.api();
    let persist = worker.persist_dir();
    let (died, lost, spent) = (signup(api).await, signup(api).await, signup(api).await);
    // A consumer died mid-assembly (its lease ran out); a message never arrived (queued and
    // quiet for two minutes); a third attempt died too (no attempts left).
    let died_id = "exp_0000000000000000000000died";
    let lost_id = "exp_0000000000000000000000lost";
    let spent_id = "exp_000000000000000000000spent";
    left_behind(persist, died_id, &died.id, "running", 1, -1_000, 0).await;
    left_behind(persist, lost_id, &lost.id, "queued", 0, 0, 120).await;
    left_behind(persist, spent_id, &spent.id, "running", 3, -1_000, 0).await;
    let r = Caller::anon(api).post("/__test/sweep", &json!({})).await;
    r.expect_status(200);
    let report = &r.json()["exports"];
    for field in ["requeued", "resent", "failed"] {
        assert!(report[field].as_u64() >= Some(1), "{field}: {report}");
    }
    // The first two are assembled after all, the interrupted one by its second attempt.
    for (account, id, attempt) in [(&died, died_id, 2), (&lost, lost_id, 1)] {
        let b = ready(&account.on(api), id).await;
        let got = Caller::anon(api)
            .get(&path_of(b["download_url"].as_str().expect("url")))
            .await;
        got.expect_status(200);
        let f: Value = serde_json::from_slice(&got.body).expect("JSON");
        assert_eq!(f["export_id"], id);
        assert_eq!(f["profile"]["email"], account.email);
        let keys: Vec<String> = objects(api, &account.id)
            .await
            .iter()
            .filter_map(|o| o["key"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(
            keys,
            [format!("users/{}/exports/{id}.{attempt}.json", account.id)]
        );
    }
    let b = spent
        .on(api)
        .get(&format!("/v1/me/exports/{spent_id}"))
        .await
        .json();
    assert_eq!(b["status"], "failed", "{b}");
    assert!(
        b["error"]
            .as_str()
            .is_some_and(|e| e.contains("interrupted")),
        "{b}"
    );
    assert_eq!(objects(api, &spent.id).await, Vec::<Value>::new());
}
