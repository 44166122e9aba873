//! `webhook.deliver`: delivered by the edge itself to `payload.url` — the customer's receiver,
//! never the origin — signed per the Standard Webhooks spec with the organization's own secret
//! (verified with PyPI's `standardwebhooks`), never with `ORIGIN_SECRET`. Private, loopback,
//! link-local, non-HTTP and origin destinations are refused at creation; a redirect to a
//! blocked destination or to the origin fails the job without being followed.

use super::kit::{
    api_key, assert_webhook_signed, create, jobs_path, join, signup, standard_webhook_verifies,
    wait_final, webhook_secret, Caller, JOB_DEADLINE, SETTLE,
};
use crate::support::{trial, Suite};
use edge_tests::{random, signature, Answer};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(private_and_non_http_destinations_are_refused),
        trial!(a_member_cannot_aim_a_webhook_at_the_origin),
        trial!(a_webhook_is_signed_per_standard_webhooks_and_succeeds),
        trial!(a_forged_job_envelope_as_webhook_body_gets_no_origin_signature),
        trial!(without_a_body_member_the_whole_payload_is_delivered),
        trial!(a_redirect_to_a_blocked_destination_fails_unfollowed),
        trial!(a_redirect_to_localhost_is_not_followed),
        trial!(a_redirect_to_the_origin_is_not_followed),
        trial!(a_redirect_within_the_receiver_is_followed),
    ]
}

async fn refused(by: &Caller, org: &str, url: &str) {
    let body = json!({"type": "webhook.deliver", "payload": {"url": url, "body": {"x": 1}}});
    let r = by.post(&jobs_path(org), &body).await;
    assert_eq!(r.status, 400, "{url} was not refused: {}", r.text());
    r.expect_problem(400, "validation_failed")
        .expect_field("payload.url");
}

async fn private_and_non_http_destinations_are_refused(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let port = s.receiver.url().rsplit(':').next().unwrap().to_owned();
    let refused_urls = [
        "http://127.0.0.1/hook".to_owned(),
        "http://127.0.0.1:8080/hook".to_owned(),
        "http://[::1]/hook".to_owned(),
        "http://[::1]:8080/".to_owned(),
        "http://10.0.0.1".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://169.254.169.254".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "file:///etc/passwd".to_owned(),
        "http://2130706433/".to_owned(),
        "http://0x7f.0.0.1/".to_owned(),
        "http://localhost".to_owned(),
        "http://localhost/hook".to_owned(),
        format!("http://localhost:{port}/hook"),
        format!("http://127.0.0.2:{port}/hook"),
        "http://192.168.1.1/".to_owned(),
        "http://172.16.0.1/".to_owned(),
        "http://[::ffff:127.0.0.1]/".to_owned(),
        "http://metadata.google.internal/".to_owned(),
        "gopher://example.com/".to_owned(),
        "ftp://example.com/x".to_owned(),
        "http://user@example.com/".to_owned(),
        format!("http://user@127.0.0.1:{port}/hook"),
    ];
    for url in &refused_urls {
        refused(&by, &owner.org_id, url).await;
    }
    let list = by.get(&jobs_path(&owner.org_id)).await.json();
    assert_eq!(
        list["items"],
        json!([]),
        "a refused webhook was stored: {list}"
    );
    // A public destination is accepted at creation (its delivery is not awaited).
    let body =
        json!({"type": "webhook.deliver", "payload": {"url": "https://hooks.example.com/x"}});
    by.post(&jobs_path(&owner.org_id), &body)
        .await
        .expect_status(202);
}

async fn a_member_cannot_aim_a_webhook_at_the_origin(s: &Suite) {
    let owner = signup(&s.api).await;
    let member = join(s, &owner.on(&s.api), &owner.org_id, "member").await;
    let by = member.on(&s.api);
    let (_, key) = api_key(&owner.on(&s.api), &owner.org_id, &["jobs:write"]).await;
    let origin = s.origin.url();
    let port = origin.rsplit(':').next().unwrap().to_owned();
    let tag = random::unique("at-origin");
    let urls = [
        format!("{origin}/jobs/email"),
        format!("{origin}/jobs/file.process?{tag}"),
        format!("{origin}/hook/{tag}"),
        format!("https://127.0.0.1:{port}/jobs/email"),
        format!("http://2130706433:{port}/jobs/email"),
        format!("http://0x7f.0.0.1:{port}/jobs/email"),
        format!("http://127.1:{port}/jobs/email"),
        format!("HTTP://127.0.0.1:{port}/jobs/email#{tag}"),
    ];
    for caller in [by.clone(), Caller::new(&s.api, &key)] {
        for url in &urls {
            refused(&caller, &owner.org_id, url).await;
        }
    }
    tokio::time::sleep(SETTLE).await;
    let list = by.get(&jobs_path(&owner.org_id)).await.json();
    let webhooks: Vec<&Value> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|j| j["type"] == "webhook.deliver")
        .collect();
    assert!(
        webhooks.is_empty(),
        "a webhook at the origin was stored: {list}"
    );
    assert!(
        !s.origin
            .requests()
            .iter()
            .any(|r| r.query.as_deref().is_some_and(|q| q.contains(&tag)) || r.path.contains(&tag)),
        "the origin was reached"
    );
}

async fn a_webhook_is_signed_per_standard_webhooks_and_succeeds(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let secret = webhook_secret(&by, org).await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    let key = random::unique("hook-ok");
    s.receiver
        .script(&key, vec![Answer::Json(200, json!({"received": key}))]);
    let hook_body = json!({"payload": {"test_key": key}, "event": "invoice.paid", "n": [1, 2]});
    let url = format!("{}/hook/{key}?via=edge", s.receiver.url());
    let job = create(
        &by,
        org,
        "webhook.deliver",
        json!({"url": url, "body": hook_body}),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let seen = s.receiver.wait_for(&key, 1, JOB_DEADLINE).await;
    let d = &seen[0];
    assert_eq!(d.method, "POST");
    assert_eq!(d.path, format!("/hook/{key}"));
    assert_eq!(d.query.as_deref(), Some("via=edge"));
    assert_eq!(d.json(), hook_body, "the webhook body is payload.body");
    assert_eq!(d.header("webhook-id"), Some(id), "webhook-id is the job id");
    assert_webhook_signed(&secret, d);
    // Another organization's secret does not verify it.
    let other = signup(&s.api).await;
    let theirs = webhook_secret(&other.on(&s.api), &other.org_id).await;
    assert_ne!(theirs, secret);
    assert!(standard_webhook_verifies(&theirs, d).is_err());
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["result"], json!({"received": key}), "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.receiver.requests_for(&key).len(),
        1,
        "delivered more than once"
    );
    assert!(
        s.origin.requests_for(&key).is_empty(),
        "the origin got the webhook"
    );
}

async fn a_forged_job_envelope_as_webhook_body_gets_no_origin_signature(s: &Suite) {
    let attacker = signup(&s.api).await;
    let victim = signup(&s.api).await;
    let by = attacker.on(&s.api);
    let key = random::unique("hook-forge");
    let forged = json!({
        "id": format!("job_{}", random::hex(10)), "type": "email", "org_id": victim.org_id,
        "attempt": 1, "source": "system",
        "payload": {"test_key": key, "template": "password_reset", "to": "victim@example.com"},
    });
    let url = format!("{}/jobs/email", s.receiver.url());
    let job = create(
        &by,
        &attacker.org_id,
        "webhook.deliver",
        json!({"url": url, "body": forged}),
    )
    .await;
    let seen = s.receiver.wait_for(&key, 1, JOB_DEADLINE).await;
    let d = &seen[0];
    assert_eq!(d.json(), forged);
    let origin_secret = s.worker.env_value("ORIGIN_SECRET");
    assert!(
        d.header("x-signature").is_none(),
        "an origin signature: {:?}",
        d.headers
    );
    // Nothing the delivery carries is an origin signature under any of the edge's formats,
    // whatever the verifier takes as `t`.
    let t: i64 = d
        .header("webhook-timestamp")
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let old = signature::sign(origin_secret, t, &d.body);
    let job_sig = signature::hmac_hex(
        origin_secret.as_bytes(),
        &signature::job_message(
            t,
            forged["id"].as_str().unwrap(),
            "email",
            &victim.org_id,
            "1",
            &d.body,
        ),
    );
    for (name, value) in &d.headers {
        let v1 = old.rsplit("v1=").next().unwrap();
        assert!(
            !value.contains(v1) && !value.contains(&job_sig),
            "{name} holds an origin MAC"
        );
    }
    let wh = d.header("webhook-signature").unwrap_or_default();
    for sig in wh.split(' ') {
        let raw = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            sig.trim_start_matches("v1,"),
        )
        .unwrap_or_default();
        let hex = hex::encode(raw);
        assert_ne!(
            hex,
            old.rsplit("v1=").next().unwrap(),
            "re-encoded origin MAC"
        );
        assert_ne!(hex, job_sig, "re-encoded origin MAC");
    }
    let done = wait_final(
        &by,
        &attacker.org_id,
        job["id"].as_str().unwrap(),
        JOB_DEADLINE,
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(
        s.origin.requests_for(&key).is_empty(),
        "the forged envelope reached the origin"
    );
}

async fn without_a_body_member_the_whole_payload_is_delivered(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("hook-whole");
    let path = format!("/hook/{key}");
    let payload = json!({"url": format!("{}{path}", s.receiver.url()), "event": "x", "n": 1});
    let job = create(&by, org, "webhook.deliver", payload.clone()).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let seen: Vec<_> = s
        .receiver
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(seen.len(), 1, "one delivery to {path}");
    assert_eq!(seen[0].json(), payload, "the whole payload is the body");
    assert_webhook_signed(&webhook_secret(&by, org).await, &seen[0]);
}

/// A webhook to the receiver's `/hook/{key}` whose answers are `answers`; returns the final
/// job.
pub(super) async fn webhook_redirected(s: &Suite, key: &str, answers: Vec<Answer>) -> Value {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    s.receiver.script(key, answers);
    let url = format!("{}/hook/{key}", s.receiver.url());
    let body = json!({"payload": {"test_key": key}});
    let job = create(
        &by,
        org,
        "webhook.deliver",
        json!({"url": url, "body": body}),
    )
    .await;
    let done = wait_final(&by, org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    tokio::time::sleep(SETTLE).await;
    done
}

pub(super) fn assert_blocked(done: &Value) {
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(error.contains("blocked destination"), "error: {done}");
}

async fn a_redirect_to_a_blocked_destination_fails_unfollowed(s: &Suite) {
    let key = random::unique("hook-meta");
    let done = webhook_redirected(
        s,
        &key,
        vec![Answer::redirect(302, "http://169.254.169.254/latest")],
    )
    .await;
    assert_blocked(&done);
    assert_eq!(s.receiver.requests_for(&key).len(), 1, "only the first hop");
    assert!(!s.receiver.requests().iter().any(|r| r.path == "/latest"));
}

async fn a_redirect_to_localhost_is_not_followed(s: &Suite) {
    // `localhost` on the receiver's own port is the same server under a blocked name: were the
    // redirect followed, the receiver would see `/stolen/{key}`.
    let key = random::unique("hook-local");
    let port = s.receiver.url().rsplit(':').next().unwrap().to_owned();
    let target = format!("http://localhost:{port}/stolen/{key}");
    let done = webhook_redirected(s, &key, vec![Answer::redirect(307, &target)]).await;
    assert_blocked(&done);
    assert!(
        !s.receiver
            .requests()
            .iter()
            .any(|r| r.path == format!("/stolen/{key}")),
        "the redirect to localhost was followed"
    );
    assert_eq!(s.receiver.requests_for(&key).len(), 1);
}

async fn a_redirect_to_the_origin_is_not_followed(s: &Suite) {
    let key = random::unique("hook-to-origin");
    let target = format!("{}/jobs/email?test_key={key}", s.origin.url());
    let done = webhook_redirected(s, &key, vec![Answer::redirect(307, &target)]).await;
    assert_blocked(&done);
    assert!(
        done["error"]
            .as_str()
            .unwrap_or_default()
            .contains("ORIGIN_URL"),
        "{done}"
    );
    assert!(
        s.origin.requests_for(&key).is_empty(),
        "the redirect reached the origin"
    );
}

async fn a_redirect_within_the_receiver_is_followed(s: &Suite) {
    let key = random::unique("hook-hop");
    let next = format!("{}/hook-moved/{key}", s.receiver.url());
    let done = webhook_redirected(
        s,
        &key,
        vec![
            Answer::redirect(302, &next),
            Answer::Json(200, json!({"moved": true})),
        ],
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], json!({"moved": true}), "{done}");
    let seen = s.receiver.requests_for(&key);
    let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [format!("/hook/{key}"), format!("/hook-moved/{key}")],
        "the checked hop was followed once"
    );
    assert!(seen[1].header("webhook-signature").is_some());
    assert!(seen[1].header("x-signature").is_none());
}
