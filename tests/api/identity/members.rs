//! Members and organizations: the members list and role changes (who may promote, demote or
//! remove whom), leaving and the last-owner rule, and an organization's life from create to
//! delete (its API keys go with it).

use super::kit::{
    assert_has_keys, assert_id, assert_time, join, join_all_roles, keys, list_all, roles, signup,
    Caller,
};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(members_list_and_role_changes),
        trial!(anyone_can_leave_but_the_last_owner_stays),
        trial!(org_lifecycle),
    ]
}

async fn members_list_and_role_changes(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let people = join_all_roles(s, &by, &org, &["admin", "member", "viewer"]).await;
    let (admin, member, viewer) = (&people[0], &people[1], &people[2]);
    let listed = roles(&by, &org).await;
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert_eq!(listed[&owner.id], "owner");
    assert_eq!(listed[&admin.id], "admin");
    assert_eq!(listed[&member.id], "member");
    assert_eq!(listed[&viewer.id], "viewer");

    // An admin promotes a viewer to member, and demotes them again.
    let path = format!("/v1/orgs/{org}/members/{}", viewer.id);
    let a = admin.on(&s.api);
    let r = a.patch(&path, &json!({"role": "member"})).await;
    r.expect_status(200);
    let m = r.json();
    assert_eq!(keys(&m), ["email", "joined_at", "name", "role", "user_id"]);
    assert_eq!(m["role"], "member");
    assert_eq!(m["user_id"], viewer.id);
    a.patch(&path, &json!({"role": "viewer"}))
        .await
        .expect_status(200);
    // The same role again is harmless.
    a.patch(&path, &json!({"role": "viewer"}))
        .await
        .expect_status(200);
    // An admin cannot make themselves owner, nor touch the owner.
    a.patch(
        &format!("/v1/orgs/{org}/members/{}", admin.id),
        &json!({"role": "owner"}),
    )
    .await
    .expect_problem(403, "forbidden");
    a.patch(
        &format!("/v1/orgs/{org}/members/{}", owner.id),
        &json!({"role": "admin"}),
    )
    .await
    .expect_problem(403, "forbidden");
    a.delete(&format!("/v1/orgs/{org}/members/{}", owner.id))
        .await
        .expect_problem(403, "forbidden");
    // The owner makes the admin an owner; the new owner may then demote the first.
    by.patch(
        &format!("/v1/orgs/{org}/members/{}", admin.id),
        &json!({"role": "owner"}),
    )
    .await
    .expect_status(200);
    a.patch(
        &format!("/v1/orgs/{org}/members/{}", owner.id),
        &json!({"role": "member"}),
    )
    .await
    .expect_status(200);
    let after = roles(&by, &org).await;
    assert_eq!(after[&owner.id], "member");
    assert_eq!(after[&admin.id], "owner");
    // The demoted owner now has member rights.
    by.get(&format!("/v1/orgs/{org}/audit-log"))
        .await
        .expect_problem(403, "forbidden");
    // The last owner cannot demote themselves.
    a.patch(
        &format!("/v1/orgs/{org}/members/{}", admin.id),
        &json!({"role": "admin"}),
    )
    .await
    .expect_problem(409, "conflict");
    assert_eq!(roles(&a, &org).await[&admin.id], "owner");
    // Unknown members are 404.
    a.patch(
        &format!("/v1/orgs/{org}/members/usr_0000000000000000000000"),
        &json!({"role": "admin"}),
    )
    .await
    .expect_problem(404, "not_found");
    a.delete(&format!("/v1/orgs/{org}/members/nope"))
        .await
        .expect_problem(404, "not_found");
}

async fn anyone_can_leave_but_the_last_owner_stays(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let people = join_all_roles(s, &by, &org, &["admin", "member", "viewer"]).await;
    for p in &people {
        let me = p.on(&s.api);
        let r = me.delete(&format!("/v1/orgs/{org}/members/{}", p.id)).await;
        r.expect_status(204);
        me.get(&format!("/v1/orgs/{org}"))
            .await
            .expect_problem(404, "not_found");
        let orgs = me.get("/v1/me").await.json()["orgs"].clone();
        assert!(
            !orgs.to_string().contains(&org),
            "left but still listed: {orgs}"
        );
    }
    assert_eq!(roles(&by, &org).await.len(), 1);
    // The sole owner cannot leave.
    by.delete(&format!("/v1/orgs/{org}/members/{}", owner.id))
        .await
        .expect_problem(409, "conflict");
    // With a second owner, one may leave; then the other is the last again.
    let second = join(s, &by, &org, "owner").await;
    by.delete(&format!("/v1/orgs/{org}/members/{}", owner.id))
        .await
        .expect_status(204);
    let them = second.on(&s.api);
    them.delete(&format!("/v1/orgs/{org}/members/{}", second.id))
        .await
        .expect_problem(409, "conflict");
    them.patch(
        &format!("/v1/orgs/{org}/members/{}", second.id),
        &json!({"role": "viewer"}),
    )
    .await
    .expect_problem(409, "conflict");
    let left = roles(&them, &org).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[&second.id], "owner");
}

async fn org_lifecycle(s: &Suite) {
    let a = signup(&s.api).await;
    let by = a.on(&s.api);
    let name = format!("Org {}", random::hex(4));
    let r = by.post("/v1/orgs", &json!({"name": name})).await;
    r.expect_status(201);
    let created = r.json();
    assert_has_keys(
        &created,
        &["id", "name", "plan", "role", "created_at"],
        "org",
    );
    assert_id(&created["id"], "org_");
    assert_eq!(created["name"], name.as_str());
    assert_eq!(created["role"], "owner");
    assert_eq!(created["plan"], "free");
    let id = created["id"].as_str().unwrap().to_owned();

    let got = by.get(&format!("/v1/orgs/{id}")).await;
    got.expect_status(200);
    let got = got.json();
    assert_eq!(
        keys(&got),
        [
            "created_at",
            "id",
            "name",
            "plan",
            "require_mfa",
            "role",
            "updated_at"
        ]
    );
    assert_eq!(got["name"], name.as_str());
    assert_eq!(
        got["require_mfa"], false,
        "a new organization requires no second factor"
    );
    assert_time(&got["updated_at"], "updated_at");

    let listed = list_all(&by, "/v1/orgs", 100).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    for o in &listed {
        assert_eq!(keys(o), ["id", "name", "plan", "role"]);
    }
    assert_eq!(listed[0]["id"], id.as_str(), "newest first: {listed:?}");

    let renamed = format!("Renamed {}", random::hex(4));
    let r = by
        .patch(&format!("/v1/orgs/{id}"), &json!({"name": renamed}))
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["name"], renamed.as_str());
    assert_eq!(keys(&r.json()), keys(&got));
    assert_eq!(
        by.get(&format!("/v1/orgs/{id}")).await.json()["name"],
        renamed.as_str()
    );

    let member = join(s, &by, &id, "member").await;
    let (_, key) = super::kit::create_key(&by, &id, &["documents:read"]).await;
    let r = by.delete(&format!("/v1/orgs/{id}")).await;
    r.expect_status(204);
    by.get(&format!("/v1/orgs/{id}"))
        .await
        .expect_problem(404, "not_found");
    member
        .on(&s.api)
        .get(&format!("/v1/orgs/{id}"))
        .await
        .expect_problem(404, "not_found");
    // Its API keys went with it.
    let r = Caller::bearer(&s.api, &key)
        .get(&format!("/v1/orgs/{id}"))
        .await;
    assert!(
        [401, 404].contains(&r.status),
        "a key of a deleted org: {} {}",
        r.status,
        r.text()
    );
    let me = by.get("/v1/me").await.json();
    assert!(!me.to_string().contains(&id), "{me}");
    // The other org is untouched.
    by.get(&format!("/v1/orgs/{}", a.org_id))
        .await
        .expect_status(200);
}
