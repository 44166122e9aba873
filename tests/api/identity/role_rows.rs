//! The rows of the role × route matrix in `roles`: every identity route with its method, an
//! optional body, what `{target}` stands for, and the status expected for each principal.

use edge_tests::{random, Method};
use serde_json::{json, Value};

/// Who calls, in the order of [`Row::expect`].
pub(super) const WHO: [&str; 6] = [
    "owner",
    "admin",
    "member",
    "viewer",
    "key(all scopes)",
    "key(1 scope)",
];

/// What `{target}` in a path stands for. Allowed attempts get a fresh one, refused attempts a
/// shared one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    None,
    /// A member (role `member`).
    Member,
    /// A second owner.
    Owner,
    Invitation,
    ApiKey,
    /// `{org}` itself: allowed attempts act on an organization of their own.
    Org,
}

pub(super) struct Row {
    pub(super) method: Method,
    pub(super) path: &'static str,
    pub(super) body: fn() -> Option<Value>,
    pub(super) target: Target,
    pub(super) expect: [u16; 6],
}

fn none() -> Option<Value> {
    None
}

fn rename() -> Option<Value> {
    Some(json!({"name": format!("Renamed {}", random::hex(3))}))
}

fn row(
    method: Method,
    path: &'static str,
    body: fn() -> Option<Value>,
    target: Target,
    expect: [u16; 6],
) -> Row {
    Row {
        method,
        path,
        body,
        target,
        expect,
    }
}

pub(super) fn rows() -> Vec<Row> {
    use Method as M;
    use Target as T;
    const ADMIN_ONLY: [u16; 6] = [200, 200, 403, 403, 403, 403];
    const USERS_ONLY: [u16; 6] = [200, 200, 200, 200, 403, 403];
    vec![
        row(M::GET, "/v1/orgs/{org}", none, T::None, [200; 6]),
        row(M::PATCH, "/v1/orgs/{org}", rename, T::None, ADMIN_ONLY),
        row(M::GET, "/v1/orgs/{org}/members", none, T::None, USERS_ONLY),
        row(
            M::PATCH,
            "/v1/orgs/{org}/members/{target}",
            || Some(json!({"role": "viewer"})),
            T::Member,
            ADMIN_ONLY,
        ),
        row(
            M::PATCH,
            "/v1/orgs/{org}/members/{target}",
            || Some(json!({"role": "owner"})),
            T::Member,
            [200, 403, 403, 403, 403, 403],
        ),
        row(
            M::PATCH,
            "/v1/orgs/{org}/members/{target}",
            || Some(json!({"role": "member"})),
            T::Owner,
            [200, 403, 403, 403, 403, 403],
        ),
        row(
            M::DELETE,
            "/v1/orgs/{org}/members/{target}",
            none,
            T::Member,
            [204, 204, 403, 403, 403, 403],
        ),
        row(
            M::DELETE,
            "/v1/orgs/{org}/members/{target}",
            none,
            T::Owner,
            [204, 403, 403, 403, 403, 403],
        ),
        row(
            M::POST,
            "/v1/orgs/{org}/invitations",
            || Some(json!({"email": random::email(), "role": "member"})),
            T::None,
            [201, 201, 403, 403, 403, 403],
        ),
        row(
            M::POST,
            "/v1/orgs/{org}/invitations",
            || Some(json!({"email": random::email(), "role": "admin"})),
            T::None,
            [201, 201, 403, 403, 403, 403],
        ),
        row(
            M::POST,
            "/v1/orgs/{org}/invitations",
            || Some(json!({"email": random::email(), "role": "owner"})),
            T::None,
            [201, 403, 403, 403, 403, 403],
        ),
        row(
            M::GET,
            "/v1/orgs/{org}/invitations",
            none,
            T::None,
            ADMIN_ONLY,
        ),
        row(
            M::DELETE,
            "/v1/orgs/{org}/invitations/{target}",
            none,
            T::Invitation,
            [204, 204, 403, 403, 403, 403],
        ),
        row(
            M::POST,
            "/v1/orgs/{org}/api-keys",
            || Some(json!({"name": "matrix", "scopes": ["documents:read"]})),
            T::None,
            [201, 201, 403, 403, 403, 403],
        ),
        row(M::GET, "/v1/orgs/{org}/api-keys", none, T::None, ADMIN_ONLY),
        row(
            M::DELETE,
            "/v1/orgs/{org}/api-keys/{target}",
            none,
            T::ApiKey,
            [204, 204, 403, 403, 403, 403],
        ),
        row(
            M::GET,
            "/v1/orgs/{org}/audit-log",
            none,
            T::None,
            ADMIN_ONLY,
        ),
        row(
            M::GET,
            "/v1/orgs/{org}/audit-log/verify",
            none,
            T::None,
            ADMIN_ONLY,
        ),
        row(
            M::DELETE,
            "/v1/orgs/{org}",
            none,
            T::Org,
            [204, 403, 403, 403, 403, 403],
        ),
        row(M::GET, "/v1/orgs", none, T::None, USERS_ONLY),
        row(
            M::POST,
            "/v1/orgs",
            rename,
            T::None,
            [201, 201, 201, 201, 403, 403],
        ),
        row(M::GET, "/v1/me", none, T::None, USERS_ONLY),
        row(M::PATCH, "/v1/me", rename, T::None, USERS_ONLY),
        row(
            M::POST,
            "/v1/invitations/accept",
            || Some(json!({"token": "not-a-token"})),
            T::None,
            [400, 400, 400, 400, 403, 403],
        ),
    ]
}

pub(super) fn allowed(status: u16) -> bool {
    (200..300).contains(&status)
}
