//! Accounts and sessions end to end: signup, login, refresh-token rotation with reuse
//! detection, logout. `/v1/me`, credentials refused and the JWKS are in `me`.

use super::jwt;
use super::kit::{
    assert_alive, assert_dead, assert_id, assert_time, keys, login, login_ok, signup, signup_body,
    Caller,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Api, Reply};
use futures_util::future::join;
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(signup_answers_user_org_and_a_token_pair),
        trial!(signup_with_a_taken_email_is_409),
        trial!(login_answers_a_new_session),
        trial!(wrong_password_and_unknown_email_look_the_same),
        trial!(refresh_rotates_and_reuse_revokes_the_session),
        trial!(logout_kills_the_access_token_at_once),
        trial!(concurrent_refreshes_with_one_token_let_one_win),
    ]
}

/// `POST /v1/auth/refresh`.
async fn refresh(api: &Api, token: &str) -> Reply {
    Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": token}))
        .await
}

/// Checks the token part of an auth answer; returns `(access, refresh)`.
fn token_pair(b: &Value, user_id: &str) -> (String, String) {
    assert_eq!(b["token_type"], "Bearer", "{b}");
    assert_eq!(b["expires_in"], 900, "{b}");
    let access = b["access_token"].as_str().expect("access_token").to_owned();
    let refresh = b["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    assert!(refresh.starts_with("rt_"), "refresh token {refresh}");
    assert!(
        refresh.len() >= 3 + 32,
        "refresh token too short: {refresh}"
    );
    let (header, claims) = jwt::decode(&access);
    assert_eq!(header["alg"], "EdDSA", "{header}");
    assert_eq!(header["typ"], "JWT", "{header}");
    assert!(header["kid"].is_string(), "{header}");
    assert_eq!(claims["sub"], user_id, "{claims}");
    assert_eq!(claims["typ"], "access", "{claims}");
    for k in ["iss", "aud", "sid", "jti"] {
        assert!(
            claims[k].as_str().is_some_and(|v| !v.is_empty()),
            "claim {k}: {claims}"
        );
    }
    let (iat, nbf, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["nbf"].as_i64().expect("nbf"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 900, "15 minutes: {claims}");
    assert!(nbf <= iat + 1, "{claims}");
    assert!(
        (iat - jwt::unix_now()).abs() < 60,
        "iat is not now: {claims}"
    );
    (access, refresh)
}

async fn signup_answers_user_org_and_a_token_pair(s: &Suite) {
    let email = random::email();
    let body = signup_body(&email, "correct horse battery");
    let r = Caller::anon(&s.api).post("/v1/auth/signup", &body).await;
    r.expect_status(201);
    let b = r.json();
    assert_eq!(
        keys(&b),
        [
            "access_token",
            "expires_in",
            "org",
            "refresh_token",
            "token_type",
            "user"
        ],
        "{b}"
    );
    let user = &b["user"];
    assert_eq!(
        keys(user),
        ["created_at", "email", "email_verified", "id", "name"]
    );
    assert_id(&user["id"], "usr_");
    assert_eq!(user["email"], email);
    assert_eq!(user["name"], body["name"]);
    assert_eq!(user["email_verified"], false);
    assert_time(&user["created_at"], "user.created_at");
    let org = &b["org"];
    assert_eq!(keys(org), ["created_at", "id", "name", "plan", "role"]);
    assert_id(&org["id"], "org_");
    assert_eq!(org["name"], body["org_name"]);
    assert_eq!(org["plan"], "free");
    assert_eq!(org["role"], "owner");
    assert_time(&org["created_at"], "org.created_at");
    let user_id = user["id"].as_str().unwrap();
    let (access, _) = token_pair(&b, user_id);

    let me = assert_alive(&s.api, &access, "signup token").await;
    assert_eq!(me["id"], user["id"]);
    assert_eq!(
        me["orgs"],
        json!([{"id": org["id"], "name": org["name"], "role": "owner"}])
    );
    // The new org is the caller's, as owner.
    let caller = Caller::bearer(&s.api, &access);
    let r = caller
        .get(&format!("/v1/orgs/{}", org["id"].as_str().unwrap()))
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["role"], "owner");
    // The password works.
    login(&s.api, &email, "correct horse battery")
        .await
        .expect_status(200);
}

async fn signup_with_a_taken_email_is_409(s: &Suite) {
    let a = signup(&s.api).await;
    for email in [
        a.email.clone(),
        a.email.to_uppercase(),
        format!("  {}", a.email),
    ] {
        let r = Caller::anon(&s.api)
            .post("/v1/auth/signup", &signup_body(&email, "another password"))
            .await;
        r.expect_problem(409, "conflict");
    }
    // The account is untouched: its password still works, the other one does not.
    login_ok(&s.api, &a).await;
    login(&s.api, &a.email, "another password")
        .await
        .expect_problem(401, "unauthenticated");
}

async fn login_answers_a_new_session(s: &Suite) {
    let a = signup(&s.api).await;
    let r = login(&s.api, &a.email.to_uppercase(), &a.password).await;
    r.expect_status(200);
    let b = r.json();
    assert_eq!(
        keys(&b),
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "token_type",
            "user"
        ],
        "{b}"
    );
    assert_eq!(
        keys(&b["user"]),
        ["created_at", "email", "email_verified", "id", "name"]
    );
    assert_eq!(b["user"]["id"], a.id);
    assert_eq!(b["user"]["email"], a.email);
    let (access, refresh) = token_pair(&b, &a.id);
    assert_ne!(refresh, a.refresh);
    let (_, login_claims) = jwt::decode(&access);
    let (_, signup_claims) = jwt::decode(&a.access);
    assert_ne!(login_claims["sid"], signup_claims["sid"], "a new session");
    assert_ne!(login_claims["jti"], signup_claims["jti"]);
    assert_alive(&s.api, &access, "login token").await;
    assert_alive(&s.api, &a.access, "signup token next to a login").await;
}

async fn wrong_password_and_unknown_email_look_the_same(s: &Suite) {
    let a = signup(&s.api).await;
    let wrong = login(&s.api, &a.email, "not the password").await;
    let unknown = login(&s.api, &random::email(), "not the password").await;
    let p1 = wrong.expect_problem(401, "unauthenticated");
    let p2 = unknown.expect_problem(401, "unauthenticated");
    assert_eq!(p1.title, p2.title);
    assert_eq!(p1.detail, p2.detail);
    assert_eq!(p1.type_, p2.type_);
    let strip = |mut b: Value| {
        b.as_object_mut().unwrap().remove("request_id");
        b
    };
    assert_eq!(strip(p1.body), strip(p2.body), "the two bodies differ");
    for h in ["content-type", "www-authenticate"] {
        assert_eq!(wrong.header(h), unknown.header(h), "header {h}");
    }
}

async fn refresh_rotates_and_reuse_revokes_the_session(s: &Suite) {
    let a = signup(&s.api).await;
    let (access1, refresh1) = login_ok(&s.api, &a).await;
    let (_, c1) = jwt::decode(&access1);

    let r = refresh(&s.api, &refresh1).await;
    r.expect_status(200);
    let (access2, refresh2) = token_pair(&r.json(), &a.id);
    assert_ne!(refresh2, refresh1);
    assert_ne!(access2, access1);
    let (_, c2) = jwt::decode(&access2);
    assert_eq!(c2["sid"], c1["sid"], "a refresh stays in its session");
    assert_alive(&s.api, &access2, "refreshed access token").await;

    // The spent token comes back: 401, and the whole session is gone.
    let reuse = refresh(&s.api, &refresh1).await;
    reuse.expect_problem(401, "unauthenticated");
    assert_dead(
        &s.api,
        &access2,
        "access token of a session revoked by reuse",
    )
    .await;
    assert_dead(&s.api, &access1, "first access token of that session").await;
    refresh(&s.api, &refresh2)
        .await
        .expect_problem(401, "unauthenticated");
    // Org routes too.
    let r = Caller::bearer(&s.api, &access2)
        .get(&format!("/v1/orgs/{}", a.org_id))
        .await;
    r.expect_problem(401, "unauthenticated");

    // Other sessions are untouched; a new login works.
    assert_alive(&s.api, &a.access, "the signup session").await;
    let (access3, refresh3) = login_ok(&s.api, &a).await;
    assert_alive(&s.api, &access3, "a new login after reuse").await;
    refresh(&s.api, &refresh3).await.expect_status(200);

    // Logout: that access token dies at once, everywhere.
    let (access4, refresh4) = login_ok(&s.api, &a).await;
    let out = Caller::bearer(&s.api, &access4)
        .post("/v1/auth/logout", &json!({}))
        .await;
    out.expect_status(204);
    assert!(out.body.is_empty(), "204 with a body: {}", out.text());
    assert_dead(&s.api, &access4, "logged-out access token").await;
    refresh(&s.api, &refresh4)
        .await
        .expect_problem(401, "unauthenticated");
}

async fn logout_kills_the_access_token_at_once(s: &Suite) {
    let a = signup(&s.api).await;
    let (access, refresh_token) = login_ok(&s.api, &a).await;
    let caller = Caller::bearer(&s.api, &access);
    // Used (and so cached by the verifier) before logout.
    caller.get("/v1/me").await.expect_status(200);
    caller
        .get(&format!("/v1/orgs/{}", a.org_id))
        .await
        .expect_status(200);
    // Logout needs no body.
    super::kit::send(
        caller
            .request(edge_tests::Method::POST, "/v1/auth/logout")
            .header("content-length", "0"),
    )
    .await
    .expect_status(204);
    for path in [
        "/v1/me".to_owned(),
        "/v1/orgs".to_owned(),
        format!("/v1/orgs/{}", a.org_id),
        format!("/v1/orgs/{}/members", a.org_id),
    ] {
        let r = caller.get(&path).await;
        assert_eq!(r.status, 401, "GET {path} after logout: {}", r.text());
        r.expect_problem(401, "unauthenticated");
    }
    caller
        .post("/v1/auth/logout", &json!({}))
        .await
        .expect_problem(401, "unauthenticated");
    refresh(&s.api, &refresh_token)
        .await
        .expect_problem(401, "unauthenticated");
    assert_alive(&s.api, &a.access, "another session of the user").await;
}

async fn concurrent_refreshes_with_one_token_let_one_win(s: &Suite) {
    let a = signup(&s.api).await;
    for round in 0..4 {
        let (access, token) = login_ok(&s.api, &a).await;
        let (r1, r2) = join(refresh(&s.api, &token), refresh(&s.api, &token)).await;
        let mut statuses = [r1.status, r2.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses,
            [200, 401],
            "round {round}: {} / {}",
            r1.text(),
            r2.text()
        );
        let (winner, loser) = if r1.status == 200 { (r1, r2) } else { (r2, r1) };
        loser.expect_problem(401, "unauthenticated");
        let (new_access, new_refresh) = token_pair(&winner.json(), &a.id);
        // The loser presented a spent token: the session is revoked, the winner's pair too.
        assert_dead(
            &s.api,
            &new_access,
            "winner's access token after a reuse race",
        )
        .await;
        assert_dead(&s.api, &access, "the session's first access token").await;
        refresh(&s.api, &new_refresh)
            .await
            .expect_problem(401, "unauthenticated");
    }
}
