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

/// A valid payload of `job_type` carrying `test_key` (the origin's script key).
/// `file.process` needs a real file: use [`file_payload`]; `webhook.deliver` an endpoint and
/// an event (`webhook::endpoint_with_event`).
pub fn payload(_s: &Suite, job_type: &str, key: &str) -> Value {
    match job_type {
        "email" => json!({"test_key": key, "to": random::email(), "template": "plain"}),
        "ai.generate" => json!({"test_key": key, "prompt": "Summarise the quarter."}),
        other => panic!("no payload for {other}"),
    }
}

/// Uploads a small file to `org` (201 expected) and returns its id.
pub async fn upload_file(by: &Caller, org: &str) -> String {
    let path = format!("/v1/orgs/{org}/files?name=job-input-{}.bin", random::hex(4));
    let r = by
        .request(Method::POST, &path)
        .header("content-type", "application/octet-stream")
        .body(random::bytes(64))
        .reply()
        .await;
    r.expect_status(201);
    r.json()["id"].as_str().expect("file id").to_owned()
}

/// Uploads a file to `org` and returns a `file.process` payload naming it.
pub async fn file_job(by: &Caller, org: &str, key: &str) -> Value {
    file_payload(key, &upload_file(by, org).await)
}

/// A `file.process` payload naming `file_id`, carrying `test_key`.
pub fn file_payload(key: &str, file_id: &str) -> Value {
    json!({"test_key": key, "file_id": file_id})
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

/// A job delivery's `X-Signature` verifies (python-independent HMAC in `edge_tests::signature`)
/// over `edge-job.v1` with the delivery's `X-Job-Id`, `X-Job-Type`, `X-Org-Id` and `X-Attempt`,
/// `t` within a minute of now, and those headers equal the envelope's members.
pub fn assert_signed(secret: &str, d: &Recorded) {
    let header = d
        .header("x-signature")
        .unwrap_or_else(|| panic!("no X-Signature on {} {}", d.method, d.path));
    let h = |n: &str| d.header(n).unwrap_or_default().to_owned();
    let (id, ty, org, attempt) = (
        h("x-job-id"),
        h("x-job-type"),
        h("x-org-id"),
        h("x-attempt"),
    );
    let message = |t| signature::job_message(t, &id, &ty, &org, &attempt, &d.body);
    if let Err(e) = signature::verify_with(secret, header, message, signature::unix_now(), 60) {
        panic!("bad X-Signature on {} {}: {e}", d.method, d.path);
    }
    let body = d.json();
    assert_eq!(body["id"], id.as_str(), "X-Job-Id vs the envelope");
    assert_eq!(body["type"], ty.as_str(), "X-Job-Type vs the envelope");
    assert_eq!(
        body["org_id"].as_str().unwrap_or_default(),
        org,
        "X-Org-Id vs the envelope"
    );
    assert_eq!(
        body["attempt"].to_string(),
        attempt,
        "X-Attempt vs the envelope"
    );
    assert_eq!(
        d.path,
        format!("/jobs/{ty}"),
        "the path names the signed type"
    );
}

/// Whether the receiver's request verifies with PyPI's `standardwebhooks` (pinned in
/// requirements-tests.txt, installed by scripts/setup into .venv-tests/) under `secret`:
/// `Ok(())`, or the library's complaint.
pub fn standard_webhook_verifies(secret: &str, d: &Recorded) -> Result<(), String> {
    let python = edge_tests::project::root().join(".venv-tests/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let headers: serde_json::Map<String, Value> = d
        .headers
        .iter()
        .filter(|(n, _)| n.starts_with("webhook-"))
        .map(|(n, v)| (n.clone(), Value::from(v.as_str())))
        .collect();
    let script = "import json,sys\n\
from standardwebhooks.webhooks import Webhook\n\
secret, headers, body = sys.argv[1], json.loads(sys.argv[2]), sys.stdin.buffer.read()\n\
try:\n    Webhook(secret).verify(body, headers)\nexcept Exception as e:\n    print(type(e).__name__, e); sys.exit(3)\n";
    let mut child = std::process::Command::new(python)
        .args(["-c", script, secret, &Value::Object(headers).to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&d.body).expect("write body");
    }
    let out = child.wait_with_output().expect("python finishes");
    match out.status.code() {
        Some(0) => Ok(()),
        Some(3) => Err(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        _ => panic!(
            "the standardwebhooks check crashed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The delivery is a Standard Webhooks one that verifies under `secret`, carries no origin
/// signature and none of the job headers.
pub fn assert_webhook_signed(secret: &str, d: &Recorded) {
    if let Err(e) = standard_webhook_verifies(secret, d) {
        panic!("standardwebhooks refused {} {}: {e}", d.method, d.path);
    }
    for h in [
        "x-signature",
        "x-job-id",
        "x-job-type",
        "x-org-id",
        "x-attempt",
    ] {
        assert!(
            d.header(h).is_none(),
            "a webhook carried {h}: {:?}",
            d.headers
        );
    }
}
