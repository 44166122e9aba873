//! Sessions a user can see and end: the list shows each device's user agent and how it signed
//! in; ending one (or all but the current) stops its access and refresh tokens at once and
//! closes its sockets; a sign-in from a device new to the account sends a notice email.

use super::kit::{login_tokens, signup, Account, Caller};
use crate::identity::kit::{send, wait_emails};
use crate::rooms::kit::{connect, room_name, EVENT};
use crate::support::{trial, Suite};
use edge_tests::Api;
use libtest_mimic::Trial;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(sessions_are_listed_with_their_devices),
        trial!(ending_a_session_stops_its_tokens_and_sockets_at_once),
        trial!(signing_out_everywhere_else_keeps_only_this_session),
        trial!(a_new_device_gets_a_notice),
    ]
}

/// A password login sent with `User-Agent: ua`: `(access, refresh)`.
async fn login_from(api: &Api, a: &Account, ua: &str) -> (String, String) {
    let r = send(
        Caller::anon(api)
            .request(Method::POST, "/v1/auth/login")
            .header("User-Agent", ua)
            .json(&json!({"email": a.email, "password": a.password})),
    )
    .await;
    login_tokens(&r)
}

async fn sessions(api: &Api, access: &str) -> Vec<Value> {
    let r = Caller::bearer(api, access).get("/v1/me/sessions").await;
    r.expect_status(200);
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

fn sid(access: &str) -> String {
    super::kit::claims(access)["sid"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn sessions_are_listed_with_their_devices(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (laptop, _) = login_from(api, &a, "Laptop Browser/1.0").await;
    let (phone, _) = login_from(api, &a, "Phone App/2.0").await;
    let items = sessions(api, &laptop).await;
    assert_eq!(items.len(), 3, "{items:?}");
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i["id"] == id)
            .unwrap_or_else(|| panic!("{id} listed: {items:?}"))
            .clone()
    };
    let l = by_id(&sid(&laptop));
    assert_eq!(l["user_agent"], "Laptop Browser/1.0", "{l}");
    assert_eq!(l["current"], true, "{l}");
    assert_eq!(l["method"], "password", "{l}");
    assert_eq!(l["amr"], json!(["pwd"]), "{l}");
    let p = by_id(&sid(&phone));
    assert_eq!(p["user_agent"], "Phone App/2.0", "{p}");
    assert_eq!(p["current"], false, "{p}");
    assert_eq!(by_id(&sid(&a.access))["current"], false);
    for i in &items {
        for k in ["created_at", "last_used_at", "ip"] {
            assert!(i.get(k).is_some(), "{k} in {i}");
        }
    }
    // Another user sees only their own.
    let b = signup(api).await;
    let theirs = sessions(api, &b.access).await;
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    assert_eq!(theirs[0]["id"], sid(&b.access).as_str());
    // API keys have no sessions.
    let (_, key) =
        crate::identity::kit::create_key(&a.on(api), &a.org_id, &["documents:read"]).await;
    Caller::bearer(api, &key)
        .get("/v1/me/sessions")
        .await
        .expect_problem(403, "forbidden");
}

async fn ending_a_session_stops_its_tokens_and_sockets_at_once(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (phone, phone_refresh) = login_from(api, &a, "Phone App/2.0").await;
    let room = room_name();
    let (mut ws, _) = connect(api, &phone, &a.org_id, &room).await;
    // Another user cannot end it, nor learn that it exists.
    let b = signup(api).await;
    b.on(api)
        .delete(&format!("/v1/me/sessions/{}", sid(&phone)))
        .await
        .expect_problem(404, "not_found");
    Caller::bearer(api, &phone)
        .get("/v1/me")
        .await
        .expect_status(200);
    a.on(api)
        .delete(&format!("/v1/me/sessions/{}", sid(&phone)))
        .await
        .expect_status(204);
    // At once: the access token, the refresh token and the socket.
    Caller::bearer(api, &phone)
        .get("/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    Caller::bearer(api, &phone)
        .get(&format!("/v1/orgs/{}/documents", a.org_id))
        .await
        .expect_problem(401, "unauthenticated");
    Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": phone_refresh}))
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(ws.closed_with(EVENT).await, Some(4001));
    // The session that ended it lives on; ending it twice is 404.
    a.on(api).get("/v1/me").await.expect_status(200);
    a.on(api)
        .delete(&format!("/v1/me/sessions/{}", sid(&phone)))
        .await
        .expect_problem(404, "not_found");
    let left: Vec<String> = sessions(api, &a.access)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(left, [sid(&a.access)]);
}

async fn signing_out_everywhere_else_keeps_only_this_session(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (one, _) = login_from(api, &a, "One/1").await;
    let (two, two_refresh) = login_from(api, &a, "Two/2").await;
    let b = signup(api).await;
    let r = Caller::bearer(api, &one)
        .post("/v1/me/sessions/revoke-others", &json!(null))
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["revoked"], 2, "{}", r.text());
    for dead in [&a.access, &two] {
        Caller::bearer(api, dead)
            .get("/v1/me")
            .await
            .expect_problem(401, "unauthenticated");
    }
    Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": two_refresh}))
        .await
        .expect_problem(401, "unauthenticated");
    let left = sessions(api, &one).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["current"], true);
    // Nobody else's sessions were touched.
    b.on(api).get("/v1/me").await.expect_status(200);
}

async fn a_new_device_gets_a_notice(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    login_from(api, &a, "Laptop Browser/1.0").await;
    login_from(api, &a, "Laptop Browser/1.0").await;
    login_from(api, &a, "Phone App/2.0").await;
    let mails = wait_emails(s, &a.email, "new_sign_in", 2).await;
    // The repeat sign-in from the laptop sent nothing: give it time to have arrived.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let mails = crate::identity::kit::emails(s, &a.email, "new_sign_in")
        .len()
        .max(mails.len());
    assert_eq!(mails, 2, "one notice per new device");
    let agents: BTreeSet<String> = crate::identity::kit::emails(s, &a.email, "new_sign_in")
        .iter()
        .map(|m| {
            m["payload"]["user_agent"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        agents,
        BTreeSet::from(["Laptop Browser/1.0".to_owned(), "Phone App/2.0".to_owned()])
    );
}
