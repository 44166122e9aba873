//! Browser cookie sessions in a real browser (headless Chromium keeps the `__Host-` cookie,
//! sends it back, never shows it to the page's script, and its writes need the CSRF token),
//! and the other ways into a cookie session: signup, and a sign-in finished with a second
//! factor.

use super::cookies::{browser_of, document_count, with_cookie};
use super::kit::{signup, Caller};
use crate::identity::kit::send;
use crate::support::{trial, Suite};
use edge_tests::chromium::Chromium;
use libtest_mimic::Trial;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_browser_keeps_the_cookie_and_its_script_cannot_read_it),
        trial!(a_second_factor_sign_in_can_end_in_a_cookie),
        trial!(a_cookie_signup_needs_no_login),
    ]
}

async fn a_second_factor_sign_in_can_end_in_a_cookie(s: &Suite) {
    let api = &s.api;
    let mut e = super::kit::enrolled(api).await;
    let a = e.account.clone();
    let r = send(
        Caller::anon(api)
            .request(Method::POST, "/v1/auth/login")
            .json(&json!({"email": a.email, "password": a.password, "session": "cookie"})),
    )
    .await;
    let p = r.expect_problem(403, "mfa_required");
    assert!(
        r.header("set-cookie").is_none(),
        "no cookie before the second factor"
    );
    let token = p.body["mfa_token"].as_str().unwrap().to_owned();
    let code = e.app.code().await;
    let r = send(
        Caller::anon(api)
            .request(Method::POST, "/v1/auth/mfa")
            .json(&json!({"mfa_token": token, "code": code, "session": "cookie"})),
    )
    .await;
    r.expect_status(200);
    let b = browser_of(&r);
    let sess = send(with_cookie(api, Method::GET, "/v1/auth/session", &b)).await;
    sess.expect_status(200);
    let amr: Vec<String> = serde_json::from_value(sess.json()["amr"].clone()).unwrap();
    assert!(
        amr.contains(&"otp".to_owned()) && amr.contains(&"mfa".to_owned()),
        "{amr:?}"
    );
}

async fn a_browser_keeps_the_cookie_and_its_script_cannot_read_it(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    // `localhost` (a secure context, as `__Host-` needs), on the worker's port.
    let base = api
        .url("")
        .trim_end_matches('/')
        .replace("127.0.0.1", "localhost");
    // A page of the worker whose policy lets script call its own origin (`connect-src 'self'`).
    let mut page = Chromium::open(&format!("{base}/demo/rooms"))
        .await
        .expect("chromium");
    let loaded = format!("location.origin === '{base}' && document.readyState === 'complete'");
    assert!(
        page.wait_for(&loaded, Duration::from_secs(20)).await,
        "page loaded: {:?}",
        page.eval("location.href").await
    );
    let login = page
        .eval(&format!(
            "fetch('/v1/auth/login', {{method: 'POST', headers: {{'content-type': 'application/json'}}, \
             body: JSON.stringify({{email: {e}, password: {p}, session: 'cookie'}})}})\
             .then(async r => ({{status: r.status, body: await r.json()}}))",
            e = Value::from(a.email.clone()),
            p = Value::from(a.password.clone()),
        ))
        .await
        .expect("login");
    assert_eq!(login["status"], 200, "{login}");
    let csrf = login["body"]["csrf_token"]
        .as_str()
        .expect("csrf")
        .to_owned();
    let visible = page.eval("document.cookie").await.expect("document.cookie");
    assert!(
        !visible
            .as_str()
            .unwrap_or_default()
            .contains("edge_session"),
        "HttpOnly: {visible}"
    );
    // The browser sends the cookie back: the session is known without any token in script.
    let me = page
        .eval("fetch('/v1/me').then(async r => ({status: r.status, body: await r.json()}))")
        .await
        .expect("me");
    assert_eq!(me["status"], 200, "{me}");
    assert_eq!(me["body"]["id"], a.id.as_str());
    let post = |token: Option<&str>| {
        let header = token.map_or(String::new(), |t| format!(", 'x-csrf-token': '{t}'"));
        format!(
            "fetch('/v1/orgs/{org}/documents', {{method: 'POST', headers: {{'content-type': 'application/json'{header}}}, \
             body: JSON.stringify({{title: 'in a browser', content: 'hello'}})}})\
             .then(async r => ({{status: r.status, body: await r.json()}}))",
            org = a.org_id
        )
    };
    let refused = page.eval(&post(None)).await.expect("post without token");
    assert_eq!(refused["status"], 403, "{refused}");
    assert_eq!(refused["body"]["code"], "csrf_failed");
    let made = page
        .eval(&post(Some(&csrf)))
        .await
        .expect("post with token");
    assert_eq!(made["status"], 201, "{made}");
    assert_eq!(document_count(&a, api).await, 1);
    // Logout clears the cookie in the browser: the next call is anonymous.
    let out = page
        .eval(&format!(
            "fetch('/v1/auth/logout', {{method: 'POST', headers: {{'x-csrf-token': '{csrf}'}}}}).then(r => r.status)"
        ))
        .await
        .expect("logout");
    assert_eq!(out, 204);
    let after = page
        .eval("fetch('/v1/me').then(r => r.status)")
        .await
        .expect("me after");
    assert_eq!(after, 401);
}

async fn a_cookie_signup_needs_no_login(s: &Suite) {
    let api = &s.api;
    let mut body = crate::identity::kit::signup_body(
        &edge_tests::random::email(),
        &crate::identity::kit::password(),
    );
    body["session"] = json!("cookie");
    let r = send(
        Caller::anon(api)
            .request(Method::POST, "/v1/auth/signup")
            .json(&body),
    )
    .await;
    r.expect_status(201);
    let j = r.json();
    assert!(
        j.get("access_token").is_none() && j.get("refresh_token").is_none(),
        "{j}"
    );
    let b = browser_of(&r);
    let org = j["org"]["id"].as_str().expect("org").to_owned();
    let docs = format!("/v1/orgs/{org}/documents");
    send(with_cookie(api, Method::GET, &docs, &b))
        .await
        .expect_status(200);
    let made = send(
        with_cookie(api, Method::POST, &docs, &b)
            .header("X-CSRF-Token", &b.csrf)
            .json(&json!({"title": "first"})),
    )
    .await;
    made.expect_status(201);
}
