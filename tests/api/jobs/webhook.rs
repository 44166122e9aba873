//! `webhook.deliver` jobs and the outbound safety of every customer webhook. The job sends one
//! stored event to one of the organization's endpoints now, signed per the Standard Webhooks
//! spec with that endpoint's secret (verified with PyPI's `standardwebhooks`): the caller
//! names neither a URL nor bytes to sign, so no tenant can obtain a signature over its own
//! body, and another organization's endpoint or event is refused like a missing one. Endpoint
//! URLs on private, loopback, link-local, non-HTTP or origin destinations are refused at
//! creation; a redirect to a blocked destination or to the origin fails the delivery without
//! being followed.

use super::kit::{
    api_key, assert_webhook_signed, create, jobs_path, join, signup, standard_webhook_verifies,
    wait_final, Caller, JOB_DEADLINE, SETTLE,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(private_and_non_http_destinations_are_refused),
        trial!(no_admin_can_aim_an_endpoint_at_the_origin),
        trial!(a_webhook_deliver_job_sends_the_stored_event_signed_with_the_endpoint_secret),
        trial!(a_webhook_deliver_job_names_no_url_no_body_and_only_its_orgs_deliveries),
        trial!(a_redirect_to_a_blocked_destination_fails_unfollowed),
        trial!(a_redirect_to_localhost_is_not_followed),
        trial!(a_redirect_to_the_origin_is_not_followed),
        trial!(a_redirect_within_the_receiver_is_followed),
    ]
}

pub(super) fn hooks_path(org: &str) -> String {
    format!("/v1/orgs/{org}/webhooks")
}

/// `POST …/webhooks` aimed at `url` is 400 on `url`.
pub(super) async fn refused(by: &Caller, org: &str, url: &str) {
    let body = json!({"url": url, "event_types": ["*"]});
    let r = by.post(&hooks_path(org), &body).await;
    assert_eq!(r.status, 400, "{url} was not refused: {}", r.text());
    r.expect_problem(400, "validation_failed")
        .expect_field("url");
}

/// The endpoints of `org` (as its owner sees them).
async fn endpoints(by: &Caller, org: &str) -> Value {
    let r = by.get(&hooks_path(org)).await;
    r.expect_status(200);
    r.json()["items"].clone()
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
    assert_eq!(
        endpoints(&by, &owner.org_id).await,
        json!([]),
        "a refused endpoint was stored"
    );
    // The positive control: a public destination is accepted with the same request shape.
    let body = json!({"url": "https://hooks.example.com/x", "event_types": ["webhook.test"]});
    by.post(&hooks_path(&owner.org_id), &body)
        .await
        .expect_status(201);
}

async fn no_admin_can_aim_an_endpoint_at_the_origin(s: &Suite) {
    let owner = signup(&s.api).await;
    let admin = join(s, &owner.on(&s.api), &owner.org_id, "admin").await;
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
    for caller in [owner.on(&s.api), admin.on(&s.api)] {
        for url in &urls {
            refused(&caller, &owner.org_id, url).await;
        }
    }
    // An API key cannot manage endpoints at all.
    let (_, key) = api_key(&owner.on(&s.api), &owner.org_id, &["jobs:write"]).await;
    let body = json!({"url": urls[0], "event_types": ["*"]});
    Caller::new(&s.api, &key)
        .post(&hooks_path(&owner.org_id), &body)
        .await
        .expect_problem(403, "forbidden");
    assert_eq!(endpoints(&owner.on(&s.api), &owner.org_id).await, json!([]));
    tokio::time::sleep(SETTLE).await;
    assert!(
        !s.origin
            .requests()
            .iter()
            .any(|r| r.query.as_deref().is_some_and(|q| q.contains(&tag)) || r.path.contains(&tag)),
        "the origin was reached"
    );
}

/// An endpoint of a fresh organization at the receiver's `/hook/{key}` (script key `key`),
/// and its `webhook.test` event, already delivered once (answered by `answers[0]`): `(caller,
/// org, endpoint id, endpoint secret, event id)`.
pub(super) async fn endpoint_with_event(
    s: &Suite,
    key: &str,
    answers: Vec<Answer>,
) -> (Caller, String, String, String, String) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    s.receiver.script(key, answers);
    let url = format!("{}/hook/{key}?test_key={key}", s.receiver.url());
    // Subscribed to nothing that happens here: only the test event reaches it.
    let r = by
        .post(
            &hooks_path(&org),
            &json!({"url": url, "event_types": ["document.restored"]}),
        )
        .await;
    r.expect_status(201);
    let e = r.json();
    let (id, secret) = (
        e["id"].as_str().expect("id").to_owned(),
        e["secret"].as_str().expect("secret").to_owned(),
    );
    let r = by
        .post(&format!("{}/{id}/test", hooks_path(&org)), &json!({}))
        .await;
    r.expect_status(202);
    let event = r.json()["event_id"].as_str().expect("event id").to_owned();
    s.receiver.wait_for(key, 1, JOB_DEADLINE).await;
    (by, org, id, secret, event)
}

async fn a_webhook_deliver_job_sends_the_stored_event_signed_with_the_endpoint_secret(s: &Suite) {
    let key = random::unique("hook-ok");
    let answers = vec![
        Answer::Json(200, json!({"first": true})),
        Answer::Json(200, json!({"received": key})),
    ];
    let (by, org, endpoint, secret, event) = endpoint_with_event(s, &key, answers).await;
    let job = create(
        &by,
        &org,
        "webhook.deliver",
        json!({"endpoint_id": endpoint, "event_id": event}),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let seen = s.receiver.wait_for(&key, 2, JOB_DEADLINE).await;
    let (first, d) = (&seen[0], &seen[1]);
    assert_eq!(d.method, "POST");
    assert_eq!(d.path, format!("/hook/{key}"));
    assert_eq!(d.body, first.body, "the job sends the stored event's bytes");
    assert_eq!(d.json()["type"], "webhook.test", "{:?}", d.json());
    assert_eq!(
        d.header("webhook-id"),
        Some(event.as_str()),
        "webhook-id is the event id"
    );
    assert_webhook_signed(&secret, d);
    // Another endpoint's secret does not verify it.
    let other_key = random::unique("hook-other");
    let (_, _, _, theirs, _) = endpoint_with_event(s, &other_key, vec![Answer::Status(200)]).await;
    assert_ne!(theirs, secret);
    assert!(standard_webhook_verifies(&theirs, d).is_err());
    let done = wait_final(&by, &org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["result"], json!({"received": key}), "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.receiver.requests_for(&key).len(),
        2,
        "delivered more than once"
    );
    assert!(
        s.origin.requests_for(&key).is_empty(),
        "the origin got the webhook"
    );
}

async fn a_webhook_deliver_job_names_no_url_no_body_and_only_its_orgs_deliveries(s: &Suite) {
    let key = random::unique("hook-rules");
    let (by, org, endpoint, _, event) =
        endpoint_with_event(s, &key, vec![Answer::Status(200)]).await;
    let other_key = random::unique("hook-rules-other");
    let (_, other_org, their_endpoint, _, their_event) =
        endpoint_with_event(s, &other_key, vec![Answer::Status(200)]).await;
    assert_ne!(org, other_org);
    let receiver = format!("{}/hook/{key}", s.receiver.url());
    let whole = |field: &str, payload: Value| (payload, field.to_owned());
    let cases = [
        whole("payload", json!({})),
        whole("payload", json!({"url": receiver})),
        whole(
            "payload",
            json!({"url": receiver, "body": {"forged": true}}),
        ),
        whole(
            "payload",
            json!({"endpoint_id": endpoint, "event_id": event, "body": {"forged": true}}),
        ),
        whole("payload", json!({"endpoint_id": 5, "event_id": event})),
        whole(
            "payload.event_id",
            json!({"endpoint_id": endpoint, "event_id": "evt_nope"}),
        ),
        whole(
            "payload.event_id",
            json!({"endpoint_id": "whe_nope", "event_id": event}),
        ),
        // Another organization's endpoint, event, or both: refused like missing ones.
        whole(
            "payload.event_id",
            json!({"endpoint_id": their_endpoint, "event_id": event}),
        ),
        whole(
            "payload.event_id",
            json!({"endpoint_id": endpoint, "event_id": their_event}),
        ),
        whole(
            "payload.event_id",
            json!({"endpoint_id": their_endpoint, "event_id": their_event}),
        ),
    ];
    for (payload, field) in cases {
        let body = json!({"type": "webhook.deliver", "payload": payload});
        let r = by.post(&jobs_path(&org), &body).await;
        assert_eq!(r.status, 400, "{payload} was not refused: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field(&field);
    }
    let list = by.get(&jobs_path(&org)).await.json();
    assert_eq!(list["items"], json!([]), "a refused job was stored: {list}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.receiver.requests_for(&key).len(),
        1,
        "only the test event"
    );
    assert_eq!(
        s.receiver.requests_for(&other_key).len(),
        1,
        "only their test event"
    );
}

/// A `webhook.deliver` job to an endpoint at the receiver's `/hook/{key}` whose answers, after
/// the test event's 200, are `answers`; returns the final job.
pub(super) async fn webhook_redirected(s: &Suite, key: &str, answers: Vec<Answer>) -> Value {
    let mut script = vec![Answer::Status(200)];
    script.extend(answers);
    let (by, org, endpoint, _, event) = endpoint_with_event(s, key, script).await;
    let job = create(
        &by,
        &org,
        "webhook.deliver",
        json!({"endpoint_id": endpoint, "event_id": event}),
    )
    .await;
    let done = wait_final(&by, &org, job["id"].as_str().unwrap(), JOB_DEADLINE).await;
    tokio::time::sleep(SETTLE).await;
    done
}

/// Requests the receiver got for `key` from the job (the first one was the test event's).
pub(super) fn job_requests(s: &Suite, key: &str) -> usize {
    s.receiver.requests_for(key).len().saturating_sub(1)
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
    assert_eq!(job_requests(s, &key), 1, "only the first hop");
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
    assert_eq!(job_requests(s, &key), 1);
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
    let next = format!("{}/hook-moved/{key}?test_key={key}", s.receiver.url());
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
        [
            format!("/hook/{key}"),
            format!("/hook/{key}"),
            format!("/hook-moved/{key}")
        ],
        "the test event, then the job's checked hop followed once"
    );
    assert!(seen[2].header("webhook-signature").is_some());
    assert!(seen[2].header("x-signature").is_none());
}
