//! Changing the email address: `POST /v1/me/email` (password, step-up: see
//! `mfa/step_up.rs`) mails a single-use token to the new address and a notice to the old;
//! `POST /v1/auth/email/confirm` redeems it, ends every session and notifies the old address.

use crate::identity::kit::{
    assert_alive, assert_dead, emails, login, login_ok, signup, signup_as, wait_emails, Account,
    Caller,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Api, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_confirmed_change_moves_the_sign_in_and_ends_every_session),
        trial!(an_address_taken_before_or_during_the_change_is_a_conflict),
        trial!(wrong_password_same_address_superseded_and_made_up_tokens_change_nothing),
    ]
}

pub(super) async fn request(api: &Api, access: &str, new_email: &str, password: &str) -> Reply {
    Caller::bearer(api, access)
        .post(
            "/v1/me/email",
            &json!({"new_email": new_email, "password": password}),
        )
        .await
}

pub(super) async fn confirm(api: &Api, token: &str) -> Reply {
    Caller::anon(api)
        .post("/v1/auth/email/confirm", &json!({"token": token}))
        .await
}

/// The token of the `n`-th (1-based) `email_change_verify` job to `to`.
pub(super) async fn token(s: &Suite, to: &str, n: usize) -> String {
    let jobs = wait_emails(s, to, "email_change_verify", n).await;
    jobs[n - 1]["payload"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("email_change_verify without token: {}", jobs[n - 1]))
        .to_owned()
}

/// The account's email as `GET /v1/me` shows it to a live session.
async fn email_of(api: &Api, access: &str) -> String {
    assert_alive(api, access, "the account's session").await["email"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn expect_invalid_token(r: &Reply) {
    r.expect_problem(400, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "token", "{}", r.text());
}

async fn a_confirmed_change_moves_the_sign_in_and_ends_every_session(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (other, _) = login_ok(api, &a).await;
    let new = random::email();
    let r = request(
        api,
        &a.access,
        &format!("  {}  ", new.to_uppercase()),
        &a.password,
    )
    .await;
    r.expect_status(202);
    let b = r.json();
    assert_eq!(b["pending_email"], new, "{b}");
    let expires = chrono::DateTime::parse_from_rfc3339(b["expires_at"].as_str().unwrap()).unwrap();
    let left = expires.timestamp() - chrono::Utc::now().timestamp();
    assert!((86_000..=86_400).contains(&left), "24 h: {left}");
    let t = token(s, &new, 1).await;
    assert!(t.starts_with("ec_"), "{t}");
    let notice = wait_emails(s, &a.email, "email_change_requested", 1).await;
    assert_eq!(notice[0]["payload"]["new_email"], new, "{}", notice[0]);
    // A request alone changes nothing.
    assert_eq!(email_of(api, &other).await, a.email);
    login_ok(api, &a).await;

    let r = confirm(api, &t).await;
    r.expect_status(200);
    let user = r.json();
    assert_eq!(user["id"], a.id.as_str(), "{user}");
    assert_eq!(user["email"], new, "{user}");
    assert_eq!(user["email_verified"], true, "{user}");
    let changed = wait_emails(s, &a.email, "email_changed", 1).await;
    assert_eq!(changed[0]["payload"]["new_email"], new, "{}", changed[0]);
    // No session survives, whichever made the request.
    assert_dead(api, &a.access, "the requesting session").await;
    assert_dead(api, &other, "another session").await;
    login(api, &a.email, &a.password)
        .await
        .expect_problem(401, "unauthenticated");
    let r = login(api, &new, &a.password).await;
    r.expect_status(200);
    let fresh = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(email_of(api, &fresh).await, new);
    // Single use.
    expect_invalid_token(&confirm(api, &t).await);
    // The audit log of the account's organization has both entries, old and new named.
    let by = Caller::bearer(api, &fresh);
    let log =
        crate::identity::kit::list_all(&by, &format!("/v1/orgs/{}/audit-log", a.org_id), 100).await;
    let entry = |action: &str| -> Value {
        log.iter()
            .find(|e| e["action"] == action)
            .cloned()
            .unwrap_or_else(|| panic!("no {action} in {log:?}"))
    };
    entry("user.email_change_requested");
    let done = entry("user.email_changed");
    assert_eq!(done["details"]["old_email"], a.email.as_str(), "{done}");
    assert_eq!(done["details"]["new_email"], new, "{done}");
    by.get(&format!("/v1/orgs/{}/audit-log/verify", a.org_id))
        .await
        .expect_status(200);
    // Another organization's audit log stays out of reach.
    let stranger = signup(api).await;
    by.get(&format!("/v1/orgs/{}/audit-log", stranger.org_id))
        .await
        .expect_problem(404, "not_found");
}

async fn an_address_taken_before_or_during_the_change_is_a_conflict(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let b = signup(api).await;
    request(api, &a.access, &b.email, &a.password)
        .await
        .expect_problem(409, "conflict");
    // Taken between request and confirmation: 409, and nothing changed.
    let wanted = random::email();
    request(api, &a.access, &wanted, &a.password)
        .await
        .expect_status(202);
    let t = token(s, &wanted, 1).await;
    let c: Account = signup_as(api, &wanted).await;
    confirm(api, &t).await.expect_problem(409, "conflict");
    assert_eq!(email_of(api, &a.access).await, a.email);
    login_ok(api, &a).await;
    login_ok(api, &c).await;
    assert!(emails(s, &a.email, "email_changed").is_empty());
}

async fn wrong_password_same_address_superseded_and_made_up_tokens_change_nothing(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let nowhere = random::email();
    request(api, &a.access, &nowhere, "not the password")
        .await
        .expect_problem(403, "forbidden");
    let r = request(api, &a.access, &a.email.to_uppercase(), &a.password).await;
    r.expect_problem(400, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "new_email", "{}", r.text());
    request(api, &a.access, "not an address", &a.password)
        .await
        .expect_problem(400, "validation_failed");
    assert_eq!(email_of(api, &a.access).await, a.email);
    // A newer request supersedes the older one.
    let first = random::email();
    let second = random::email();
    request(api, &a.access, &first, &a.password)
        .await
        .expect_status(202);
    let t1 = token(s, &first, 1).await;
    request(api, &a.access, &second, &a.password)
        .await
        .expect_status(202);
    let t2 = token(s, &second, 1).await;
    expect_invalid_token(&confirm(api, &t1).await);
    assert_eq!(email_of(api, &a.access).await, a.email);
    for made_up in [
        "ec_0000000000000000000000000000000000000000000",
        "pr_abc",
        "x",
    ] {
        expect_invalid_token(&confirm(api, made_up).await);
    }
    confirm(api, &t2).await.expect_status(200);
    login(api, &second, &a.password).await.expect_status(200);
    // The wrong-password request mailed nothing.
    assert!(emails(s, &nowhere, "email_change_verify").is_empty());
}
