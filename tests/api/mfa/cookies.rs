//! Browser cookie sessions: a sign-in with `"session": "cookie"` sets a `__Host-` cookie with
//! exactly the promised attributes and hands out no token; requests authenticate with it;
//! every state-changing one needs the CSRF token bound to the cookie and an allowed origin,
//! and a refused one changes nothing; logout clears it. The browser trials are in
//! `cookie_browser`.

use super::kit::{signup, Account, Caller};
use crate::identity::kit::send;
use crate::support::{trial, Suite};
use edge_tests::{Api, Reply, SendExt};
use libtest_mimic::Trial;
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_cookie_sign_in_sets_a_host_cookie_and_no_token),
        trial!(cross_site_writes_with_the_cookie_are_refused_and_change_nothing),
        trial!(logout_and_ending_the_session_clear_the_cookie),
    ]
}

pub(super) const COOKIE: &str = "__Host-edge_session";
const ALLOWED: &str = "https://app.test.example";

/// A browser session of `a`: `(cookie value, csrf token, session id)`.
pub(super) struct Browser {
    pub cookie: String,
    pub csrf: String,
    pub session_id: String,
}

pub(super) async fn cookie_login(api: &Api, a: &Account) -> (Reply, Browser) {
    let r = send(
        Caller::anon(api)
            .request(Method::POST, "/v1/auth/login")
            .json(&json!({"email": a.email, "password": a.password, "session": "cookie"})),
    )
    .await;
    r.expect_status(200);
    let b = browser_of(&r);
    (r, b)
}

pub(super) fn browser_of(r: &Reply) -> Browser {
    let set = r.header("set-cookie").expect("Set-Cookie").to_owned();
    let (pair, _) = set.split_once(';').expect("attributes");
    let (name, value) = pair.split_once('=').expect("name=value");
    assert_eq!(name, COOKIE, "{set}");
    let body = r.json();
    Browser {
        cookie: value.to_owned(),
        csrf: body["csrf_token"].as_str().expect("csrf_token").to_owned(),
        session_id: body["session_id"].as_str().expect("session_id").to_owned(),
    }
}

/// A request carrying the cookie (and nothing else of the browser's).
pub(super) fn with_cookie(
    api: &Api,
    method: Method,
    path: &str,
    b: &Browser,
) -> reqwest::RequestBuilder {
    api.request(method, path)
        .header("Cookie", format!("theme=dark; {COOKIE}={}", b.cookie))
}

fn attributes(set_cookie: &str) -> BTreeSet<String> {
    set_cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect()
}

pub(super) async fn document_count(a: &Account, api: &Api) -> usize {
    let r = a
        .on(api)
        .get(&format!("/v1/orgs/{}/documents?limit=100", a.org_id))
        .await;
    r.expect_status(200);
    r.json()["items"].as_array().map_or(0, Vec::len)
}

async fn a_cookie_sign_in_sets_a_host_cookie_and_no_token(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (r, b) = cookie_login(api, &a).await;
    let set = r.header("set-cookie").unwrap_or_default().to_owned();
    let expected: BTreeSet<String> = [
        "path=/",
        "max-age=2592000",
        "secure",
        "httponly",
        "samesite=lax",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        attributes(&set),
        expected,
        "exact attributes, no Domain: {set}"
    );
    assert!(b.cookie.starts_with("sc_") && b.cookie.len() == 46, "{set}");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["session_id", "expires_at", "csrf_token", "user"]),
        "no token in a cookie sign-in: {body}"
    );
    assert!(
        !r.text().contains(&b.cookie),
        "the cookie is never in the body"
    );

    // The cookie authenticates reads without any proof.
    let me = send(with_cookie(api, Method::GET, "/v1/me", &b)).await;
    me.expect_status(200);
    assert_eq!(me.json()["id"], a.id);
    // The session tells who and gives the same CSRF token again.
    let sess = send(with_cookie(api, Method::GET, "/v1/auth/session", &b)).await;
    sess.expect_status(200);
    let sj = sess.json();
    assert_eq!(sj["session_id"], b.session_id.as_str());
    assert_eq!(sj["user_id"], a.id.as_str());
    assert_eq!(sj["csrf_token"], b.csrf.as_str());
    assert_eq!(sj["amr"], json!(["pwd"]));
    // An SPA may mint a short access token of the same session (with the CSRF proof).
    let ex = send(
        with_cookie(api, Method::POST, "/v1/auth/session", &b).header("X-CSRF-Token", &b.csrf),
    )
    .await;
    ex.expect_status(200);
    let access = ex.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(super::kit::claims(&access)["sid"], b.session_id.as_str());
    Caller::bearer(api, &access)
        .get("/v1/me")
        .await
        .expect_status(200);
    // A bearer cannot use the cookie routes (it must not extend itself).
    for m in [Method::GET, Method::POST] {
        let r = Caller::bearer(api, &a.access)
            .call(m, "/v1/auth/session", None)
            .await;
        r.expect_problem(401, "unauthenticated");
    }
    // A cookie of the wrong shape, or one never issued, is no session.
    let forged = Browser {
        cookie: format!("sc_{}", "A".repeat(43)),
        csrf: String::new(),
        session_id: String::new(),
    };
    let r = send(with_cookie(api, Method::GET, "/v1/me", &forged)).await;
    r.expect_problem(401, "unauthenticated");
    assert!(r
        .header("set-cookie")
        .unwrap_or_default()
        .contains("Max-Age=0"));
    // A bearer always wins over a cookie.
    let other = signup(api).await;
    let r = send(with_cookie(api, Method::GET, "/v1/me", &b).bearer_auth(&other.access)).await;
    assert_eq!(r.json()["id"], other.id.as_str());
    // The session is listed among the user's sessions.
    let list = a.on(api).get("/v1/me/sessions").await;
    assert!(
        list.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == b.session_id.as_str()),
        "{}",
        list.text()
    );
}

async fn cross_site_writes_with_the_cookie_are_refused_and_change_nothing(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (_, b) = cookie_login(api, &a).await;
    let (_, other) = cookie_login(api, &a).await;
    let path = format!("/v1/orgs/{}/documents", a.org_id);
    let doc = json!({"title": "from a browser", "content": "x"});
    let good = b.csrf.clone();
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("no token", vec![("Origin", ALLOWED)]),
        (
            "a wrong token",
            vec![("Origin", ALLOWED), ("X-CSRF-Token", "AAAA")],
        ),
        (
            "the token of another session",
            vec![("Origin", ALLOWED), ("X-CSRF-Token", other.csrf.as_str())],
        ),
        (
            "a foreign origin",
            vec![
                ("Origin", "https://evil.example"),
                ("X-CSRF-Token", good.as_str()),
            ],
        ),
        (
            "an opaque origin",
            vec![("Origin", "null"), ("X-CSRF-Token", good.as_str())],
        ),
        (
            "a cross-site fetch without Origin",
            vec![
                ("Sec-Fetch-Site", "cross-site"),
                ("X-CSRF-Token", good.as_str()),
            ],
        ),
        (
            "a same-site fetch without Origin",
            vec![
                ("Sec-Fetch-Site", "same-site"),
                ("X-CSRF-Token", good.as_str()),
            ],
        ),
    ];
    for (what, headers) in &refused {
        let mut req = with_cookie(api, Method::POST, &path, &b).json(&doc);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = send(req).await;
        let p = r.expect_problem(403, "csrf_failed");
        assert!(p.detail.is_some_and(|d| !d.is_empty()), "{what}");
    }
    // Other state-changing routes are held the same way, before they act.
    let r =
        send(with_cookie(api, Method::POST, "/v1/auth/logout", &b).header("Origin", ALLOWED)).await;
    r.expect_problem(403, "csrf_failed");
    let r = send(
        with_cookie(api, Method::PATCH, &format!("/v1/orgs/{}", a.org_id), &b)
            .header("Origin", "https://evil.example")
            .json(&json!({"name": "taken over"})),
    )
    .await;
    r.expect_problem(403, "csrf_failed");
    assert_eq!(document_count(&a, api).await, 0, "nothing was created");
    let org = a.on(api).get(&format!("/v1/orgs/{}", a.org_id)).await;
    assert_ne!(org.json()["name"], "taken over");
    send(with_cookie(api, Method::GET, "/v1/me", &b))
        .await
        .expect_status(200);

    // The app's own origin with the token works, and may read the answer with credentials.
    let r = send(
        with_cookie(api, Method::POST, &path, &b)
            .header("Origin", ALLOWED)
            .header("X-CSRF-Token", &good)
            .json(&doc),
    )
    .await;
    r.expect_status(201);
    assert_eq!(r.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    // A non-browser client (no Origin, no Sec-Fetch-Site) with the token also works.
    let r = send(
        with_cookie(api, Method::POST, &path, &b)
            .header("X-CSRF-Token", &good)
            .json(&doc),
    )
    .await;
    r.expect_status(201);
    assert_eq!(document_count(&a, api).await, 2);
    // Preflights allow the CSRF header and credentials for listed origins only.
    let pre = api
        .request(Method::OPTIONS, &path)
        .header("Origin", ALLOWED)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "x-csrf-token, content-type",
        )
        .reply()
        .await;
    assert!(pre
        .header("access-control-allow-headers")
        .unwrap_or_default()
        .contains("x-csrf-token"));
    assert_eq!(pre.header("access-control-allow-credentials"), Some("true"));
    let pre = api
        .request(Method::OPTIONS, &path)
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "POST")
        .reply()
        .await;
    assert_eq!(pre.header("access-control-allow-credentials"), None);
    // Another org's id is a 404 with a cookie as with a bearer.
    let stranger = signup(api).await;
    let r = send(with_cookie(
        api,
        Method::GET,
        &format!("/v1/orgs/{}/documents", stranger.org_id),
        &b,
    ))
    .await;
    r.expect_problem(404, "not_found");
}

async fn logout_and_ending_the_session_clear_the_cookie(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (_, b) = cookie_login(api, &a).await;
    let r = send(
        with_cookie(api, Method::POST, "/v1/auth/logout", &b)
            .header("Origin", ALLOWED)
            .header("X-CSRF-Token", &b.csrf),
    )
    .await;
    r.expect_status(204);
    let set = r.header("set-cookie").unwrap_or_default().to_owned();
    assert!(set.starts_with(&format!("{COOKIE}=;")), "{set}");
    assert!(attributes(&set).contains("max-age=0"), "{set}");
    let r = send(with_cookie(api, Method::GET, "/v1/me", &b)).await;
    r.expect_problem(401, "unauthenticated");
    assert!(r
        .header("set-cookie")
        .unwrap_or_default()
        .contains("Max-Age=0"));

    // Ending a cookie session from another device kills the cookie at once.
    let (_, c) = cookie_login(api, &a).await;
    send(with_cookie(api, Method::GET, "/v1/me", &c))
        .await
        .expect_status(200);
    a.on(api)
        .delete(&format!("/v1/me/sessions/{}", c.session_id))
        .await
        .expect_status(204);
    send(with_cookie(api, Method::GET, "/v1/me", &c))
        .await
        .expect_problem(401, "unauthenticated");
    // The bearer session that ended it lives on.
    a.on(api).get("/v1/me").await.expect_status(200);
}
