//! Step-up and the organization's MFA requirement. Every operation the OpenAPI document marks
//! `x-step-up` is refused (403 `step_up_required`, nothing changed) to a user with a factor
//! whose token has no recent one, and allowed after `POST /v1/auth/step-up`; users without a
//! factor and API keys are not held (a passkey counts as a factor: see `passkeys.rs`). `require_mfa` holds members without a factor
//! (`mfa_enrollment_required`) and sessions without one (`step_up_required`).

use super::kit::{
    challenge, claims, complete, enrolled, login_tokens, start, step_up, Authenticator, Caller,
};
use crate::identity::kit::{create_key, create_key_reply, join, roles};
use crate::support::{trial, Suite};
use edge_tests::Reply;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(every_sensitive_operation_needs_a_recent_second_factor),
        trial!(a_stale_second_factor_is_not_enough),
        trial!(an_organization_can_require_a_second_factor),
    ]
}

/// The operations the document marks sensitive, as `METHOD path`.
fn marked() -> BTreeSet<String> {
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(edge_tests::project::root().join("core/openapi.json"))
            .expect("core/openapi.json"),
    )
    .expect("JSON");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op.get("x-step-up") == Some(&json!(true)) {
                out.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    out
}

/// One call of each sensitive operation on `org`, against `member`; last, the caller's own
/// password change (`password` is theirs).
async fn sensitive(by: &Caller, org: &str, member: &str, password: &str) -> Vec<(String, Reply)> {
    let members = format!("/v1/orgs/{org}/members/{member}");
    vec![
        (
            "POST /v1/orgs/{org}/api-keys".into(),
            create_key_reply(
                by,
                org,
                &json!({"name": "ci", "scopes": ["documents:read"]}),
            )
            .await,
        ),
        (
            "PATCH /v1/orgs/{org}/members/{user}".into(),
            by.patch(&members, &json!({"role": "admin"})).await,
        ),
        (
            "DELETE /v1/orgs/{org}/members/{user}".into(),
            by.delete(&members).await,
        ),
        (
            "DELETE /v1/orgs/{org}".into(),
            by.delete(&format!("/v1/orgs/{org}")).await,
        ),
        (
            // The caller's own passkeys: none by that id, so past the gate it is a 404.
            "DELETE /v1/me/passkeys/{id}".into(),
            by.delete("/v1/me/passkeys/pky_0000000000000000000000000")
                .await,
        ),
        (
            "POST /v1/me/exports".into(),
            by.call(edge_tests::Method::POST, "/v1/me/exports", None)
                .await,
        ),
    ]
    .into_iter()
    .chain(own_account(by, password).await)
    .collect()
}

/// The caller's password change, a change of their email address, then their account's
/// deletion (with the password the change left).
async fn own_account(by: &Caller, password: &str) -> Vec<(String, Reply)> {
    let changed = by
        .post(
            "/v1/me/password",
            &json!({"current_password": password, "new_password": "a new password 123"}),
        )
        .await;
    let now = if changed.status == 204 {
        "a new password 123"
    } else {
        password
    };
    let email = by
        .post(
            "/v1/me/email",
            &json!({"new_email": edge_tests::random::email(), "password": now}),
        )
        .await;
    let deleted = by
        .call(
            edge_tests::Method::DELETE,
            "/v1/me",
            Some(&json!({"password": now})),
        )
        .await;
    vec![
        ("POST /v1/me/password".into(), changed),
        ("POST /v1/me/email".into(), email),
        ("DELETE /v1/me".into(), deleted),
    ]
}

async fn every_sensitive_operation_needs_a_recent_second_factor(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let org = e.account.org_id.clone();
    let owner = Caller::bearer(api, &e.account.access);
    let member = join(s, &owner, &org, "member").await;
    // The signup session signed in with the password only.
    let stale = Caller::bearer(api, &e.password_only);
    let answers = sensitive(&stale, &org, &member.id, &e.account.password).await;
    let called: BTreeSet<String> = answers.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        called,
        marked(),
        "the trial calls every operation marked x-step-up"
    );
    for (name, r) in &answers {
        assert_eq!(r.status, 403, "{name}: {}", r.text());
        r.expect_problem(403, "step_up_required");
    }
    // Nothing changed.
    assert_eq!(
        owner.get(&format!("/v1/orgs/{org}/api-keys")).await.json()["items"],
        json!([])
    );
    assert_eq!(
        roles(&owner, &org)
            .await
            .get(&member.id)
            .map(String::as_str),
        Some("member")
    );
    // Stepping up on that very session lets each of them through.
    let r = step_up(api, &e.password_only, json!({"code": e.app.code().await}));
    let r = r.await;
    r.expect_status(200);
    let b = r.json();
    assert_eq!(b["step_up_expires_in"], 600, "{b}");
    let fresh = b["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        claims(&fresh)["sid"],
        claims(&e.password_only)["sid"],
        "no new session"
    );
    let statuses: Vec<(String, u16)> = sensitive(
        &Caller::bearer(api, &fresh),
        &org,
        &member.id,
        &e.account.password,
    )
    .await
    .into_iter()
    .map(|(n, r)| (n, r.status))
    .collect();
    assert_eq!(
        statuses,
        [
            ("POST /v1/orgs/{org}/api-keys".to_owned(), 201),
            ("PATCH /v1/orgs/{org}/members/{user}".to_owned(), 200),
            ("DELETE /v1/orgs/{org}/members/{user}".to_owned(), 204),
            ("DELETE /v1/orgs/{org}".to_owned(), 204),
            ("DELETE /v1/me/passkeys/{id}".to_owned(), 404),
            ("POST /v1/me/exports".to_owned(), 202),
            ("POST /v1/me/password".to_owned(), 204),
            ("POST /v1/me/email".to_owned(), 202),
            ("DELETE /v1/me".to_owned(), 202),
        ]
    );
    // A user without a factor is not held, and a member may always leave.
    let plain = super::kit::signup(api).await;
    let plain_org = plain.org_id.clone();
    let other = join(s, &plain.on(api), &plain_org, "member").await;
    let statuses: Vec<u16> = sensitive(&plain.on(api), &plain_org, &other.id, &plain.password)
        .await
        .iter()
        .map(|(_, r)| r.status)
        .collect();
    assert_eq!(statuses, [201, 200, 204, 204, 404, 202, 204, 202, 202]);
}

async fn a_stale_second_factor_is_not_enough(s: &Suite) {
    // Its own worker: the trial ages a session in the worker's SQLite file from outside
    // (`wrangler d1 execute`), which locks it; the shared worker's other trials would meet
    // SQLITE_BUSY meanwhile.
    let worker = s.private_worker(edge_tests::WorkerOptions::new()).await;
    let api = &worker.api();
    let mut e = enrolled(api).await;
    let org = e.account.org_id.clone();
    let keys = format!("/v1/orgs/{org}/api-keys");
    let key = json!({"name": "k", "scopes": ["documents:read"]});
    // A second-factor sign-in is recent.
    let t = challenge(api, &e.account).await;
    let (access, refresh) =
        login_tokens(&complete(api, &t, json!({"code": e.app.code().await})).await);
    create_key_reply(&Caller::bearer(api, &access), &org, &key)
        .await
        .expect_status(201);
    // Eleven minutes pass for this session's second factor; its next token says so.
    let sid = claims(&access)["sid"].as_str().expect("sid").to_owned();
    let rows = edge_tests::d1::execute(
        worker.persist_dir(),
        &format!("UPDATE sessions SET auth_time = auth_time - 660 WHERE id = '{sid}' RETURNING auth_time"),
    )
    .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    let (aged, _) = login_tokens(&r);
    assert_eq!(claims(&aged)["amr"], json!(["pwd", "otp", "mfa"]));
    let aged = Caller::bearer(api, &aged);
    create_key_reply(&aged, &org, &key)
        .await
        .expect_problem(403, "step_up_required");
    // Reading is not sensitive.
    aged.get(&keys).await.expect_status(200);
    let r = step_up(
        api,
        &aged.bearer.clone().unwrap_or_default(),
        json!({"recovery_code": e.recovery[0]}),
    )
    .await;
    r.expect_status(200);
    let again = r.json()["access_token"].as_str().expect("token").to_owned();
    create_key_reply(&Caller::bearer(api, &again), &org, &key)
        .await
        .expect_status(201);
}

async fn an_organization_can_require_a_second_factor(s: &Suite) {
    let api = &s.api;
    let e = enrolled(api).await;
    let org = e.account.org_id.clone();
    let owner = Caller::bearer(api, &e.account.access);
    let member = join(s, &owner, &org, "member").await;
    let (_, key) = create_key(&owner, &org, &["documents:read"]).await;
    let docs = format!("/v1/orgs/{org}/documents");
    // Changing the requirement is sensitive.
    Caller::bearer(api, &e.password_only)
        .patch(&format!("/v1/orgs/{org}"), &json!({"require_mfa": true}))
        .await
        .expect_problem(403, "step_up_required");
    let r = owner
        .patch(&format!("/v1/orgs/{org}"), &json!({"require_mfa": true}))
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["require_mfa"], true);
    // A member without a factor is told to enroll, on every route of the organization.
    let m = member.on(api);
    m.get(&docs)
        .await
        .expect_problem(403, "mfa_enrollment_required");
    m.get(&format!("/v1/orgs/{org}"))
        .await
        .expect_problem(403, "mfa_enrollment_required");
    // Their own organization does not require it; API keys are not held.
    m.get(&format!("/v1/orgs/{}/documents", member.org_id))
        .await
        .expect_status(200);
    Caller::bearer(api, &key)
        .get(&docs)
        .await
        .expect_status(200);
    // The owner's password-only session has a factor to give: step up.
    Caller::bearer(api, &e.password_only)
        .get(&docs)
        .await
        .expect_problem(403, "step_up_required");
    owner.get(&docs).await.expect_status(200);
    // The member enrolls; the confirmation's token is admitted, their older one is told to
    // step up.
    let en = start(api, &member).await;
    let mut app = Authenticator::new(en["secret"].as_str().expect("secret"));
    let r = m
        .post(
            "/v1/me/mfa/totp/confirm",
            &json!({"code": app.code().await}),
        )
        .await;
    r.expect_status(200);
    let with_factor = r.json()["access_token"].as_str().expect("token").to_owned();
    Caller::bearer(api, &with_factor)
        .get(&docs)
        .await
        .expect_status(200);
    m.get(&docs).await.expect_problem(403, "step_up_required");
    // Lifting the requirement admits password sessions again.
    owner
        .patch(&format!("/v1/orgs/{org}"), &json!({"require_mfa": false}))
        .await
        .expect_status(200);
    m.get(&docs).await.expect_status(200);
}
