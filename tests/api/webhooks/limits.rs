//! Plan limits on events: `quota.threshold_crossed` is announced once at 80 % and once at
//! 100 % of the documents quota, and the plan's `webhook_events_per_day` is exact: events
//! past it are still listed but reach no endpoint, and usage shows the count.

use super::kit::{self, endpoint, envelope, signup, wait, SETTLE};
use crate::documents::kit::{api_key, docs};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(
        thresholds_are_announced_once_and_the_daily_volume_is_exact
    )]
}

async fn thresholds_are_announced_once_and_the_daily_volume_is_exact(s: &Suite) {
    let limits = r#"{"free":{"requests_per_minute":100000,"documents_per_month":5,"webhook_events_per_day":8},"auth_per_minute":100000}"#;
    let worker = s
        .private_worker(WorkerOptions::new().var("PLAN_LIMITS", limits))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["*"]).await;
    for i in 1..=5 {
        kit::document(&by, org, &format!("Quota {i}")).await;
    }
    let r = by.post(&docs(org), &json!({"title": "Over quota"})).await;
    assert_eq!(r.status, 429, "{}", r.text());
    // 5 document.created + the 80 % and 100 % thresholds: 7 events, all delivered.
    let got = wait(&s.receiver, &e, 7).await;
    let mut thresholds: Vec<(u64, u64)> = got
        .iter()
        .map(envelope)
        .filter(|b| b["type"] == "quota.threshold_crossed")
        .map(|b| {
            let d = &b["data"];
            assert_eq!(d["quota"], "documents", "{b}");
            assert_eq!(d["limit"], 5, "{b}");
            assert!(d["period"].as_str().is_some_and(|p| p.len() == 7), "{b}");
            (
                d["threshold_percent"].as_u64().unwrap_or(0),
                d["used"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    thresholds.sort_unstable();
    assert_eq!(thresholds, [(80, 4), (100, 5)]);
    // Three more events: the 8th is the day's last delivered one.
    for _ in 0..3 {
        api_key(&by, org, &["documents:read"]).await;
    }
    wait(&s.receiver, &e, 8).await;
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &e).len(),
        8,
        "delivered past the daily volume"
    );
    let listed = kit::events(&by, org, "?limit=100").await;
    assert_eq!(
        listed.len(),
        10,
        "events past the volume are still recorded: {listed:?}"
    );
    let usage = by.get(&format!("/v1/orgs/{org}/usage")).await;
    assert_eq!(usage.status, 200, "{}", usage.text());
    let u = usage.json();
    assert_eq!(u["webhook_events"]["used"], 10, "{u}");
    assert_eq!(u["webhook_events"]["limit"], 8, "{u}");
}
