//! Invitations: the email job and its token, acceptance bound to the invited address, single
//! use, revocation, listing, and no invitation for someone already a member.

use super::kit::{
    accept, assert_has_keys, assert_id, assert_time, invitation_email, invitation_token, invite,
    join, keys, list_all, roles, signup, signup_as, Caller,
};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(invitation_sends_an_email_and_accepting_joins),
        trial!(invitation_is_single_use_and_bound_to_its_email),
        trial!(revoked_invitation_cannot_be_accepted),
        trial!(inviting_a_member_is_409),
    ]
}

async fn invitation_sends_an_email_and_accepting_joins(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let org_name = by.get(&format!("/v1/orgs/{org}")).await.json()["name"].clone();
    // Invited before the account exists.
    let email = random::email();
    let r = by
        .post(
            &format!("/v1/orgs/{org}/invitations"),
            &json!({"email": email.to_uppercase(), "role": "admin"}),
        )
        .await;
    r.expect_status(201);
    let inv = r.json();
    assert_has_keys(
        &inv,
        &["id", "email", "role", "status", "expires_at", "created_at"],
        "invitation",
    );
    assert_id(&inv["id"], "inv_");
    assert_eq!(inv["email"], email.as_str(), "normalized: {inv}");
    assert_eq!(inv["role"], "admin");
    assert_eq!(inv["status"], "pending");
    assert_time(&inv["expires_at"], "expires_at");
    assert_time(&inv["created_at"], "created_at");
    assert!(inv["expires_at"].as_str() > inv["created_at"].as_str());
    let id = inv["id"].as_str().unwrap();

    let job = invitation_email(s, &email, id).await;
    assert_eq!(job["type"], "email");
    assert_eq!(job["org_id"], org.as_str(), "{job}");
    let payload = &job["payload"];
    assert_eq!(
        keys(payload),
        [
            "invitation_id",
            "invited_by",
            "org_id",
            "org_name",
            "role",
            "template",
            "to",
            "token"
        ],
        "{payload}"
    );
    assert_eq!(payload["template"], "invitation");
    assert_eq!(payload["org_id"], org.as_str());
    assert_eq!(payload["org_name"], org_name);
    assert_eq!(payload["role"], "admin");
    assert_eq!(payload["invited_by"], owner.id);
    let token = payload["token"].as_str().unwrap().to_owned();

    let listed = list_all(&by, &format!("/v1/orgs/{org}/invitations"), 100).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["status"], "pending");
    assert!(
        !listed[0].to_string().contains(&token),
        "the list shows the token"
    );

    let invitee = signup_as(&s.api, &email).await;
    let r = accept(&s.api, &invitee, &token).await;
    r.expect_status(200);
    let m = r.json();
    assert_eq!(keys(&m), ["joined_at", "org_id", "role", "user_id"], "{m}");
    assert_eq!(m["org_id"], org.as_str());
    assert_eq!(m["user_id"], invitee.id);
    assert_eq!(m["role"], "admin");
    assert_time(&m["joined_at"], "joined_at");

    let members = list_all(&by, &format!("/v1/orgs/{org}/members"), 100).await;
    let row = members
        .iter()
        .find(|x| x["user_id"] == invitee.id.as_str())
        .unwrap_or_else(|| panic!("the invitee is not listed: {members:?}"));
    assert_eq!(keys(row), ["email", "joined_at", "name", "role", "user_id"]);
    assert_eq!(row["role"], "admin");
    assert_eq!(row["email"], email.as_str());
    assert_eq!(row["joined_at"], m["joined_at"]);
    let listed = list_all(&by, &format!("/v1/orgs/{org}/invitations"), 100).await;
    assert_eq!(listed[0]["status"], "accepted", "{listed:?}");
    // The new admin sees the org with that role.
    let me = invitee.on(&s.api).get("/v1/me").await.json();
    assert!(
        me["orgs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == org.as_str() && o["role"] == "admin"),
        "{me}"
    );
    invitee
        .on(&s.api)
        .get(&format!("/v1/orgs/{org}/audit-log"))
        .await
        .expect_status(200);
}

async fn invitation_is_single_use_and_bound_to_its_email(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let invitee = signup(&s.api).await;
    let stranger = signup(&s.api).await;
    let inv = invite(&by, org, &invitee.email, "member").await;
    let token = invitation_token(s, &inv).await;

    // Another signed-in user cannot use it, nor can nobody.
    accept(&s.api, &stranger, &token)
        .await
        .expect_problem(403, "forbidden");
    Caller::anon(&s.api)
        .post("/v1/invitations/accept", &json!({"token": token}))
        .await
        .expect_problem(401, "unauthenticated");
    let members = roles(&by, org).await;
    assert!(!members.contains_key(&stranger.id), "the stranger joined");

    // A token that was tampered with is invalid.
    let mut chars: Vec<char> = token.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let tampered: String = chars.into_iter().collect();
    for bad in [tampered.as_str(), "nope", ""] {
        accept(&s.api, &invitee, bad)
            .await
            .expect_problem(400, "validation_failed")
            .expect_field("token");
    }

    accept(&s.api, &invitee, &token).await.expect_status(200);
    assert_eq!(
        roles(&by, org).await.get(&invitee.id).map(String::as_str),
        Some("member")
    );
    // Second use: by the same user, and by anyone else.
    for who in [&invitee, &stranger] {
        accept(&s.api, who, &token)
            .await
            .expect_problem(400, "validation_failed")
            .expect_field("token");
    }
    // The membership did not change through the reuse.
    let after = roles(&by, org).await;
    assert_eq!(after.get(&invitee.id).map(String::as_str), Some("member"));
    assert!(!after.contains_key(&stranger.id));
}

async fn revoked_invitation_cannot_be_accepted(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let admin = join(s, &by, org, "admin").await;
    let invitee = signup(&s.api).await;
    let inv = invite(&by, org, &invitee.email, "viewer").await;
    let token = invitation_token(s, &inv).await;
    let id = inv["id"].as_str().unwrap();
    // An admin may revoke it.
    let r = admin
        .on(&s.api)
        .delete(&format!("/v1/orgs/{org}/invitations/{id}"))
        .await;
    r.expect_status(204);
    assert!(r.body.is_empty());
    accept(&s.api, &invitee, &token)
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("token");
    assert!(!roles(&by, org).await.contains_key(&invitee.id));
    let listed = list_all(&by, &format!("/v1/orgs/{org}/invitations"), 100).await;
    let row = listed.iter().find(|i| i["id"] == id).expect("still listed");
    assert_eq!(row["status"], "revoked", "{row}");
    // Unknown ids are 404.
    for bad in ["inv_0000000000000000000000", "nope"] {
        by.delete(&format!("/v1/orgs/{org}/invitations/{bad}"))
            .await
            .expect_problem(404, "not_found");
    }
    // A new invitation for the same address works.
    let again = invite(&by, org, &invitee.email, "viewer").await;
    let token = invitation_token(s, &again).await;
    accept(&s.api, &invitee, &token).await.expect_status(200);
}

async fn inviting_a_member_is_409(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let member = join(s, &by, org, "member").await;
    let before = list_all(&by, &format!("/v1/orgs/{org}/invitations"), 100).await;
    for email in [
        member.email.clone(),
        member.email.to_uppercase(),
        owner.email.clone(),
    ] {
        by.post(
            &format!("/v1/orgs/{org}/invitations"),
            &json!({"email": email, "role": "admin"}),
        )
        .await
        .expect_problem(409, "conflict");
    }
    assert_eq!(
        list_all(&by, &format!("/v1/orgs/{org}/invitations"), 100).await,
        before
    );
}
