//! What the jobs tests share: callers, accounts made through the real signup, viewers joined
//! through real invitations, API keys, job creation and polling through the public API,
//! signature checks written independently of the worker, and the `jobs` room's events.

use crate::support::Suite;
use edge_tests::reqwest::RequestBuilder;
use edge_tests::{random, signature, Api, Method, Recorded, Reply, SendExt};
use serde_json::{json, Value};
use std::time::Duration;

/// How long a job may take to reach a final status.
pub const JOB_DEADLINE: Duration = Duration::from_secs(40);
/// After a final status, a further delivery would come quickly (the retry base is 0 s).
pub const SETTLE: Duration = Duration::from_secs(3);
const EMAIL_DEADLINE: Duration = Duration::from_secs(30);

/// Requests against a worker, with an `Authorization: Bearer` credential or none.
#[derive(Debug, Clone)]
pub struct Caller {
    pub api: Api,
    pub bearer: Option<String>,
}

impl Caller {
    pub fn new(api: &Api, bearer: &str) -> Caller {
        Caller {
            api: api.clone(),
            bearer: Some(bearer.to_owned()),
        }
    }

    pub fn anon(api: &Api) -> Caller {
        Caller {
            api: api.clone(),
            bearer: None,
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.api.request(method, path);
        match &self.bearer {
            Some(b) => req.bearer_auth(b),
            None => req,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path).reply().await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path).json(body).reply().await
    }
}

/// A user made through `POST /v1/auth/signup`, owner of the organization it created.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub org_id: String,
    pub access: String,
}

impl Account {
    pub fn on(&self, api: &Api) -> Caller {
        Caller::new(api, &self.access)
    }
}

/// A random client address, so the per-IP auth limits of one test never touch another's.
fn client_ip() -> String {
    let b = random::bytes(3);
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

pub async fn signup(api: &Api) -> Account {
    signup_as(api, &random::email()).await
}

pub async fn signup_as(api: &Api, email: &str) -> Account {
    let body = json!({
        "email": email,
        "password": format!("pw-{}-{}", random::hex(8), random::hex(4)),
        "name": format!("Job Tester {}", random::hex(3)),
        "org_name": format!("Jobs Org {}", random::hex(3)),
    });
    let r = api
        .post_json("/v1/auth/signup", &body)
        .header("CF-Connecting-IP", client_ip())
        .reply()
        .await;
    r.expect_status(201);
    let b = r.json();
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("signup answer lacks a string: {b}"))
            .to_owned()
    };
    Account {
        id: text(&b["user"]["id"]),
        org_id: text(&b["org"]["id"]),
        access: text(&b["access_token"]),
    }
}

/// A fresh account that joined `org` with `role` (invited by `by`, signed up, accepted).
pub async fn join(s: &Suite, by: &Caller, org: &str, role: &str) -> Account {
    let email = random::email();
    let r = by
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            &json!({"email": email, "role": role}),
        )
        .await;
    r.expect_status(201);
    let account = signup_as(&s.api, &email).await;
    let what = format!("the invitation email to {email}");
    let token = edge_tests::eventually(&what, EMAIL_DEADLINE, || async {
        s.origin
            .requests()
            .into_iter()
            .filter(|r| r.path == "/jobs/email")
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .find(|b| {
                b["payload"]["to"] == email.as_str() && b["payload"]["template"] == "invitation"
            })
            .and_then(|b| b["payload"]["token"].as_str().map(str::to_owned))
    })
    .await;
    let r = account
        .on(&s.api)
        .post("/v1/invitations/accept", &json!({"token": token}))
        .await;
    r.expect_status(200);
    account
}

/// `POST /v1/orgs/{org}/api-keys` (201 expected): `(key id, secret)`.
pub async fn api_key(by: &Caller, org: &str, scopes: &[&str]) -> (String, String) {
    let body = json!({"name": format!("jobs key {}", random::hex(3)), "scopes": scopes});
    let r = by.post(&format!("/v1/orgs/{org}/api-keys"), &body).await;
    r.expect_status(201);
    let b = r.json();
    (
        b["id"].as_str().expect("key id").to_owned(),
        b["key"].as_str().expect("key secret").to_owned(),
    )
}

pub fn jobs_path(org: &str) -> String {
    format!("/v1/orgs/{org}/jobs")
}

pub fn job_path(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/jobs/{id}")
}

/// A valid payload of `job_type` carrying `test_key` (the origin's script key). A
/// `webhook.deliver` goes to `${ORIGIN_URL}/hook/{key}` with a body the origin keys on.
pub fn payload(s: &Suite, job_type: &str, key: &str) -> Value {
    match job_type {
        "email" => json!({"test_key": key, "to": random::email(), "template": "plain"}),
        "file.process" => json!({"test_key": key, "file_id": format!("file_{}", random::hex(8))}),
        "ai.generate" => json!({"test_key": key, "prompt": "Summarise the quarter."}),
        "webhook.deliver" => json!({
            "url": format!("{}/hook/{key}", s.origin.url()),
            "body": {"payload": {"test_key": key}, "event": "thing.happened"},
        }),
        other => panic!("no payload for {other}"),
    }
}

/// `POST /v1/orgs/{org}/jobs` → 202; checks the answer's shape and `Location`, returns it.
pub async fn create(by: &Caller, org: &str, job_type: &str, payload: Value) -> Value {
    let r = by
        .post(
            &jobs_path(org),
            &json!({"type": job_type, "payload": payload}),
        )
        .await;
    assert_accepted(&r, org, job_type)
}

/// Checks a 202 job creation answer; returns its body.
pub fn assert_accepted(r: &Reply, org: &str, job_type: &str) -> Value {
    r.expect_status(202);
    let job = r.json();
    let id = job["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("job_") && id.len() >= 20, "job id: {job}");
    assert_eq!(job["type"], job_type, "{job}");
    assert_eq!(job["status"], "queued", "{job}");
    assert_rfc3339(&job, "created_at");
    assert_eq!(
        r.header("location"),
        Some(job_path(org, id).as_str()),
        "Location of {job}"
    );
    job
}

fn assert_rfc3339(v: &Value, key: &str) {
    let at = v[key].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok(),
        "{key} is not RFC 3339: {v}"
    );
}

/// `GET /v1/orgs/{org}/jobs/{id}` → 200; checks the job's shape.
pub async fn get_job(by: &Caller, org: &str, id: &str) -> Value {
    let r = by.get(&job_path(org, id)).await;
    r.expect_status(200);
    let job = r.json();
    for key in [
        "id",
        "type",
        "status",
        "attempts",
        "result",
        "error",
        "created_at",
        "updated_at",
    ] {
        assert!(job.get(key).is_some(), "job lacks `{key}`: {job}");
    }
    assert_eq!(job["id"], id, "{job}");
    assert!(job["attempts"].is_u64(), "attempts: {job}");
    assert_rfc3339(&job, "created_at");
    assert_rfc3339(&job, "updated_at");
    job
}

pub fn is_final(job: &Value) -> bool {
    ["succeeded", "failed", "dead"].contains(&job["status"].as_str().unwrap_or_default())
}

/// Polls the job until it is `succeeded`, `failed` or `dead`.
pub async fn wait_final(by: &Caller, org: &str, id: &str, deadline: Duration) -> Value {
    let what = format!("job {id} to reach a final status");
    edge_tests::eventually(&what, deadline, || async {
        let job = get_job(by, org, id).await;
        is_final(&job).then_some(job)
    })
    .await
}

/// The delivery's `X-Signature` is `t=…,v1=hex(HMAC-SHA256(ORIGIN_SECRET, "{t}.{body}"))`
/// with `t` within a minute of now.
pub fn assert_signed(secret: &str, d: &Recorded) {
    let header = d
        .header("x-signature")
        .unwrap_or_else(|| panic!("no X-Signature on {} {}", d.method, d.path));
    if let Err(e) = signature::verify(secret, header, &d.body, signature::unix_now(), 60) {
        panic!("bad X-Signature on {} {}: {e}", d.method, d.path);
    }
}

/// The server-side events of `org`'s room `room`, oldest first.
pub async fn room_events(api: &Api, org: &str, room: &str) -> Vec<Value> {
    let r = api
        .get(&format!("/__test/rooms/{org}/{room}/events"))
        .reply()
        .await;
    r.expect_status(200);
    match r.json() {
        Value::Array(items) => items,
        other => panic!("room events are not an array: {other}"),
    }
}
