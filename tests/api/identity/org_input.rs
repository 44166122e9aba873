//! Bad input on the organization routes: org, member, invitation and API key bodies refused
//! with field errors (nothing stored), and list `limit` and `cursor` checked on every list (a
//! cursor of another org, of another list, or tampered with is refused).

use super::input::expect_field_error;
use super::kit::{create_key_reply, join, list_all, signup};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(org_member_invitation_and_key_bodies_are_validated),
        trial!(list_limits_and_cursors_are_checked),
    ]
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
