//! What the origin can tell apart in the signed envelope: the edge's own jobs (`source:
//! "system"`) from tenants' (`source: "api"`). Tenants cannot queue emails with the platform's
//! templates, nor `file.process` for a file that is not their organization's.

use super::kit::{
    api_key, assert_signed, create, file_payload, jobs_path, join, signup, upload_file, wait_final,
    Caller, JOB_DEADLINE,
};
use crate::support::{trial, Suite};
use edge_tests::{process, project, random, signature, Method, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(system_email_templates_are_refused_and_tenant_ones_carry_source_api),
        trial!(the_edges_own_jobs_carry_source_system),
        trial!(file_process_must_name_a_file_of_the_org),
        trial!(the_demo_origin_accepts_the_edges_signatures_and_nothing_else),
    ]
}

async fn system_email_templates_are_refused_and_tenant_ones_carry_source_api(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let member = join(s, &by, org, "member").await;
    let (_, key) = api_key(&by, org, &["jobs:write"]).await;
    let victim = random::email();
    // The invitation `join` sent is the edge's own job of this org: the baseline.
    let ids = |list: Value| -> Vec<Value> {
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|j| j["id"].clone())
            .collect()
    };
    let before = ids(by.get(&jobs_path(org)).await.json());
    for caller in [member.on(&s.api), Caller::new(&s.api, &key), by.clone()] {
        for template in [
            "verify_email",
            "password_reset",
            "invitation",
            "Password_Reset",
            "verify-email",
            " invitation",
        ] {
            let body = json!({"type": "email", "payload": {
                "to": victim, "template": template, "token": "attacker-chosen", "user_id": owner.id,
            }});
            let r = caller.post(&jobs_path(org), &body).await;
            assert_eq!(r.status, 400, "{template}: {}", r.text());
            r.expect_problem(400, "validation_failed")
                .expect_field("payload.template");
        }
    }
    let after = ids(by.get(&jobs_path(org)).await.json());
    assert_eq!(after, before, "a refused email was stored");
    // Tenant templates still work, marked as the tenant's.
    let tag = random::unique("tenant-mail");
    let job = create(
        &member.on(&s.api),
        org,
        "email",
        json!({"test_key": tag, "to": victim, "template": "weekly_digest"}),
    )
    .await;
    let seen = s.origin.wait_for(&tag, 1, JOB_DEADLINE).await;
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), &seen[0]);
    assert_eq!(seen[0].json()["source"], "api", "{}", seen[0].json());
    let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(
        !s.origin.requests().iter().any(|r| r.path == "/jobs/email"
            && serde_json::from_slice::<Value>(&r.body)
                .is_ok_and(|b| b["payload"]["token"] == "attacker-chosen")),
        "a refused system-template email reached the origin"
    );
}

async fn the_edges_own_jobs_carry_source_system(s: &Suite) {
    // The verification email of a signup (no org) and the file.process after an upload.
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let what = "the verification email of the signup";
    let email = edge_tests::eventually(what, JOB_DEADLINE, || async {
        s.origin.requests().into_iter().find(|r| {
            r.path == "/jobs/email"
                && serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| {
                    b["payload"]["template"] == "verify_email"
                        && b["payload"]["user_id"] == owner.id.as_str()
                })
        })
    })
    .await;
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), &email);
    assert_eq!(email.json()["source"], "system");
    assert_eq!(
        email.header("x-org-id"),
        Some(""),
        "account-level: empty X-Org-Id"
    );
    assert!(email.json()["org_id"].is_null());
    let file = upload_file(&by, org).await;
    let what = "the file.process job of the upload";
    let process = edge_tests::eventually(what, JOB_DEADLINE, || async {
        s.origin.requests().into_iter().find(|r| {
            r.path == "/jobs/file.process"
                && serde_json::from_slice::<Value>(&r.body)
                    .is_ok_and(|b| b["payload"]["file_id"] == file.as_str())
        })
    })
    .await;
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), &process);
    assert_eq!(process.json()["source"], "system");
    assert_eq!(process.json()["org_id"], org.as_str());
}

async fn file_process_must_name_a_file_of_the_org(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let other = signup(&s.api).await;
    let theirs = upload_file(&other.on(&s.api), &other.org_id).await;
    let mine = upload_file(&by, org).await;
    let (_, key) = api_key(&by, org, &["jobs:write"]).await;
    for caller in [by.clone(), Caller::new(&s.api, &key)] {
        for payload in [
            json!({"file_id": theirs}),
            json!({"file_id": "fil_doesnotexist00000000"}),
            json!({"file_id": format!("file_{}", random::hex(8))}),
            json!({}),
        ] {
            let r = caller
                .post(
                    &jobs_path(org),
                    &json!({"type": "file.process", "payload": payload}),
                )
                .await;
            r.expect_problem(400, "validation_failed")
                .expect_field("payload.file_id");
        }
    }
    // Another org's file and no file get the same answer (no existence oracle).
    let a = by
        .post(
            &jobs_path(org),
            &json!({"type": "file.process", "payload": {"file_id": theirs}}),
        )
        .await
        .problem();
    let b = by
        .post(
            &jobs_path(org),
            &json!({"type": "file.process", "payload": {"file_id": "fil_doesnotexist00000000"}}),
        )
        .await
        .problem();
    assert_eq!(a.detail, b.detail);
    assert_eq!(a.errors, b.errors);
    let tag = random::unique("own-file");
    let job = create(&by, org, "file.process", file_payload(&tag, &mine)).await;
    let seen = s.origin.wait_for(&tag, 1, JOB_DEADLINE).await;
    assert_eq!(seen[0].json()["payload"]["file_id"], mine.as_str());
    assert_eq!(seen[0].json()["source"], "api");
    let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// `scripts/demo_origin.py` (Python's own hmac, written from the documented strings) as the
/// origin of a private worker: the edge's job deliveries and proxied calls pass (a 401 would
/// fail the job or come back through the proxy); a bare `{t}.{body}` signature, a Standard
/// Webhooks delivery and a signed delivery with a changed header are refused.
async fn the_demo_origin_accepts_the_edges_signatures_and_nothing_else(s: &Suite) {
    let port = edge_tests::ports::free_port();
    let secret = random::base64url(32);
    let script = project::root().join("scripts/demo_origin.py");
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(&script).arg(port.to_string()).arg(&secret);
    cmd.stdout(std::process::Stdio::null());
    let _demo = process::Group::spawn(cmd).expect("demo origin starts");
    let url = format!("http://127.0.0.1:{port}");
    edge_tests::eventually(
        "the demo origin to listen",
        Duration::from_secs(10),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
        },
    )
    .await;
    let worker = s
        .private_worker(
            WorkerOptions::new()
                .origin_at(&url)
                .var("ORIGIN_SECRET", &secret),
        )
        .await;
    let api = worker.api();
    let owner = super::kit::signup(&api).await;
    let by = Caller::new(&api, &owner.access);
    let org = &owner.org_id;
    for (job_type, payload) in [
        ("ai.generate", json!({"prompt": "hello"})),
        (
            "email",
            json!({"to": random::email(), "template": "digest"}),
        ),
    ] {
        let job = create(&by, org, job_type, payload).await;
        let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
        assert_eq!(
            done["status"], "succeeded",
            "the demo origin refused {job_type}: {done}"
        );
        assert_eq!(done["result"], json!({"received": true}), "{done}");
    }
    let (_, key) = api_key(&by, org, &["jobs:write"]).await;
    for caller in [by.clone(), Caller::new(&api, &key)] {
        let r = caller
            .request(
                Method::POST,
                &format!("/v1/orgs/{org}/origin/reports/run?x=1"),
            )
            .header("content-type", "application/json")
            .header("X-User-Role", "owner")
            .body("{\"a\":1}")
            .reply()
            .await;
        assert_eq!(
            r.status,
            200,
            "the demo origin refused a proxied call: {}",
            r.text()
        );
        let r = caller.get(&format!("/v1/orgs/{org}/origin/ping")).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // Forgeries sent straight to the demo origin.
    let client = edge_tests::reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let t = signature::unix_now();
    let body = json!({"id": "job_forged", "type": "email", "org_id": org, "attempt": 1,
                      "source": "system", "payload": {"template": "password_reset"}})
    .to_string();
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = client
            .post(format!("{url}/jobs/email"))
            .header("content-type", "application/json")
            .body(body.clone());
        for (n, v) in headers {
            req = req.header(n, v);
        }
        async move {
            req.send()
                .await
                .expect("demo origin answers")
                .status()
                .as_u16()
        }
    };
    let job_headers = |org: &str| {
        let m = signature::job_message(t, "job_forged", "email", org, "1", body.as_bytes());
        vec![
            ("x-job-id", "job_forged".to_owned()),
            ("x-job-type", "email".to_owned()),
            ("x-org-id", org.to_owned()),
            ("x-attempt", "1".to_owned()),
            (
                "x-signature",
                format!("t={t},v1={}", signature::hmac_hex(secret.as_bytes(), &m)),
            ),
        ]
    };
    assert_eq!(
        post(job_headers(org)).await,
        200,
        "the control: a correctly signed job"
    );
    let mut changed = job_headers(org);
    changed[2].1 = "org_other".into();
    assert_eq!(post(changed).await, 401, "a changed X-Org-Id");
    let bare = vec![("x-signature", signature::sign(&secret, t, body.as_bytes()))];
    assert_eq!(post(bare).await, 401, "the old {{t}}.{{body}} form");
    let webhook = vec![
        ("webhook-id", "job_forged".to_owned()),
        ("webhook-timestamp", t.to_string()),
        ("webhook-signature", "v1,AAAA".to_owned()),
    ];
    assert_eq!(post(webhook).await, 401, "a Standard Webhooks delivery");
    assert_eq!(post(Vec::new()).await, 401, "no signature");
}
