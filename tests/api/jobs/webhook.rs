//! `webhook.deliver`: delivered by the edge itself to `payload.url`, signed over the delivered
//! body; private, loopback, link-local and non-HTTP destinations are refused at creation; a
//! redirect to a blocked destination fails the job without being followed.

use super::kit::{assert_signed, create, jobs_path, signup, wait_final, JOB_DEADLINE, SETTLE};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(private_and_non_http_destinations_are_refused),
        trial!(a_webhook_to_the_origin_is_signed_and_succeeds),
        trial!(without_a_body_member_the_whole_payload_is_delivered),
        trial!(a_redirect_to_a_blocked_destination_fails_unfollowed),
        trial!(a_redirect_to_localhost_is_not_followed),
        trial!(a_redirect_within_the_origin_is_followed),
    ]
}

async fn private_and_non_http_destinations_are_refused(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let port = s.origin.url().rsplit(':').next().unwrap().to_owned();
    let refused = [
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
    ];
    for url in &refused {
        let body = json!({"type": "webhook.deliver", "payload": {"url": url}});
        let r = by.post(&jobs_path(&owner.org_id), &body).await;
        assert_eq!(r.status, 400, "{url} was not refused: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field("payload.url");
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
    let r = by.post(&jobs_path(&owner.org_id), &body).await;
    r.expect_status(202);
}

async fn a_webhook_to_the_origin_is_signed_and_succeeds(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("hook-ok");
    s.origin
        .script(&key, vec![Answer::Json(200, json!({"received": key}))]);
    let hook_body = json!({"payload": {"test_key": key}, "event": "invoice.paid", "n": [1, 2]});
    let url = format!("{}/hook/{key}?via=edge", s.origin.url());
    let job = create(
        &by,
        org,
        "webhook.deliver",
        json!({"url": url, "body": hook_body}),
    )
    .await;
    let id = job["id"].as_str().unwrap();
    let seen = s.origin.wait_for(&key, 1, JOB_DEADLINE).await;
    let d = &seen[0];
    assert_eq!(d.method, "POST");
    assert_eq!(d.path, format!("/hook/{key}"));
    assert_eq!(d.query.as_deref(), Some("via=edge"));
    assert_eq!(d.json(), hook_body, "the webhook body is payload.body");
    assert_eq!(d.header("x-job-id"), Some(id));
    assert_eq!(d.header("x-org-id"), Some(org.as_str()));
    assert_eq!(d.header("x-attempt"), Some("1"));
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), d);
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    assert_eq!(done["result"], json!({"received": key}), "{done}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        s.origin.requests_for(&key).len(),
        1,
        "delivered more than once"
    );
}

async fn without_a_body_member_the_whole_payload_is_delivered(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let key = random::unique("hook-whole");
    let path = format!("/hook/{key}");
    let payload = json!({"url": format!("{}{path}", s.origin.url()), "event": "x", "n": 1});
    let job = create(&by, org, "webhook.deliver", payload.clone()).await;
    let id = job["id"].as_str().unwrap();
    let done = wait_final(&by, org, id, JOB_DEADLINE).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let seen: Vec<_> = s
        .origin
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect();
    assert_eq!(seen.len(), 1, "one delivery to {path}");
    assert_eq!(seen[0].json(), payload, "the whole payload is the body");
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), &seen[0]);
}

/// A webhook to `${ORIGIN_URL}/hook/{key}` whose first answer is `redirect`; returns the final
/// job.
async fn webhook_redirected(s: &Suite, key: &str, answers: Vec<Answer>) -> serde_json::Value {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    s.origin.script(key, answers);
    let url = format!("{}/hook/{key}", s.origin.url());
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

async fn a_redirect_to_a_blocked_destination_fails_unfollowed(s: &Suite) {
    let key = random::unique("hook-meta");
    let done = webhook_redirected(
        s,
        &key,
        vec![Answer::redirect(302, "http://169.254.169.254/latest")],
    )
    .await;
    assert_eq!(done["status"], "failed", "{done}");
    assert_eq!(done["attempts"], 1, "{done}");
    let error = done["error"].as_str().unwrap_or_default();
    assert!(error.contains("blocked destination"), "error: {done}");
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 1, "only the first hop reached the origin");
    assert!(
        !s.origin.requests().iter().any(|r| r.path == "/latest"),
        "the redirect target was requested"
    );
}

async fn a_redirect_to_localhost_is_not_followed(s: &Suite) {
    // `localhost` on the origin's own port is the same server under a blocked name: were the
    // redirect followed, the origin would see `/stolen/{key}`.
    let key = random::unique("hook-local");
    let port = s.origin.url().rsplit(':').next().unwrap().to_owned();
    let target = format!("http://localhost:{port}/stolen/{key}");
    let done = webhook_redirected(s, &key, vec![Answer::redirect(307, &target)]).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(
        done["error"]
            .as_str()
            .unwrap_or_default()
            .contains("blocked destination"),
        "error: {done}"
    );
    assert!(
        !s.origin
            .requests()
            .iter()
            .any(|r| r.path == format!("/stolen/{key}")),
        "the redirect to localhost was followed"
    );
    assert_eq!(s.origin.requests_for(&key).len(), 1);
}

async fn a_redirect_within_the_origin_is_followed(s: &Suite) {
    let key = random::unique("hook-hop");
    let next = format!("{}/hook-moved/{key}", s.origin.url());
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
    let seen = s.origin.requests_for(&key);
    let paths: Vec<&str> = seen.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [format!("/hook/{key}"), format!("/hook-moved/{key}")],
        "the checked hop was followed once"
    );
    assert_signed(s.worker.env_value("ORIGIN_SECRET"), &seen[1]);
}
