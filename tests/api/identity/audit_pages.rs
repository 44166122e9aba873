//! `…/audit-log/verify` reads the chain in keyset pages (`AUDIT_VERIFY_PAGE_SIZE`, here 2),
//! carrying the previous hash across pages, with the same answer as a whole-chain check: an
//! intact chain of several pages verifies, and an edit is found on whichever page it is,
//! including a broken link at a page boundary.

use super::audit::d1_execute;
use super::kit::{create_key, list_all, login_ok, signup};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::Value;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_chain_is_verified_in_pages)]
}

async fn the_chain_is_verified_in_pages(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("AUDIT_VERIFY_PAGE_SIZE", "2"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let org = owner.org_id.clone();
    login_ok(&api, &owner).await;
    login_ok(&api, &owner).await;
    create_key(&by, &org, &["documents:read"]).await;
    create_key(&by, &org, &["documents:read"]).await;
    let log: Vec<Value> = list_all(&by, &format!("/v1/orgs/{org}/audit-log"), 100).await;
    let n = log.len() as u64;
    assert!(n >= 5, "at least three pages of two: {log:?}");
    let newest = log
        .iter()
        .max_by_key(|e| e["seq"].as_u64())
        .expect("entries");
    let entry = |seq: u64| log.iter().find(|e| e["seq"] == seq).expect("entry").clone();

    let path = format!("/v1/orgs/{org}/audit-log/verify");
    let v = by.get(&path).await.json();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], n, "{v}");
    assert_eq!(v["head"], newest["hash"], "{v}");
    // Full pages of two, then the short (or empty) one that ends the chain.
    assert_eq!(v["pages"], n / 2 + 1, "read in pages of 2: {v}");

    // A broken link where the second page starts.
    let third = entry(3);
    d1_execute(
        worker.persist_dir(),
        &format!(
            "UPDATE audit_log SET prev_hash='{}' WHERE org_id='{org}' AND seq=3",
            "0".repeat(64)
        ),
    )
    .await;
    let v = by.get(&path).await.json();
    assert_eq!(
        (v["valid"].clone(), v["first_invalid_seq"].clone()),
        (Value::Bool(false), Value::from(3)),
        "{v}"
    );
    assert_eq!(v["entries"], n, "the same length as before: {v}");
    assert_eq!(v["head"], newest["hash"], "{v}");
    d1_execute(
        worker.persist_dir(),
        &format!(
            "UPDATE audit_log SET prev_hash='{}' WHERE org_id='{org}' AND seq=3",
            third["prev_hash"].as_str().expect("prev_hash")
        ),
    )
    .await;
    assert_eq!(by.get(&path).await.json()["valid"], true, "restored");

    // An edit of the newest entry, on the last page.
    let last = newest["seq"].as_u64().expect("seq");
    d1_execute(
        worker.persist_dir(),
        &format!("UPDATE audit_log SET action='edited' WHERE org_id='{org}' AND seq={last}"),
    )
    .await;
    let v = by.get(&path).await.json();
    assert_eq!(v["valid"], false, "{v}");
    assert_eq!(v["first_invalid_seq"], last, "{v}");
    assert_eq!(v["entries"], n, "{v}");
    worker.stop();
}
