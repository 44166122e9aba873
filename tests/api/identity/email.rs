//! Email verification and password reset: the tokens travel only in `email` jobs to the
//! origin (found by recipient, as identity emails carry no `test_key`), are single use, and a
//! reset revokes every session of the user.

use super::kit::{
    assert_alive, assert_dead, emails, keys, login, login_ok, password, signup, wait_emails, Caller,
};
use crate::support::{trial, Suite};
use edge_tests::{random, signature, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(signup_sends_a_verification_email_that_verifies),
        trial!(bad_verification_tokens_are_400),
        trial!(password_reset_answers_the_same_for_unknown_emails),
        trial!(password_reset_changes_the_password_and_revokes_sessions),
    ]
}

/// Checks an `email` job delivery body; returns its payload.
fn email_job(job: &Value, template: &str, to: &str) -> Value {
    assert_eq!(
        keys(job),
        ["attempt", "id", "org_id", "payload", "source", "type"],
        "{job}"
    );
    assert_eq!(job["type"], "email");
    assert_eq!(job["source"], "system", "the edge's own email: {job}");
    assert!(
        job["id"].as_str().is_some_and(|i| i.starts_with("job_")),
        "{job}"
    );
    assert!(job["attempt"].as_u64().is_some_and(|n| n >= 1), "{job}");
    let payload = job["payload"].clone();
    assert_eq!(payload["template"], template);
    assert_eq!(payload["to"], to);
    payload
}

/// The delivery of `job` to the origin carried a valid `X-Signature`.
fn assert_signed_delivery(s: &Suite, job: &Value) {
    let delivery = s
        .origin
        .requests()
        .into_iter()
        .find(|r| {
            r.path == "/jobs/email"
                && serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b["id"] == job["id"])
        })
        .expect("the delivery is recorded");
    let header = delivery.header("x-signature").expect("X-Signature");
    let secret = s.worker.env_value("ORIGIN_SECRET");
    let h = |n: &str| delivery.header(n).unwrap_or_default().to_owned();
    let (id, ty, org, attempt) = (
        h("x-job-id"),
        h("x-job-type"),
        h("x-org-id"),
        h("x-attempt"),
    );
    let message = |t| signature::job_message(t, &id, &ty, &org, &attempt, &delivery.body);
    if let Err(e) = signature::verify_with(secret, header, message, signature::unix_now(), 120) {
        panic!("bad X-Signature on an email job: {e}");
    }
    // The edge's own emails say so in the signed envelope.
    assert_eq!(job["source"], "system", "{job}");
}

async fn verify(s: &Suite, token: &Value) -> Reply {
    Caller::anon(&s.api)
        .post("/v1/auth/verify-email", &json!({"token": token}))
        .await
}

async fn signup_sends_a_verification_email_that_verifies(s: &Suite) {
    let a = signup(&s.api).await;
    let jobs = wait_emails(s, &a.email, "verify_email", 1).await;
    let job = &jobs[0];
    assert!(job["org_id"].is_null(), "org_id of a verification: {job}");
    let payload = email_job(job, "verify_email", &a.email);
    assert_eq!(
        keys(&payload),
        ["name", "template", "to", "token", "user_id"],
        "{payload}"
    );
    assert_eq!(payload["user_id"], a.id);
    assert_eq!(payload["name"], a.name);
    assert!(payload["token"].as_str().is_some_and(|t| t.len() >= 20));
    assert_signed_delivery(s, job);

    let me = a.on(&s.api);
    assert_eq!(me.get("/v1/me").await.json()["email_verified"], false);
    let r = verify(s, &payload["token"]).await;
    r.expect_status(204);
    assert!(r.body.is_empty());
    assert_eq!(me.get("/v1/me").await.json()["email_verified"], true);
    let r = login(&s.api, &a.email, &a.password).await;
    assert_eq!(r.json()["user"]["email_verified"], true);
    // One email, sent once.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(emails(s, &a.email, "verify_email").len(), 1);
}

async fn bad_verification_tokens_are_400(s: &Suite) {
    let a = signup(&s.api).await;
    let other = signup(&s.api).await;
    let token = wait_emails(s, &a.email, "verify_email", 1).await[0]["payload"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut flipped: Vec<char> = token.chars().collect();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == 'A' { 'B' } else { 'A' };
    let flipped: String = flipped.into_iter().collect();
    // A password-reset token of the same user is not a verification token.
    Caller::anon(&s.api)
        .post("/v1/auth/password-reset", &json!({"email": a.email}))
        .await
        .expect_status(202);
    let reset = wait_emails(s, &a.email, "password_reset", 1).await[0]["payload"]["token"].clone();
    for bad in [
        json!("nope"),
        json!(""),
        json!(flipped),
        json!(&token[..token.len() - 3]),
        json!(format!("{token}x")),
        reset,
        json!(other.access),
    ] {
        let r = verify(s, &bad).await;
        assert_eq!(r.status, 400, "token {bad}: {}", r.text());
        r.expect_problem(400, "validation_failed")
            .expect_field("token");
    }
    assert_eq!(
        a.on(&s.api).get("/v1/me").await.json()["email_verified"],
        false,
        "a bad token verified the address"
    );
    // The real one still works; it verifies its own user only.
    verify(s, &json!(token)).await.expect_status(204);
    assert_eq!(
        other.on(&s.api).get("/v1/me").await.json()["email_verified"],
        false
    );
}

async fn password_reset_answers_the_same_for_unknown_emails(s: &Suite) {
    let a = signup(&s.api).await;
    let unknown = random::email();
    let anon = Caller::anon(&s.api);
    let known_r = anon
        .post("/v1/auth/password-reset", &json!({"email": a.email}))
        .await;
    let unknown_r = anon
        .post("/v1/auth/password-reset", &json!({"email": unknown}))
        .await;
    known_r.expect_status(202);
    unknown_r.expect_status(202);
    assert_eq!(known_r.json(), json!({"status": "accepted"}));
    assert_eq!(known_r.body, unknown_r.body, "the bodies differ");
    assert_eq!(
        known_r.header("content-type"),
        unknown_r.header("content-type")
    );

    let job = wait_emails(s, &a.email, "password_reset", 1).await[0].clone();
    assert!(job["org_id"].is_null(), "{job}");
    let payload = email_job(&job, "password_reset", &a.email);
    assert_eq!(
        keys(&payload),
        ["name", "template", "to", "token", "user_id"],
        "{payload}"
    );
    assert_eq!(payload["user_id"], a.id);
    assert_eq!(payload["name"], a.name);
    let token = payload["token"].as_str().unwrap();
    assert!(token.starts_with("pr_"), "{token}");
    // The unknown address gets nothing, however long we wait.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let to_unknown: Vec<_> = s
        .origin
        .requests()
        .into_iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains(&unknown))
        .collect();
    assert!(to_unknown.is_empty(), "origin got {to_unknown:?}");
}

async fn confirm(s: &Suite, token: &str, new_password: &str) -> Reply {
    Caller::anon(&s.api)
        .post(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": new_password}),
        )
        .await
}

async fn password_reset_changes_the_password_and_revokes_sessions(s: &Suite) {
    let a = signup(&s.api).await;
    let (access2, refresh2) = login_ok(&s.api, &a).await;
    Caller::anon(&s.api)
        .post(
            "/v1/auth/password-reset",
            &json!({"email": a.email.to_uppercase()}),
        )
        .await
        .expect_status(202);
    let job = wait_emails(s, &a.email, "password_reset", 1).await[0].clone();
    let token = job["payload"]["token"].as_str().unwrap().to_owned();

    // Refusals that must not spend the token.
    let new_password = password();
    confirm(s, &token, "short")
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("new_password");
    confirm(s, &token, &"x".repeat(129))
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("new_password");
    for bad in [
        "nope".to_owned(),
        format!("pr_{}", random::base64url(32)),
        a.refresh.clone(),
    ] {
        confirm(s, &bad, &new_password)
            .await
            .expect_problem(400, "validation_failed")
            .expect_field("token");
    }
    assert_alive(&s.api, &a.access, "before the reset").await;

    let r = confirm(s, &token, &new_password).await;
    r.expect_status(204);
    assert!(r.body.is_empty());
    // Every session of the user is gone, access and refresh tokens alike.
    assert_dead(&s.api, &a.access, "signup session after a reset").await;
    assert_dead(&s.api, &access2, "login session after a reset").await;
    for rt in [&a.refresh, &refresh2] {
        Caller::anon(&s.api)
            .post("/v1/auth/refresh", &json!({"refresh_token": rt}))
            .await
            .expect_problem(401, "unauthenticated");
    }
    login(&s.api, &a.email, &a.password)
        .await
        .expect_problem(401, "unauthenticated");
    let r = login(&s.api, &a.email, &new_password).await;
    r.expect_status(200);
    let fresh = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_alive(&s.api, &fresh, "a session after the reset").await;

    // Single use: the token is spent, and using it again changes nothing.
    confirm(s, &token, "yet another password")
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("token");
    assert_alive(&s.api, &fresh, "the new session after a reused token").await;
    login(&s.api, &a.email, "yet another password")
        .await
        .expect_problem(401, "unauthenticated");

    // The audit log of the user's org records it.
    let log = Caller::bearer(&s.api, &fresh)
        .get(&format!("/v1/orgs/{}/audit-log?limit=100", a.org_id))
        .await
        .json();
    let entry = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "auth.password_reset")
        .cloned()
        .unwrap_or_else(|| panic!("no auth.password_reset entry: {log}"));
    assert_eq!(entry["target"], json!({"type": "user", "id": a.id}));
}
