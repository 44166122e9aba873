//! No mass assignment: every identity body with one extra member (`role`, `org_id`,
//! `password_hash`, `email_verified`, `id`, …) is a 400 `unknown_field` naming it, and a
//! re-read shows nothing changed. (Every reply of these tests also passes the secret scan of
//! `kit::send`: no password hash, token hash or API key secret outside its create answer.)

use super::kit::{
    accept, create_key, invitation_token, invite, join, list_all, login, password, signup,
    signup_body, Caller,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Method};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(signup_and_login_refuse_extra_fields),
        trial!(me_and_org_bodies_refuse_extra_fields),
        trial!(member_invitation_and_key_bodies_refuse_extra_fields),
    ]
}

/// An extra member's name and a value for it.
type Extra = (&'static str, fn() -> Value);

const EXTRAS: [Extra; 7] = [
    ("role", || json!("owner")),
    ("org_id", || json!("org_0000000000000000000000")),
    ("password_hash", || {
        json!("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA")
    }),
    ("email_verified", || json!(true)),
    ("id", || json!("usr_0000000000000000000000")),
    ("plan", || json!("enterprise")),
    ("user_id", || json!("usr_0000000000000000000000")),
];

fn plus(body: &Value, field: &str, value: Value) -> Value {
    let mut b = body.clone();
    b[field] = value;
    b
}

/// Sends `body` plus each extra field: all must be 400 `unknown_field` naming the field.
async fn refuses_extras(caller: &Caller, method: Method, path: &str, body: &Value) {
    for (field, value) in EXTRAS {
        if body.get(field).is_some() {
            continue;
        }
        let r = caller
            .call(method.clone(), path, Some(&plus(body, field, value())))
            .await;
        assert_eq!(
            r.status,
            400,
            "{method} {path} with `{field}`: {}",
            r.text()
        );
        r.expect_problem(400, "unknown_field").expect_field(field);
    }
}

async fn signup_and_login_refuse_extra_fields(s: &Suite) {
    let anon = Caller::anon(&s.api);
    let email = random::email();
    let pw = password();
    let body = signup_body(&email, &pw);
    refuses_extras(&anon, Method::POST, "/v1/auth/signup", &body).await;
    // Nothing was created: the email is free and cannot log in.
    login(&s.api, &email, &pw)
        .await
        .expect_problem(401, "unauthenticated");
    let r = anon.post("/v1/auth/signup", &body).await;
    r.expect_status(201);
    let b = r.json();
    assert_eq!(b["user"]["email_verified"], false);
    assert_eq!(b["org"]["plan"], "free");
    assert_eq!(b["org"]["role"], "owner");

    refuses_extras(
        &anon,
        Method::POST,
        "/v1/auth/login",
        &json!({"email": email, "password": pw}),
    )
    .await;
    let refresh = b["refresh_token"].as_str().unwrap();
    refuses_extras(
        &anon,
        Method::POST,
        "/v1/auth/refresh",
        &json!({"refresh_token": refresh}),
    )
    .await;
    // The refused refreshes did not spend the token.
    anon.post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await
        .expect_status(200);
    refuses_extras(
        &anon,
        Method::POST,
        "/v1/auth/password-reset",
        &json!({"email": email}),
    )
    .await;
    refuses_extras(
        &anon,
        Method::POST,
        "/v1/auth/verify-email",
        &json!({"token": "x"}),
    )
    .await;
}

async fn me_and_org_bodies_refuse_extra_fields(s: &Suite) {
    let a = signup(&s.api).await;
    let me = a.on(&s.api);
    let before = me.get("/v1/me").await.json();
    refuses_extras(&me, Method::PATCH, "/v1/me", &json!({"name": "Changed"})).await;
    for (field, value) in [
        ("email", json!(random::email())),
        ("password", json!("a new password")),
        ("orgs", json!([])),
        ("created_at", json!("2000-01-01T00:00:00Z")),
    ] {
        me.patch("/v1/me", &json!({"name": "Changed", field: value}))
            .await
            .expect_problem(400, "unknown_field")
            .expect_field(field);
    }
    let after = me.get("/v1/me").await.json();
    assert_eq!(after, before, "a refused PATCH /v1/me changed the user");
    login(&s.api, &a.email, "a new password")
        .await
        .expect_problem(401, "unauthenticated");

    let orgs_before = list_all(&me, "/v1/orgs", 100).await;
    refuses_extras(&me, Method::POST, "/v1/orgs", &json!({"name": "New org"})).await;
    assert_eq!(
        list_all(&me, "/v1/orgs", 100).await,
        orgs_before,
        "a refused POST /v1/orgs created an org"
    );

    let org_path = format!("/v1/orgs/{}", a.org_id);
    let org_before = me.get(&org_path).await.json();
    refuses_extras(&me, Method::PATCH, &org_path, &json!({"name": "Changed"})).await;
    for (field, value) in [
        ("created_at", json!("2000-01-01T00:00:00Z")),
        ("owner_id", json!(a.id)),
    ] {
        me.patch(&org_path, &json!({"name": "Changed", field: value}))
            .await
            .expect_problem(400, "unknown_field")
            .expect_field(field);
    }
    assert_eq!(
        me.get(&org_path).await.json(),
        org_before,
        "a refused org PATCH changed the org"
    );
}

async fn member_invitation_and_key_bodies_refuse_extra_fields(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let member = join(s, &by, &org, "viewer").await;
    let members_path = format!("/v1/orgs/{org}/members");
    let members_before = list_all(&by, &members_path, 100).await;
    refuses_extras(
        &by,
        Method::PATCH,
        &format!("{members_path}/{}", member.id),
        &json!({"role": "member"}),
    )
    .await;
    assert_eq!(
        list_all(&by, &members_path, 100).await,
        members_before,
        "a refused member PATCH changed a membership"
    );

    let invitations_path = format!("/v1/orgs/{org}/invitations");
    let email = random::email();
    let body = json!({"email": email, "role": "viewer"});
    refuses_extras(&by, Method::POST, &invitations_path, &body).await;
    for (field, value) in [
        ("status", json!("accepted")),
        ("token", json!("t")),
        ("expires_at", json!("2999-01-01T00:00:00Z")),
    ] {
        by.post(&invitations_path, &plus(&body, field, value))
            .await
            .expect_problem(400, "unknown_field")
            .expect_field(field);
    }
    let listed = list_all(&by, &invitations_path, 100).await;
    assert!(
        !listed.iter().any(|i| i["email"] == email.as_str()),
        "a refused invitation was stored: {listed:?}"
    );

    // Accepting with an extra `role` is refused and does not use the invitation.
    let invitee = signup(&s.api).await;
    let inv = invite(&by, &org, &invitee.email, "viewer").await;
    let token = invitation_token(s, &inv).await;
    let invitee_caller = invitee.on(&s.api);
    refuses_extras(
        &invitee_caller,
        Method::POST,
        "/v1/invitations/accept",
        &json!({"token": token}),
    )
    .await;
    let r = accept(&s.api, &invitee, &token).await;
    r.expect_status(200);
    assert_eq!(r.json()["role"], "viewer");

    let keys_path = format!("/v1/orgs/{org}/api-keys");
    let body = json!({"name": "k", "scopes": ["documents:read"]});
    for (field, value) in EXTRAS.iter().map(|(f, v)| (*f, v())).chain([
        ("key", json!(format!("sk_{}", random::base64url(32)))),
        ("prefix", json!("sk_x")),
    ]) {
        let r = super::kit::create_key_reply(&by, &org, &plus(&body, field, value)).await;
        r.expect_problem(400, "unknown_field").expect_field(field);
    }
    assert!(
        list_all(&by, &keys_path, 100).await.is_empty(),
        "a refused key was stored"
    );
    // A proper key still works (the refusals did not break creation).
    create_key(&by, &org, &["documents:read"]).await;
}
