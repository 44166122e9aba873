//! Requests aimed at someone else's organization (or at an id that names none) spend the
//! caller's own limit: 404, then 429 with the standard headers. The victim's members keep
//! their whole limit, the victim's `TENANT` object never hears of the attacker, and no object
//! is created for an id that names nothing (its storage file never appears).

use super::fields::{rate, refused};
use super::fixtures::{api_key, burst, get, signup, tally, tight_requests, worker, RPM};
use crate::support::{trial, Suite};
use edge_tests::{random, Api, SendExt, Worker};
use libtest_mimic::Trial;
use serde_json::Value;
use std::path::Path;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(requests_to_another_org_spend_the_callers_own_limit),
        trial!(an_api_key_aimed_at_another_org_spends_its_own_limit),
    ]
}

const N: usize = RPM as usize;
const EXTRA: usize = 3;

fn random_org() -> String {
    format!("org_{}", random::hex(13))
}

/// The id of the `TENANT` object named `name` (computed without creating it).
async fn tenant_id(api: &Api, name: &str) -> String {
    let r = api.get(&format!("/__test/tenants/{name}")).reply().await;
    r.expect_status(200);
    r.json()["id"].as_str().expect("id").to_owned()
}

/// Whether any file under `dir` is named after the object id `id` (`<id>.sqlite`, …).
fn stored(dir: &Path, id: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        if path.is_dir() {
            stored(&path, id)
        } else {
            e.file_name().to_string_lossy().starts_with(id)
        }
    })
}

async fn object_stored(w: &Worker, name: &str) -> bool {
    let id = tenant_id(&w.api(), name).await;
    stored(w.persist_dir(), &id)
}

async fn requests_to_another_org_spend_the_callers_own_limit(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let (attacker, victim) = (signup(&api).await, signup(&api).await);
    let nowhere = random_org();
    let targets = [
        format!("/v1/orgs/{}/documents", victim.org_id),
        format!("/v1/orgs/{nowhere}/documents"),
        format!("/v1/orgs/{}", victim.org_id),
        format!("/v1/orgs/{nowhere}"),
    ];
    // One after the other, alternating between the real and the made-up organization: 404s
    // counted in the attacker's own bucket, then 429 at the attacker's limit.
    for i in 0..N + EXTRA {
        let r = get(&api, &targets[i % targets.len()], &attacker.token).await;
        if i < N {
            r.expect_problem(404, "not_found");
            let rate = rate(&r);
            assert_eq!(
                (rate.policy.as_str(), rate.limit, rate.remaining),
                ("user", i64::from(RPM), (N - 1 - i) as i64),
                "request {i}: {rate:?}"
            );
        } else {
            let rate = refused(&r);
            assert_eq!((rate.policy.as_str(), rate.remaining), ("user", 0));
        }
    }
    // The victim's members have their whole limit.
    let replies = burst(N + EXTRA, |_| get(&api, &targets[0], &victim.token)).await;
    assert_eq!(tally(&replies), (N, EXTRA), "the victim's own burst");
    // The victim's object counted only the victim: one window key, theirs.
    let r = api
        .get(&format!("/__test/tenants/{}/windows", victim.org_id))
        .reply()
        .await;
    r.expect_status(200);
    let keys: Vec<Value> = r.json()["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1, "only the victim's window: {keys:?}");
    // The observation works (the victim's object has its storage file), and the made-up
    // organization has none: no object was created for it.
    assert!(
        object_stored(&w, &victim.org_id).await,
        "the victim's TENANT storage is found under {}",
        w.persist_dir().display()
    );
    assert!(
        !object_stored(&w, &nowhere).await,
        "a TENANT object was stored for {nowhere}, an id that names nothing"
    );
    w.stop();
}

async fn an_api_key_aimed_at_another_org_spends_its_own_limit(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let (attacker, victim) = (signup(&api).await, signup(&api).await);
    let key = api_key(&api, &attacker, &["documents:read"]).await;
    let nowhere = random_org();
    for i in 0..N + EXTRA {
        let org = if i % 2 == 0 {
            victim.org_id.as_str()
        } else {
            nowhere.as_str()
        };
        let r = get(&api, &format!("/v1/orgs/{org}/documents"), &key).await;
        if i < N {
            r.expect_problem(404, "not_found");
            assert_eq!(rate(&r).policy, "api_key", "request {i}");
        } else {
            assert_eq!(refused(&r).policy, "api_key", "request {i}");
        }
    }
    // The key's own organization sees it at its limit too: it is the same budget.
    let r = get(&api, &attacker.org_path("/documents"), &key).await;
    assert_eq!(refused(&r).policy, "api_key");
    // The victim is untouched.
    let r = get(&api, &victim.org_path("/documents"), &victim.token).await;
    r.expect_status(200);
    assert_eq!(rate(&r).remaining, i64::from(RPM) - 1);
    assert!(
        !object_stored(&w, &nowhere).await,
        "object stored for {nowhere}"
    );
    w.stop();
}
