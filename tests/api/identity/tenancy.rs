//! Tenancy: another organization's resources are indistinguishable from missing ones. An
//! owner of org A gets 404 for org B's ids on every org route, B's ids under A's own path
//! are 404, and an API key of A is 404 on B's routes. Nothing of B changes.

use super::kit::{
    accept, create_key, invitation_token, invite, join, signup, signup_as, Account, Caller, SCOPES,
};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![trial!(other_orgs_are_404_on_every_route)]
}

/// One tenant: its owner, a member, a pending invitation and an API key.
struct Tenant {
    owner: Account,
    member: Account,
    invitation: String,
    key_id: String,
    key: String,
}

async fn tenant(s: &Suite) -> Tenant {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let member = join(s, &by, &owner.org_id, "member").await;
    let inv = invite(&by, &owner.org_id, &random::email(), "viewer").await;
    let (k, key) = create_key(&by, &owner.org_id, &SCOPES).await;
    Tenant {
        invitation: inv["id"].as_str().unwrap().to_owned(),
        key_id: k["id"].as_str().unwrap().to_owned(),
        key,
        owner,
        member,
    }
}

/// Every org route with `{org}`, `{user}`, `{inv}`, `{key}` filled from `ids`.
fn routes(org: &str, user: &str, inv: &str, key: &str) -> Vec<(Method, String, Option<Value>)> {
    let p = |t: &str| format!("/v1/orgs/{org}{t}");
    vec![
        (Method::GET, p(""), None),
        (Method::PATCH, p(""), Some(json!({"name": "Taken over"}))),
        (Method::GET, p("/members"), None),
        (
            Method::PATCH,
            p(&format!("/members/{user}")),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, p(&format!("/members/{user}")), None),
        (Method::GET, p("/invitations"), None),
        (
            Method::POST,
            p("/invitations"),
            Some(json!({"email": random::email(), "role": "owner"})),
        ),
        (Method::DELETE, p(&format!("/invitations/{inv}")), None),
        (Method::GET, p("/api-keys"), None),
        (
            Method::POST,
            p("/api-keys"),
            Some(json!({"name": "stolen", "scopes": ["documents:read"]})),
        ),
        (Method::DELETE, p(&format!("/api-keys/{key}")), None),
        (Method::GET, p("/audit-log"), None),
        (Method::GET, p("/audit-log/verify"), None),
        (Method::DELETE, p(""), None),
    ]
}

async fn expect_404s(who: &str, caller: &Caller, routes: Vec<(Method, String, Option<Value>)>) {
    let mut wrong = Vec::new();
    for (method, path, body) in routes {
        let r: Reply = caller.call(method.clone(), &path, body.as_ref()).await;
        if r.status == 404 {
            r.expect_problem(404, "not_found");
        } else {
            wrong.push(format!("{method} {path}: {} {}", r.status, r.text()));
        }
    }
    assert!(
        wrong.is_empty(),
        "{who}: expected 404 on every route:\n{}",
        wrong.join("\n")
    );
}

async fn other_orgs_are_404_on_every_route(s: &Suite) {
    let a = tenant(s).await;
    let b = tenant(s).await;
    let (org_a, org_b) = (&a.owner.org_id, &b.owner.org_id);
    let invitations_before = b
        .owner
        .on(&s.api)
        .get(&format!("/v1/orgs/{org_b}/invitations"))
        .await
        .json();
    let audit_before = b
        .owner
        .on(&s.api)
        .get(&format!("/v1/orgs/{org_b}/audit-log/verify"))
        .await
        .json();

    // A's owner on B's org, with B's ids.
    let owner_a = a.owner.on(&s.api);
    expect_404s(
        "A's owner on B's routes",
        &owner_a,
        routes(org_b, &b.member.id, &b.invitation, &b.key_id),
    )
    .await;
    // A's owner on A's routes with B's ids (a member, an invitation, a key of B).
    let mut mixed = routes(org_a, &b.member.id, &b.invitation, &b.key_id);
    mixed.retain(|(_, p, _)| {
        p.contains(&b.member.id) || p.contains(&b.invitation) || p.contains(&b.key_id)
    });
    assert_eq!(mixed.len(), 4);
    expect_404s("A's owner with B's ids under A", &owner_a, mixed).await;
    // B's owner with A's member id under A's path (B is not a member of A).
    let owner_b = b.owner.on(&s.api);
    expect_404s(
        "B's owner on A's routes",
        &owner_b,
        routes(org_a, &a.member.id, &a.invitation, &a.key_id),
    )
    .await;
    // A's API key (every scope) on B's routes.
    let key_a = Caller::bearer(&s.api, &a.key);
    expect_404s(
        "A's API key on B's routes",
        &key_a,
        routes(org_b, &b.member.id, &b.invitation, &b.key_id),
    )
    .await;
    // Unknown and malformed org ids look the same.
    for org in [
        "org_0000000000000000000000",
        "nope",
        "usr_0000000000000000000000",
    ] {
        owner_a
            .get(&format!("/v1/orgs/{org}"))
            .await
            .expect_problem(404, "not_found");
    }

    // B is untouched: its org, member, invitation, key and audit chain.
    let r = owner_b.get(&format!("/v1/orgs/{org_b}")).await;
    r.expect_status(200);
    assert_ne!(r.json()["name"], "Taken over");
    let members = owner_b
        .get(&format!("/v1/orgs/{org_b}/members"))
        .await
        .json();
    let member = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == b.member.id.as_str())
        .cloned()
        .expect("B's member is still there");
    assert_eq!(member["role"], "member");
    let invs = owner_b
        .get(&format!("/v1/orgs/{org_b}/invitations"))
        .await
        .json();
    assert_eq!(invs, invitations_before, "B's invitations changed");
    let keys = owner_b
        .get(&format!("/v1/orgs/{org_b}/api-keys"))
        .await
        .json();
    assert_eq!(keys["items"].as_array().unwrap().len(), 1, "{keys}");
    Caller::bearer(&s.api, &b.key)
        .get(&format!("/v1/orgs/{org_b}"))
        .await
        .expect_status(200);
    let audit_after = owner_b
        .get(&format!("/v1/orgs/{org_b}/audit-log/verify"))
        .await
        .json();
    assert_eq!(audit_after, audit_before, "B's audit chain changed");
    // B's invitation still works for its invitee; A's org lists no B people.
    let pending = invs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == b.invitation.as_str())
        .cloned()
        .expect("B's pending invitation");
    assert_eq!(pending["status"], "pending");
    let token = invitation_token(s, &pending).await;
    let invitee = signup_as(&s.api, pending["email"].as_str().unwrap()).await;
    accept(&s.api, &invitee, &token).await.expect_status(200);
    let a_members = owner_a
        .get(&format!("/v1/orgs/{org_a}/members"))
        .await
        .json();
    assert!(!a_members.to_string().contains(&b.member.id), "{a_members}");
}
