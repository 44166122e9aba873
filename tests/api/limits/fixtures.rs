//! What the limit tests share: private workers with small limits, accounts made through the
//! real API (each from a random client address), members joined by invitation, API keys, and
//! bursts of concurrent requests.

use crate::support::Suite;
use edge_tests::{random, Api, Reply, SendExt, Worker, WorkerOptions};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::future::Future;
use std::time::Duration;

/// Requests per minute for the rate-limit tests (the free plan's).
pub const RPM: u32 = 5;

/// `PLAN_LIMITS` with `RPM` requests per minute for the free plan and generous auth limits, so
/// that setting up accounts never trips them.
pub fn tight_requests() -> String {
    format!(r#"{{"free":{{"requests_per_minute":{RPM}}},"auth_per_minute":1000}}"#)
}

/// `PLAN_LIMITS` with `n` attempts per minute at signup, login and password reset.
pub fn tight_auth(n: u32) -> String {
    format!(r#"{{"free":{{"requests_per_minute":1000}},"auth_per_minute":{n}}}"#)
}

/// `PLAN_LIMITS` with roomy request limits and `free_jobs` / `pro_jobs` jobs per day.
pub fn jobs_per_day(free_jobs: u64, pro_jobs: u64) -> String {
    format!(
        r#"{{"free":{{"requests_per_minute":1000,"jobs_per_day":{free_jobs}}},"pro":{{"requests_per_minute":1000,"jobs_per_day":{pro_jobs}}},"enterprise":{{"requests_per_minute":1000}},"auth_per_minute":1000}}"#
    )
}

/// A worker of the trial's own running with `plan_limits` as `PLAN_LIMITS`.
pub async fn worker(s: &Suite, plan_limits: &str) -> Worker {
    s.private_worker(WorkerOptions::new().var("PLAN_LIMITS", plan_limits))
        .await
}

/// A random client address (`CF-Connecting-IP`), so no two tests share an auth-limit bucket.
pub fn ip() -> String {
    let b = random::bytes(3);
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-up user and the organization signup made for them (they own it).
#[derive(Debug, Clone)]
pub struct Account {
    pub email: String,
    pub org_id: String,
    pub token: String,
}

impl Account {
    /// `/v1/orgs/{org}{rest}` of the account's own organization.
    pub fn org_path(&self, rest: &str) -> String {
        format!("/v1/orgs/{}{rest}", self.org_id)
    }
}

/// `POST /v1/auth/signup` from a fresh client address; asserts 201.
pub async fn signup(api: &Api) -> Account {
    let email = random::email();
    let body = json!({"email": email, "password": PASSWORD, "name": "Limit Tester",
                      "org_name": random::unique("limits-org")});
    let r = api
        .post_json("/v1/auth/signup", &body)
        .header("CF-Connecting-IP", ip())
        .reply()
        .await;
    r.expect_status(201);
    let v = r.json();
    let text = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("signup answer lacks {p}: {v}"))
            .to_owned()
    };
    Account {
        email,
        org_id: text("/org/id"),
        token: text("/access_token"),
    }
}

/// A new user who joined `owner`'s organization with `role` through an invitation (the token
/// comes from the invitation email the origin received). Their `org_id` is `owner`'s.
pub async fn join(s: &Suite, api: &Api, owner: &Account, role: &str) -> Account {
    let user = signup(api).await;
    let body = json!({"email": user.email, "role": role});
    let r = api
        .post_json(&owner.org_path("/invitations"), &body)
        .bearer_auth(&owner.token)
        .reply()
        .await;
    r.expect_status(201);
    let what = format!("the invitation email to {}", user.email);
    let token = edge_tests::eventually(&what, Duration::from_secs(30), || async {
        s.origin.requests().iter().rev().find_map(|r| {
            let v: Value = serde_json::from_slice(&r.body).ok()?;
            let p = &v["payload"];
            (p["template"] == "invitation" && p["to"] == user.email.as_str())
                .then(|| p["token"].as_str().map(str::to_owned))
                .flatten()
        })
    })
    .await;
    let r = api
        .post_json("/v1/invitations/accept", &json!({"token": token}))
        .bearer_auth(&user.token)
        .reply()
        .await;
    r.expect_status(200);
    Account {
        org_id: owner.org_id.clone(),
        ..user
    }
}

/// A new API key of `owner`'s organization with `scopes`; returns the secret.
pub async fn api_key(api: &Api, owner: &Account, scopes: &[&str]) -> String {
    let body = json!({"name": random::unique("key"), "scopes": scopes});
    let r = api
        .post_json(&owner.org_path("/api-keys"), &body)
        .bearer_auth(&owner.token)
        .reply()
        .await;
    r.expect_status(201);
    r.json()["key"]
        .as_str()
        .unwrap_or_else(|| panic!("no key in {}", r.text()))
        .to_owned()
}

/// `n` requests made by `make` sent at once; the answers in the order they were made.
pub async fn burst<F, Fut>(n: usize, make: F) -> Vec<Reply>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Reply>,
{
    join_all((0..n).map(make)).await
}

/// How many answers have a 2xx status and how many are 429.
pub fn tally(replies: &[Reply]) -> (usize, usize) {
    let ok = replies
        .iter()
        .filter(|r| (200..300).contains(&r.status))
        .count();
    let limited = replies.iter().filter(|r| r.status == 429).count();
    let other: Vec<String> = replies
        .iter()
        .filter(|r| !(200..300).contains(&r.status) && r.status != 429)
        .map(|r| format!("{} {}", r.status, r.text()))
        .collect();
    assert!(other.is_empty(), "answers neither 2xx nor 429: {other:?}");
    (ok, limited)
}

/// `GET` `path` with `token`.
pub async fn get(api: &Api, path: &str, token: &str) -> Reply {
    api.get(path).bearer_auth(token).reply().await
}

/// `POST /v1/orgs/{org}/jobs` of `job_type` (`email` or `ai.generate`) with a valid payload of
/// that type (`file.process` needs a file of the org, so it is not offered here).
pub async fn create_job(api: &Api, org_id: &str, token: &str, job_type: &str) -> Reply {
    let mut payload = match job_type {
        "email" => json!({"to": random::email(), "template": "limits-test"}),
        "ai.generate" => json!({"prompt": "Say hello."}),
        other => panic!("no payload for job type {other}"),
    };
    payload["test_key"] = json!(random::unique("limits-job"));
    let body = json!({"type": job_type, "payload": payload});
    api.post_json(&format!("/v1/orgs/{org_id}/jobs"), &body)
        .bearer_auth(token)
        .reply()
        .await
}

/// `GET /v1/orgs/{org}/usage` by `token`; asserts 200.
pub async fn usage(api: &Api, account: &Account) -> Value {
    let r = get(api, &account.org_path("/usage"), &account.token).await;
    r.expect_status(200);
    r.json()
}

/// The answers at even and at odd positions (two interleaved bursts).
pub fn interleaved(replies: Vec<Reply>) -> (Vec<Reply>, Vec<Reply>) {
    let (mut even, mut odd) = (Vec::new(), Vec::new());
    for (i, r) in replies.into_iter().enumerate() {
        if i % 2 == 0 {
            even.push(r);
        } else {
            odd.push(r);
        }
    }
    (even, odd)
}

/// `PLAN_LIMITS` with limits no test here reaches.
pub fn roomy() -> String {
    jobs_per_day(1000, 10_000)
}
