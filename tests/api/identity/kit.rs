//! What the identity tests share: a [`Caller`] whose every reply is scanned for leaked secrets,
//! accounts made through the real signup, the `email` jobs the origin received, and the
//! organization set-ups (invite + accept, API keys).

pub use super::leaks::{send, send_key_create, send_totp_enroll};
use crate::support::Suite;
use edge_tests::reqwest::RequestBuilder;
use edge_tests::{random, Api, Method, Reply};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

/// How long an `email` job may take to reach the origin.
pub const EMAIL_DEADLINE: Duration = Duration::from_secs(30);

/// Every scope the contract names.
pub const SCOPES: [&str; 7] = [
    "documents:read",
    "documents:write",
    "files:read",
    "files:write",
    "rooms:join",
    "jobs:write",
    "usage:read",
];

/// Requests against a worker with an optional `Authorization: Bearer` credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub api: Api,
    pub bearer: Option<String>,
}

impl Caller {
    pub fn anon(api: &Api) -> Caller {
        Caller {
            api: api.clone(),
            bearer: None,
        }
    }

    pub fn bearer(api: &Api, credential: &str) -> Caller {
        Caller {
            api: api.clone(),
            bearer: Some(credential.to_owned()),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.api.request(method, path);
        match &self.bearer {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `method path` with an optional JSON body, checked by [`send`].
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Reply {
        let req = self.request(method, path);
        send(match body {
            Some(b) => req.json(b),
            None => req,
        })
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.call(Method::DELETE, path, None).await
    }
}

/// A user made through `POST /v1/auth/signup`, with the org it created and its first session.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub password: String,
    pub name: String,
    /// The organization signup created (the account owns it).
    pub org_id: String,
    pub access: String,
    pub refresh: String,
}

impl Account {
    /// A caller with this account's signup access token.
    pub fn on(&self, api: &Api) -> Caller {
        Caller::bearer(api, &self.access)
    }
}

pub fn password() -> String {
    format!("pw-{}", random::hex(8))
}

pub fn signup_body(email: &str, password: &str) -> Value {
    json!({
        "email": email,
        "password": password,
        "name": format!("Test User {}", random::hex(3)),
        "org_name": format!("Org {}", random::hex(3)),
    })
}

/// Signs up a fresh random account.
pub async fn signup(api: &Api) -> Account {
    signup_as(api, &random::email()).await
}

/// Signs up `email` (201 expected).
pub async fn signup_as(api: &Api, email: &str) -> Account {
    let password = password();
    let body = signup_body(email, &password);
    let r = Caller::anon(api).post("/v1/auth/signup", &body).await;
    r.expect_status(201);
    let b = r.json();
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("signup answer lacks a string: {b}"))
            .to_owned()
    };
    Account {
        id: text(&b["user"]["id"]),
        email: email.to_owned(),
        password,
        name: text(&b["user"]["name"]),
        org_id: text(&b["org"]["id"]),
        access: text(&b["access_token"]),
        refresh: text(&b["refresh_token"]),
    }
}

/// `POST /v1/auth/login`.
pub async fn login(api: &Api, email: &str, password: &str) -> Reply {
    Caller::anon(api)
        .post(
            "/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
}

/// A new session of `account`: `(access, refresh)`.
pub async fn login_ok(api: &Api, account: &Account) -> (String, String) {
    let r = login(api, &account.email, &account.password).await;
    r.expect_status(200);
    let b = r.json();
    (
        b["access_token"].as_str().unwrap().to_owned(),
        b["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// `GET /v1/me` with `access` must be 401 `unauthenticated`.
pub async fn assert_dead(api: &Api, access: &str, what: &str) {
    let r = Caller::bearer(api, access).get("/v1/me").await;
    assert_eq!(r.status, 401, "{what}: GET /v1/me gave {}", r.text());
    r.expect_problem(401, "unauthenticated");
}

/// `GET /v1/me` with `access` must be 200; returns the body.
pub async fn assert_alive(api: &Api, access: &str, what: &str) -> Value {
    let r = Caller::bearer(api, access).get("/v1/me").await;
    assert_eq!(r.status, 200, "{what}: GET /v1/me gave {}", r.text());
    r.json()
}

/// Every `email` job the origin received for `to` with template `template` (whole bodies).
pub fn emails(s: &Suite, to: &str, template: &str) -> Vec<Value> {
    s.origin
        .requests()
        .into_iter()
        .filter(|r| r.path == "/jobs/email")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .filter(|b| b["payload"]["to"] == to && b["payload"]["template"] == template)
        .collect()
}

/// Waits until at least `n` such jobs arrived; returns them in arrival order.
pub async fn wait_emails(s: &Suite, to: &str, template: &str, n: usize) -> Vec<Value> {
    let what = format!("{n} `{template}` email job(s) to {to}");
    edge_tests::eventually(&what, EMAIL_DEADLINE, || async {
        let seen = emails(s, to, template);
        (seen.len() >= n).then_some(seen)
    })
    .await
}

/// The `email` job body (template `invitation`) of invitation `invitation_id` to `to`.
pub async fn invitation_email(s: &Suite, to: &str, invitation_id: &str) -> Value {
    let what = format!("the invitation email of {invitation_id} to {to}");
    edge_tests::eventually(&what, EMAIL_DEADLINE, || async {
        emails(s, to, "invitation")
            .into_iter()
            .find(|b| b["payload"]["invitation_id"] == invitation_id)
    })
    .await
}

/// `POST /v1/orgs/{org}/invitations` (201 expected); returns the invitation.
pub async fn invite(by: &Caller, org: &str, email: &str, role: &str) -> Value {
    let r = by
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            &json!({"email": email, "role": role}),
        )
        .await;
    r.expect_status(201);
    r.json()
}

/// The token of invitation `invitation` (as `invite` returned it), from its email job.
pub async fn invitation_token(s: &Suite, invitation: &Value) -> String {
    let email = invitation["email"].as_str().unwrap();
    let id = invitation["id"].as_str().unwrap();
    let job = invitation_email(s, email, id).await;
    job["payload"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("invitation email without token: {job}"))
        .to_owned()
}

/// `POST /v1/invitations/accept`.
pub async fn accept(api: &Api, account: &Account, token: &str) -> Reply {
    account
        .on(api)
        .post("/v1/invitations/accept", &json!({"token": token}))
        .await
}

/// A fresh account that joined `org` with `role` through invitation and acceptance.
pub async fn join(s: &Suite, by: &Caller, org: &str, role: &str) -> Account {
    let account = signup(&s.api).await;
    let inv = invite(by, org, &account.email, role).await;
    let token = invitation_token(s, &inv).await;
    let r = accept(&s.api, &account, &token).await;
    r.expect_status(200);
    let b = r.json();
    assert_eq!(b["role"], role, "{b}");
    assert_eq!(b["org_id"], org, "{b}");
    account
}

/// [`join`] for each role: the signups and the waits for the emails run concurrently, the
/// writes to the organization (invite, accept) one after another.
pub async fn join_all_roles(s: &Suite, by: &Caller, org: &str, roles: &[&str]) -> Vec<Account> {
    let accounts = join_all(roles.iter().map(|_| signup(&s.api))).await;
    let mut invitations = Vec::new();
    for (account, role) in accounts.iter().zip(roles) {
        invitations.push(invite(by, org, &account.email, role).await);
    }
    let tokens = join_all(invitations.iter().map(|inv| invitation_token(s, inv))).await;
    for ((account, token), role) in accounts.iter().zip(&tokens).zip(roles) {
        let r = accept(&s.api, account, token).await;
        r.expect_status(200);
        let b = r.json();
        assert_eq!(b["role"], *role, "{b}");
        assert_eq!(b["org_id"], org, "{b}");
    }
    accounts
}

/// `POST /v1/orgs/{org}/api-keys` (201 expected); returns `(answer, key)`.
pub async fn create_key(by: &Caller, org: &str, scopes: &[&str]) -> (Value, String) {
    let body = json!({"name": format!("key {}", random::hex(3)), "scopes": scopes});
    let r = create_key_reply(by, org, &body).await;
    r.expect_status(201);
    let b = r.json();
    let key = b["key"].as_str().unwrap().to_owned();
    (b, key)
}

/// `POST /v1/orgs/{org}/api-keys` with `body`, checked by [`send_key_create`].
pub async fn create_key_reply(by: &Caller, org: &str, body: &Value) -> Reply {
    send_key_create(
        by.request(Method::POST, &format!("/v1/orgs/{org}/api-keys"))
            .json(body),
    )
    .await
}

/// A new organization owned by `by`; returns its id.
pub async fn create_org(by: &Caller) -> String {
    let r = by
        .post(
            "/v1/orgs",
            &json!({"name": format!("Org {}", random::hex(4))}),
        )
        .await;
    r.expect_status(201);
    r.json()["id"].as_str().unwrap().to_owned()
}

/// Every item of list `path` (which may already have a query), following `next_cursor`
/// with pages of `limit`.
pub async fn list_all(by: &Caller, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(c) => format!("{path}{sep}limit={limit}&cursor={c}"),
        };
        let r = by.get(&url).await;
        r.expect_status(200);
        let b = r.json();
        let page = b["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{url}: no items: {b}"));
        assert!(page.len() <= limit, "{url}: page over the limit: {b}");
        items.extend(page.iter().cloned());
        match b["next_cursor"].as_str() {
            Some(c) => {
                assert!(!page.is_empty(), "{url}: empty page with a cursor: {b}");
                cursor = Some(c.to_owned());
            }
            None => {
                assert!(b["next_cursor"].is_null(), "{url}: next_cursor: {b}");
                return items;
            }
        }
    }
    panic!("{path}: more than 1000 pages");
}

/// The members of `org` as `(user_id → role)`.
pub async fn roles(by: &Caller, org: &str) -> std::collections::BTreeMap<String, String> {
    list_all(by, &format!("/v1/orgs/{org}/members"), 100)
        .await
        .into_iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Asserts an RFC 3339 timestamp.
pub fn assert_time(v: &Value, what: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(s).is_ok(),
        "{what} is not RFC 3339: {s}"
    );
}

/// Asserts an id of `prefix` with at least 96 random bits (16+ characters after it).
pub fn assert_id(v: &Value, prefix: &str) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("id is not a string: {v}"));
    let rest = s
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{s} lacks the prefix {prefix}"));
    assert!(rest.len() >= 16, "{s} is too short for 96 random bits");
}

/// The sorted keys of a JSON object.
pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// Asserts `v` has (at least) the `expected` keys.
pub fn assert_has_keys(v: &Value, expected: &[&str], what: &str) {
    for k in expected {
        assert!(v.get(*k).is_some(), "{what} lacks `{k}`: {v}");
    }
}
