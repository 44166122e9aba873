//! What the documents tests share: callers with a bearer credential, accounts made through the
//! real signup, members joined through real invitations, API keys, document paths, the shape
//! checks of `shapes` (re-exported here), list walking, and the test route that shows a room's
//! server-side events.

pub use super::shapes::{assert_doc_reply, assert_summary, etag_of, keys, str_of, version_of};

use super::shapes::key_set;
use crate::support::Suite;
use edge_tests::reqwest::RequestBuilder;
use edge_tests::{random, Api, Method, Reply, SendExt};
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

/// How long an invitation `email` job may take to reach the origin.
const EMAIL_DEADLINE: Duration = Duration::from_secs(30);
/// How long a room event may take to show up (it is published after the response).
pub const EVENT_DEADLINE: Duration = Duration::from_secs(10);

/// Requests against a worker with an `Authorization: Bearer` credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub api: Api,
    pub bearer: String,
}

impl Caller {
    pub fn new(api: &Api, bearer: &str) -> Caller {
        Caller {
            api: api.clone(),
            bearer: bearer.to_owned(),
        }
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.api.request(method, path).bearer_auth(&self.bearer)
    }

    /// `method path` without a body.
    pub async fn call(&self, method: Method, path: &str) -> Reply {
        self.request(method, path).reply().await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path).reply().await
    }

    /// [`Caller::get`] of an owned path (for futures collected in a batch).
    pub async fn get_owned(&self, path: String) -> Reply {
        self.get(&path).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path).json(body).reply().await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PATCH, path).json(body).reply().await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path).reply().await
    }
}

/// A user made through `POST /v1/auth/signup`, with the organization signup created.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    /// The organization signup created (the account owns it).
    pub org_id: String,
    pub access: String,
}

impl Account {
    pub fn on(&self, api: &Api) -> Caller {
        Caller::new(api, &self.access)
    }
}

/// A random client address, so the per-IP auth limits of one test never touch another's.
fn client_ip() -> String {
    let b = random::bytes(3);
    format!("10.{}.{}.{}", b[0], b[1], b[2])
}

/// Signs up a fresh random account (201 expected).
pub async fn signup(api: &Api) -> Account {
    signup_as(api, &random::email()).await
}

pub async fn signup_as(api: &Api, email: &str) -> Account {
    let body = json!({
        "email": email,
        "password": format!("pw-{}", random::hex(8)),
        "name": format!("Doc Tester {}", random::hex(3)),
        "org_name": format!("Docs Org {}", random::hex(3)),
    });
    let r = api
        .post_json("/v1/auth/signup", &body)
        .header("CF-Connecting-IP", client_ip())
        .reply()
        .await;
    r.expect_status(201);
    let b = r.json();
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("signup answer lacks a string: {b}"))
            .to_owned()
    };
    Account {
        id: text(&b["user"]["id"]),
        org_id: text(&b["org"]["id"]),
        access: text(&b["access_token"]),
    }
}

/// The token of the invitation email job to `to`, from the origin's record.
async fn invitation_token(s: &Suite, to: &str, invitation_id: &str) -> String {
    let what = format!("the invitation email to {to}");
    edge_tests::eventually(&what, EMAIL_DEADLINE, || async {
        s.origin
            .requests()
            .into_iter()
            .filter(|r| r.path == "/jobs/email")
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .find(|b| {
                b["payload"]["to"] == to
                    && b["payload"]["template"] == "invitation"
                    && (b["payload"]["invitation_id"].is_null()
                        || b["payload"]["invitation_id"] == invitation_id)
            })
            .and_then(|b| b["payload"]["token"].as_str().map(str::to_owned))
    })
    .await
}

/// A fresh account (on the shared worker) that joined `org` with `role`: invited by `by`,
/// signed up with the invited email, invitation accepted.
pub async fn join(s: &Suite, by: &Caller, org: &str, role: &str) -> Account {
    let email = random::email();
    let r = by
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            &json!({"email": email, "role": role}),
        )
        .await;
    r.expect_status(201);
    let invitation = r.json();
    let account = signup_as(&s.api, &email).await;
    let token = invitation_token(s, &email, invitation["id"].as_str().unwrap_or("")).await;
    let r = account
        .on(&s.api)
        .post("/v1/invitations/accept", &json!({"token": token}))
        .await;
    r.expect_status(200);
    account
}

/// An organization with one account per role.
pub struct Team {
    pub org: String,
    pub owner: Account,
    pub admin: Account,
    pub member: Account,
    /// A second member, who owns nothing the first one made.
    pub member2: Account,
    pub viewer: Account,
}

/// The owner's signup org, with an admin, two members and a viewer joined concurrently.
pub async fn team(s: &Suite) -> Team {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let by = owner.on(&s.api);
    let mut joined = join_all(
        ["admin", "member", "member", "viewer"]
            .into_iter()
            .map(|role| join(s, &by, &org, role)),
    )
    .await
    .into_iter();
    let mut next = || joined.next().expect("four joined accounts");
    Team {
        admin: next(),
        member: next(),
        member2: next(),
        viewer: next(),
        owner,
        org,
    }
}

/// `POST /v1/orgs/{org}/api-keys` by `by` with `scopes` (201 expected): `(key id, secret)`.
pub async fn api_key(by: &Caller, org: &str, scopes: &[&str]) -> (String, String) {
    let body = json!({"name": format!("docs key {}", random::hex(3)), "scopes": scopes});
    let r = by.post(&format!("/v1/orgs/{org}/api-keys"), &body).await;
    r.expect_status(201);
    let b = r.json();
    (
        b["id"].as_str().expect("key id").to_owned(),
        b["key"].as_str().expect("key secret").to_owned(),
    )
}

pub fn docs(org: &str) -> String {
    format!("/v1/orgs/{org}/documents")
}

pub fn doc(org: &str, id: &str) -> String {
    format!("/v1/orgs/{org}/documents/{id}")
}

/// A document id of the right form that names nothing.
pub fn unknown_doc_id() -> String {
    format!("doc_{}", random::hex(12))
}

/// `POST …/documents` with `body` (201 expected); returns the document.
pub async fn create(c: &Caller, org: &str, body: &Value) -> Value {
    let r = c.post(&docs(org), body).await;
    assert_eq!(r.status, 201, "create {body}: {}", r.text());
    assert_doc_reply(&r)
}

/// Creates a document titled `title` with `content` (201 expected).
pub async fn create_titled(c: &Caller, org: &str, title: &str, content: &str) -> Value {
    create(c, org, &json!({"title": title, "content": content})).await
}

/// `GET …/documents/{id}` (200 expected).
pub async fn get_doc(c: &Caller, org: &str, id: &str) -> Value {
    let r = c.get(&doc(org, id)).await;
    assert_eq!(r.status, 200, "GET {id}: {}", r.text());
    assert_doc_reply(&r)
}

/// `POST …/documents/{id}/restore`.
pub async fn restore(c: &Caller, org: &str, id: &str) -> Reply {
    c.call(Method::POST, &format!("{}/restore", doc(org, id)))
        .await
}

/// `PATCH …/documents/{id}` (200 expected); returns the document.
pub async fn patch_doc(c: &Caller, org: &str, id: &str, body: &Value) -> Value {
    let r = c.patch(&doc(org, id), body).await;
    assert_eq!(r.status, 200, "PATCH {id} {body}: {}", r.text());
    assert_doc_reply(&r)
}

/// The `items` and `next_cursor` of a list answer (200 expected).
pub fn page(r: &Reply) -> (Vec<Value>, Option<String>) {
    assert_eq!(r.status, 200, "list: {}", r.text());
    let b = r.json();
    assert_eq!(
        keys(&b),
        key_set(&["items", "next_cursor"]),
        "list answer: {b}"
    );
    let items = b["items"]
        .as_array()
        .unwrap_or_else(|| panic!("items is not an array: {b}"))
        .clone();
    let next = match &b["next_cursor"] {
        Value::Null => None,
        Value::String(c) => Some(c.clone()),
        other => panic!("next_cursor is {other}"),
    };
    (items, next)
}

/// Every item of list `path` (which may already have a query), following `next_cursor`.
pub async fn list_all(c: &Caller, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let url = match &cursor {
            None => format!("{path}{sep}limit={limit}"),
            Some(cur) => format!("{path}{sep}limit={limit}&cursor={cur}"),
        };
        let (mut got, next) = page(&c.get(&url).await);
        assert!(got.len() <= limit, "{} items for limit {limit}", got.len());
        items.append(&mut got);
        match next {
            Some(n) => cursor = Some(n),
            None => return items,
        }
    }
    panic!("{path}: more than 100 pages");
}

/// The ids of `items`, in order.
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|d| str_of(d, "id").to_owned()).collect()
}

/// The `user_id`s of share items, in order.
pub fn user_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|d| str_of(d, "user_id").to_owned())
        .collect()
}

/// Ids of the organization's live documents (whole list).
pub async fn listed_ids(c: &Caller, org: &str) -> Vec<String> {
    ids(&list_all(c, &docs(org), 100).await)
}

/// Ids found by a full-text search for `q` (200 expected, first page of up to 100).
pub async fn search_ids(c: &Caller, org: &str, q: &str) -> Vec<String> {
    let url = format!("{}?limit=100&q={}", docs(org), encode(q));
    let (items, _) = page(&c.get(&url).await);
    for d in &items {
        assert_summary(d);
        assert_eq!(d["org_id"], org, "a search hit of another org: {d}");
    }
    ids(&items)
}

/// Percent-encodes `s` for a query string (every byte but unreserved ones).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A word of letters and digits no other test uses (a full-text search term).
pub fn word() -> String {
    format!("w{}", random::hex(6))
}

/// The server-side events of room `doc:{id}` of `org`, oldest first (test-only route).
pub async fn room_events(api: &Api, org: &str, id: &str) -> Vec<Value> {
    let r = api
        .get(&format!("/__test/rooms/{org}/doc:{id}/events"))
        .reply()
        .await;
    assert_eq!(r.status, 200, "room events: {}", r.text());
    r.json()
        .as_array()
        .unwrap_or_else(|| panic!("room events are not an array: {}", r.text()))
        .clone()
}

/// Waits until room `doc:{id}` holds at least `n` events; returns them all.
pub async fn wait_room_events(api: &Api, org: &str, id: &str, n: usize) -> Vec<Value> {
    let what = format!("{n} event(s) in room doc:{id}");
    edge_tests::eventually(&what, EVENT_DEADLINE, || async {
        let events = room_events(api, org, id).await;
        (events.len() >= n).then_some(events)
    })
    .await
}
