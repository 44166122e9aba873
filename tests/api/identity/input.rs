//! Bad input on the identity routes: 400 problems with field errors (or `malformed_json`,
//! 415), boundaries accepted, and nothing written by a refused request. Here signup, login,
//! refresh, password reset, email verification and `/v1/me`; the organization routes and list
//! parameters are in `org_input`, which shares [`expect_field_error`].

use super::kit::{login, password, signup, signup_body, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(signup_refuses_bad_fields_and_writes_nothing),
        trial!(signup_accepts_the_boundaries),
        trial!(non_json_and_malformed_bodies_are_refused),
        trial!(login_refresh_and_me_refuse_bad_fields),
    ]
}

fn with(body: &Value, field: &str, value: Value) -> Value {
    let mut b = body.clone();
    b[field] = value;
    b
}

fn without(body: &Value, field: &str) -> Value {
    let mut b = body.clone();
    b.as_object_mut().unwrap().remove(field);
    b
}

/// 400 `validation_failed` naming `field`.
pub(super) fn expect_field_error(r: &Reply, field: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text());
    let p = r.expect_problem(400, "validation_failed");
    assert!(
        p.fields().contains(&field),
        "{what}: expected an error for `{field}`: {}",
        p.body
    );
}

async fn signup_refuses_bad_fields_and_writes_nothing(s: &Suite) {
    let anon = Caller::anon(&s.api);
    let email = random::email();
    let pw = password();
    let good = signup_body(&email, &pw);
    let mut cases: Vec<(String, Value, &str)> = Vec::new();
    for bad in [
        "",
        "plainaddress",
        "a@b",
        "@test.example",
        "user@",
        "us er@test.example",
        "user@@test.example",
        "user@-test.example",
        "user@test..example",
        "user\n@test.example",
    ] {
        cases.push((
            format!("email {bad:?}"),
            with(&good, "email", json!(bad)),
            "email",
        ));
    }
    let long_email = format!("{}@test.example", "a".repeat(250));
    cases.push((
        "email of 264 chars".into(),
        with(&good, "email", json!(long_email)),
        "email",
    ));
    cases.push((
        "password of 9".into(),
        with(&good, "password", json!("a".repeat(9))),
        "password",
    ));
    cases.push((
        "password of 129".into(),
        with(&good, "password", json!("a".repeat(129))),
        "password",
    ));
    cases.push((
        "empty password".into(),
        with(&good, "password", json!("")),
        "password",
    ));
    cases.push((
        "name of 101".into(),
        with(&good, "name", json!("n".repeat(101))),
        "name",
    ));
    cases.push((
        "blank name".into(),
        with(&good, "name", json!("   ")),
        "name",
    ));
    cases.push((
        "name with a control char".into(),
        with(&good, "name", json!("a\u{7}b")),
        "name",
    ));
    cases.push((
        "org_name of 101".into(),
        with(&good, "org_name", json!("o".repeat(101))),
        "org_name",
    ));
    cases.push((
        "empty org_name".into(),
        with(&good, "org_name", json!("")),
        "org_name",
    ));
    for (field, value) in [
        ("email", json!(5)),
        ("email", json!(null)),
        ("password", json!(true)),
        ("password", json!(1234567890)),
        ("name", json!(["x"])),
        ("org_name", json!({"x": 1})),
    ] {
        cases.push((
            format!("{field} = {value}"),
            with(&good, field, value),
            field,
        ));
    }
    for field in ["email", "password", "name", "org_name"] {
        cases.push((format!("no {field}"), without(&good, field), field));
    }
    for (what, body, field) in &cases {
        let r = anon.post("/v1/auth/signup", body).await;
        expect_field_error(&r, field, what);
    }
    // Several bad fields at once: each is named.
    let r = anon
        .post(
            "/v1/auth/signup",
            &json!({"email": "nope", "password": "short", "name": "", "org_name": ""}),
        )
        .await;
    let p = r.expect_problem(400, "validation_failed");
    for field in ["email", "password", "name", "org_name"] {
        p.expect_field(field);
    }
    // Nothing was written: the email cannot log in and is still free.
    login(&s.api, &email, &pw)
        .await
        .expect_problem(401, "unauthenticated");
    anon.post("/v1/auth/signup", &good).await.expect_status(201);
}

async fn signup_accepts_the_boundaries(s: &Suite) {
    let anon = Caller::anon(&s.api);
    for (password, name) in [
        ("p".repeat(10), "n".repeat(100)),
        ("p".repeat(128), "N".to_owned()),
        // 128 characters, more bytes: the limit counts characters.
        ("é".repeat(128), "Zoë ü".to_owned()),
    ] {
        let email = random::email();
        let body = json!({"email": email, "password": password, "name": name, "org_name": "o".repeat(100)});
        let r = anon.post("/v1/auth/signup", &body).await;
        r.expect_status(201);
        assert_eq!(r.json()["user"]["name"], name.as_str());
        login(&s.api, &email, &password).await.expect_status(200);
    }
}

async fn non_json_and_malformed_bodies_are_refused(s: &Suite) {
    let email = random::email();
    let raw = |ct: &'static str, body: &'static str| {
        super::kit::send(
            Caller::anon(&s.api)
                .request(Method::POST, "/v1/auth/signup")
                .header("content-type", ct)
                .body(body),
        )
    };
    raw("application/json", "{\"email\":")
        .await
        .expect_problem(400, "malformed_json");
    raw("application/json", "not json at all")
        .await
        .expect_problem(400, "malformed_json");
    raw("application/json", "")
        .await
        .expect_problem(400, "malformed_json");
    for body in ["[]", "null", "42", "\"x\""] {
        let r = raw("application/json", body).await;
        assert_eq!(r.status, 400, "body {body}: {}", r.text());
        let code = r.problem().code;
        assert!(
            code == "validation_failed" || code == "malformed_json",
            "body {body}: {}",
            r.text()
        );
    }
    raw("text/plain", "email=a@b.c")
        .await
        .expect_problem(415, "unsupported_media_type");
    raw(
        "application/x-www-form-urlencoded",
        "email=a%40test.example&password=0123456789",
    )
    .await
    .expect_problem(415, "unsupported_media_type");
    // A whole, valid object followed by more JSON is not one JSON document.
    let pw = password();
    let good = signup_body(&email, &pw);
    let r = super::kit::send(
        Caller::anon(&s.api)
            .request(Method::POST, "/v1/auth/signup")
            .header("content-type", "application/json")
            .body(format!("{good} {{}}")),
    )
    .await;
    r.expect_problem(400, "malformed_json");
    // None of them wrote anything.
    login(&s.api, &email, &pw)
        .await
        .expect_problem(401, "unauthenticated");
    let r = Caller::anon(&s.api).post("/v1/auth/signup", &good).await;
    r.expect_status(201);
}

async fn login_refresh_and_me_refuse_bad_fields(s: &Suite) {
    let a = signup(&s.api).await;
    let anon = Caller::anon(&s.api);
    for (body, field) in [
        (json!({"email": "nope", "password": "0123456789"}), "email"),
        (json!({"email": a.email, "password": ""}), "password"),
        (
            json!({"email": a.email, "password": "a".repeat(129)}),
            "password",
        ),
        (json!({"email": a.email}), "password"),
        (json!({"password": "0123456789"}), "email"),
        (json!({"email": a.email, "password": 5}), "password"),
    ] {
        let r = anon.post("/v1/auth/login", &body).await;
        expect_field_error(&r, field, &body.to_string());
    }
    for (body, field) in [
        (json!({}), "refresh_token"),
        (json!({"refresh_token": 1}), "refresh_token"),
    ] {
        let r = anon.post("/v1/auth/refresh", &body).await;
        expect_field_error(&r, field, &body.to_string());
    }
    anon.post("/v1/auth/refresh", &json!({"refresh_token": "rt_nope"}))
        .await
        .expect_problem(401, "unauthenticated");
    for (body, field) in [
        (json!({}), "email"),
        (json!({"email": "nope"}), "email"),
        (json!({"email": 3}), "email"),
    ] {
        let r = anon.post("/v1/auth/password-reset", &body).await;
        expect_field_error(&r, field, &body.to_string());
    }
    for (body, field) in [(json!({}), "token"), (json!({"token": 7}), "token")] {
        let r = anon.post("/v1/auth/verify-email", &body).await;
        expect_field_error(&r, field, &body.to_string());
    }

    let me = a.on(&s.api);
    let before = me.get("/v1/me").await.json();
    for (body, what) in [
        (json!({"name": ""}), "empty"),
        (json!({"name": "   "}), "blank"),
        (json!({"name": "x".repeat(101)}), "101 chars"),
        (json!({"name": 5}), "a number"),
        (json!({"name": "a\u{0}b"}), "a NUL"),
    ] {
        let r = me.patch("/v1/me", &body).await;
        expect_field_error(&r, "name", what);
    }
    assert_eq!(
        me.get("/v1/me").await.json(),
        before,
        "a refused PATCH wrote"
    );
}
