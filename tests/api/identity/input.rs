//! Bad input on the identity routes: 400 problems with field errors (or `malformed_json`,
//! 415), boundaries accepted, and nothing written by a refused request.

use super::kit::{create_key_reply, join, list_all, login, password, signup, signup_body, Caller};
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
        trial!(org_member_invitation_and_key_bodies_are_validated),
        trial!(list_limits_and_cursors_are_checked),
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
fn expect_field_error(r: &Reply, field: &str, what: &str) {
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

async fn org_member_invitation_and_key_bodies_are_validated(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let orgs_before = list_all(&by, "/v1/orgs", 100).await;
    for body in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({"name": null}),
        json!({}),
    ] {
        let r = by.post("/v1/orgs", &body).await;
        expect_field_error(&r, "name", &body.to_string());
        let r = by.patch(&format!("/v1/orgs/{org}"), &body).await;
        expect_field_error(&r, "name", &body.to_string());
    }
    assert_eq!(list_all(&by, "/v1/orgs", 100).await, orgs_before);

    let member = join(s, &by, &org, "member").await;
    let path = format!("/v1/orgs/{org}/members/{}", member.id);
    for body in [
        json!({"role": "superuser"}),
        json!({"role": ""}),
        json!({"role": 1}),
        json!({}),
    ] {
        let r = by.patch(&path, &body).await;
        expect_field_error(&r, "role", &body.to_string());
    }
    // A member id that is not in the org: 404.
    by.patch(
        &format!("/v1/orgs/{org}/members/usr_0000000000000000000000"),
        &json!({"role": "viewer"}),
    )
    .await
    .expect_problem(404, "not_found");

    let inv_path = format!("/v1/orgs/{org}/invitations");
    let invitations_before = list_all(&by, &inv_path, 100).await;
    for (body, field) in [
        (json!({"email": "nope", "role": "member"}), "email"),
        (
            json!({"email": random::email(), "role": "superuser"}),
            "role",
        ),
        (json!({"role": "member"}), "email"),
        (json!({"email": random::email()}), "role"),
        (json!({"email": ["x"], "role": "member"}), "email"),
    ] {
        let r = by.post(&inv_path, &body).await;
        expect_field_error(&r, field, &body.to_string());
    }
    assert_eq!(
        list_all(&by, &inv_path, 100).await,
        invitations_before,
        "a refused invitation was stored"
    );

    let in_an_hour = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let an_hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for (body, field) in [
        (
            json!({"name": "k", "scopes": ["documents:read", "nope:nope"]}),
            "scopes[1]",
        ),
        (json!({"name": "k", "scopes": ["admin"]}), "scopes[0]"),
        (json!({"name": "k", "scopes": []}), "scopes"),
        (json!({"name": "k", "scopes": "documents:read"}), "scopes"),
        (json!({"name": "k"}), "scopes"),
        (json!({"name": "", "scopes": ["documents:read"]}), "name"),
        (
            json!({"name": "k".repeat(101), "scopes": ["documents:read"]}),
            "name",
        ),
        (json!({"scopes": ["documents:read"]}), "name"),
        (
            json!({"name": "k", "scopes": ["documents:read"], "expires_at": an_hour_ago}),
            "expires_at",
        ),
        (
            json!({"name": "k", "scopes": ["documents:read"], "expires_at": "tomorrow"}),
            "expires_at",
        ),
        (
            json!({"name": "k", "scopes": ["documents:read"], "expires_at": 12}),
            "expires_at",
        ),
    ] {
        let r = create_key_reply(&by, &org, &body).await;
        expect_field_error(&r, field, &body.to_string());
    }
    assert!(
        list_all(&by, &format!("/v1/orgs/{org}/api-keys"), 100)
            .await
            .is_empty(),
        "a refused key was stored"
    );
    let r = create_key_reply(
        &by,
        &org,
        &json!({"name": "k", "scopes": ["documents:read"], "expires_at": in_an_hour}),
    )
    .await;
    r.expect_status(201);
}

async fn list_limits_and_cursors_are_checked(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org_a = owner.org_id.clone();
    let org_b = super::kit::create_org(&by).await;
    // Two members, two invitations and two keys in each org, so every list pages at limit=1.
    for org in [&org_a, &org_b] {
        super::kit::join_all_roles(s, &by, org, &["member", "viewer"]).await;
        for _ in 0..2 {
            super::kit::invite(&by, org, &random::email(), "member").await;
            super::kit::create_key(&by, org, &["documents:read"]).await;
        }
    }
    let lists = |org: &str| {
        vec![
            format!("/v1/orgs/{org}/members"),
            format!("/v1/orgs/{org}/invitations"),
            format!("/v1/orgs/{org}/api-keys"),
            format!("/v1/orgs/{org}/audit-log"),
        ]
    };
    let mut all = lists(&org_a);
    all.push("/v1/orgs".to_owned());
    for path in &all {
        for limit in ["0", "101", "-1", "x", "1.5"] {
            let r = by.get(&format!("{path}?limit={limit}")).await;
            expect_field_error(&r, "limit", &format!("{path}?limit={limit}"));
        }
        for cursor in ["garbage", "eyJsIjoibWVtYmVycyJ9", &random::base64url(60)] {
            let r = by.get(&format!("{path}?cursor={cursor}")).await;
            expect_field_error(&r, "cursor", &format!("{path}?cursor={cursor}"));
        }
        for limit in ["1", "100"] {
            by.get(&format!("{path}?limit={limit}"))
                .await
                .expect_status(200);
        }
        // Paging at 1 and at 100 gives the same items, no duplicates.
        let one = list_all(&by, path, 1).await;
        let hundred = list_all(&by, path, 100).await;
        assert_eq!(one, hundred, "{path}: paging changes the items");
        let ids: std::collections::BTreeSet<String> = one.iter().map(|i| i.to_string()).collect();
        assert_eq!(ids.len(), one.len(), "{path}: duplicates");
        assert!(one.len() >= 2, "{path}: too few items to page");
    }
    // A cursor of org B's list is refused on org A's, and one list's cursor on another list.
    for (a_path, b_path) in lists(&org_a).iter().zip(lists(&org_b)) {
        let page = by.get(&format!("{b_path}?limit=1")).await.json();
        let cursor = page["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{b_path}: no cursor: {page}"))
            .to_owned();
        let r = by.get(&format!("{a_path}?limit=1&cursor={cursor}")).await;
        expect_field_error(&r, "cursor", &format!("{a_path} with a cursor of {b_path}"));
        // The cursor works where it came from.
        by.get(&format!("{b_path}?limit=1&cursor={cursor}"))
            .await
            .expect_status(200);
    }
    let members_cursor = by
        .get(&format!("/v1/orgs/{org_a}/members?limit=1"))
        .await
        .json()["next_cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for path in [
        format!("/v1/orgs/{org_a}/invitations"),
        format!("/v1/orgs/{org_a}/api-keys"),
        format!("/v1/orgs/{org_a}/audit-log"),
        "/v1/orgs".to_owned(),
    ] {
        let r = by.get(&format!("{path}?cursor={members_cursor}")).await;
        expect_field_error(&r, "cursor", &format!("{path} with a members cursor"));
    }
    // A tampered cursor (one character changed) is refused.
    let mut chars: Vec<char> = members_cursor.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    let r = by
        .get(&format!("/v1/orgs/{org_a}/members?cursor={tampered}"))
        .await;
    expect_field_error(&r, "cursor", "a tampered cursor");
}
