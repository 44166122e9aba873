//! The jobs-per-day quota: consumed before anything is queued, exact under concurrency, raised
//! by a plan change on the organization's next request, and reported by the usage endpoint.

use super::fixtures::{
    api_key, burst, create_job, get, jobs_per_day, roomy, signup, tally, usage, worker, Account,
};
use super::stripe::{event, next_month, subscription, Stripe, PRO};
use crate::support::{trial, Suite};
use edge_tests::{random, Api, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(the_quota_refuses_then_an_upgrade_raises_it),
        trial!(concurrent_creates_never_exceed_the_quota),
        trial!(jobs_can_be_read_back_and_keys_need_jobs_write),
    ]
}

/// A 202 job answer of `job_type`; returns its id.
fn accepted(r: &Reply, job_type: &str) -> String {
    r.expect_status(202);
    let job = r.json();
    assert_eq!(
        (&job["type"], &job["status"]),
        (&json!(job_type), &json!("queued")),
        "{job}"
    );
    let at = job["created_at"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok(),
        "created_at: {job}"
    );
    let id = job["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("job_") && id.len() >= 20, "id: {job}");
    id.to_owned()
}

/// A 429 naming the jobs quota with `limit` and `used`, to be retried when the day's quota
/// resets (the next midnight UTC).
fn over_quota(r: &Reply, limit: u64) {
    let p = r.expect_problem(429, "rate_limited");
    assert_eq!(
        (&p.body["quota"], &p.body["limit"], &p.body["used"]),
        (&json!("jobs"), &json!(limit), &json!(limit)),
        "{}",
        r.text()
    );
    let now = chrono::Utc::now();
    let midnight = now
        .date_naive()
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_else(|| unreachable!())
        .and_utc();
    let expected = (midnight - now).num_seconds();
    let retry_after: i64 = r
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on the quota's 429"))
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not delay-seconds"));
    assert!(
        (retry_after - expected).abs() <= 2,
        "Retry-After {retry_after}, the day's quota resets in {expected} s"
    );
}

/// The ids of the organization's jobs (one page of up to 100).
async fn job_ids(api: &Api, a: &Account, query: &str) -> Vec<String> {
    let r = get(
        api,
        &a.org_path(&format!("/jobs?limit=100{query}")),
        &a.token,
    )
    .await;
    r.expect_status(200);
    let page = r.json();
    assert!(page.get("next_cursor").is_some(), "{page}");
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {page}"))
        .iter()
        .map(|j| j["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

async fn the_quota_refuses_then_an_upgrade_raises_it(s: &Suite) {
    let w = worker(s, &jobs_per_day(2, 50)).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let a = signup(&api).await;
    let mut ids = Vec::new();
    for job_type in ["email", "ai.generate"] {
        ids.push(accepted(
            &create_job(&api, &a.org_id, &a.token, job_type).await,
            job_type,
        ));
    }
    over_quota(&create_job(&api, &a.org_id, &a.token, "email").await, 2);
    // Nothing was queued for the refused job.
    let mut listed = job_ids(&api, &a, "").await;
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids);

    let day = today();
    let u = usage(&api, &a).await;
    assert_eq!(u["plan"], "free", "{u}");
    assert_eq!(
        u["jobs"],
        json!({"used": 2, "limit": 2, "period": day}),
        "{u}"
    );
    assert_eq!(u["period"]["day"], day.as_str(), "{u}");
    assert_eq!(u["period"]["month"], &day[..7], "{u}");
    assert_eq!(u["requests"]["period"], &day[..7], "{u}");
    assert_eq!(u["requests"]["limit_per_minute"], 1000, "{u}");
    // 3 creates, the list and this call: every allowed organization request counts.
    assert_eq!(u["requests"]["used"], 5, "{u}");
    for key in ["documents", "storage_bytes", "room_connections"] {
        assert!(
            u[key]["used"].is_u64() && u[key]["limit"].is_u64(),
            "{key}: {u}"
        );
    }
    assert!(u["max_upload_bytes"].is_u64(), "{u}");

    let upgrade = event(
        "customer.subscription.updated",
        subscription(
            Some(&a.org_id),
            &format!("cus_{}", random::hex(8)),
            PRO,
            "active",
            next_month(),
        ),
    );
    stripe.deliver(&upgrade, true).await;
    // In effect on the very next request.
    accepted(
        &create_job(&api, &a.org_id, &a.token, "email").await,
        "email",
    );
    let u = usage(&api, &a).await;
    assert_eq!(u["plan"], "pro", "{u}");
    assert_eq!(
        u["jobs"],
        json!({"used": 3, "limit": 50, "period": day}),
        "{u}"
    );
    assert_eq!(u["requests"]["used"], 7, "{u}");
}

async fn concurrent_creates_never_exceed_the_quota(s: &Suite) {
    const QUOTA: u64 = 5;
    let w = worker(s, &jobs_per_day(QUOTA, 50)).await;
    let api = w.api();
    let a = signup(&api).await;
    let replies = burst(2 * QUOTA as usize, |_| {
        create_job(&api, &a.org_id, &a.token, "email")
    })
    .await;
    assert_eq!(tally(&replies), (QUOTA as usize, QUOTA as usize));
    let mut ids: Vec<String> = Vec::new();
    for r in &replies {
        if r.status == 202 {
            ids.push(accepted(r, "email"));
        } else {
            over_quota(r, QUOTA);
        }
    }
    let mut listed = job_ids(&api, &a, "").await;
    listed.sort();
    ids.sort();
    assert_eq!(listed, ids, "exactly the accepted jobs were queued");
    let u = usage(&api, &a).await;
    assert_eq!(u["jobs"]["used"], QUOTA, "{u}");
}

async fn jobs_can_be_read_back_and_keys_need_jobs_write(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let api = w.api();
    let a = signup(&api).await;
    let other = signup(&api).await;
    let reader = api_key(&api, &a, &["usage:read"]).await;
    let writer = api_key(&api, &a, &["jobs:write"]).await;

    create_job(&api, &a.org_id, &reader, "email")
        .await
        .expect_problem(403, "forbidden");
    let id = accepted(
        &create_job(&api, &a.org_id, &writer, "ai.generate").await,
        "ai.generate",
    );
    let path = a.org_path(&format!("/jobs/{id}"));
    let what = format!("job {id} to succeed");
    let job: Value = edge_tests::eventually(&what, Duration::from_secs(30), || async {
        let r = get(&api, &path, &a.token).await;
        r.expect_status(200);
        let job = r.json();
        (job["status"] == "succeeded").then_some(job)
    })
    .await;
    assert_eq!(
        (&job["id"], &job["type"]),
        (&json!(id), &json!("ai.generate"))
    );
    assert!(job.get("org_id").is_none(), "{job}");
    assert!(job["attempts"].is_u64(), "{job}");

    assert_eq!(
        job_ids(&api, &a, "&status=succeeded").await,
        vec![id.clone()]
    );
    assert!(job_ids(&api, &a, "&status=queued").await.is_empty());
    get(&api, &a.org_path("/jobs?status=done"), &a.token)
        .await
        .expect_problem(400, "validation_failed");
    // Another organization's job does not exist for this one.
    get(&api, &other.org_path(&format!("/jobs/{id}")), &other.token)
        .await
        .expect_problem(404, "not_found");
    // The key only spent the quota once (the refused create spent none).
    assert_eq!(usage(&api, &a).await["jobs"]["used"], 1);
}
