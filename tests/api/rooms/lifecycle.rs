//! Sockets follow their credentials: logout (and password reset) close the session's sockets
//! with 4001, removal from the organization with 4003; other users stay. `seq` and history
//! survive a restart of the worker on the same state.

use super::kit::{connect, join, room_name, say, signup, EVENT};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(logout_closes_the_sessions_sockets),
        trial!(member_removal_closes_their_sockets),
        trial!(password_reset_and_refresh_token_reuse_close_sockets),
        trial!(api_key_revocation_closes_its_sockets),
        trial!(a_role_change_closes_sockets_and_deleting_the_org_closes_all),
        trial!(seq_and_history_survive_a_restart),
        trial!(connections_lost_in_a_restart_do_not_hold_the_quota),
    ]
}

async fn logout_closes_the_sessions_sockets(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let member = join(s, &owner.on(&s.api), &org, "member").await;
    let (r1, r2) = (room_name(), room_name());
    let (mut o, _) = connect(&s.api, &owner.access, &org, &r1).await;
    let (mut m1, _) = connect(&s.api, &member.access, &org, &r1).await;
    let (mut m2, _) = connect(&s.api, &member.access, &org, &r2).await;
    assert_eq!(
        o.next_of("joined", EVENT).await["user"]["user_id"],
        member.id.as_str()
    );
    member
        .on(&s.api)
        .post("/v1/auth/logout", &json!(null))
        .await
        .expect_status(204);
    // Every socket of the session, in every room, closed with 4001.
    assert_eq!(m1.closed_with(EVENT).await, Some(4001));
    assert_eq!(m2.closed_with(EVENT).await, Some(4001));
    let left = o.next_of("left", EVENT).await;
    assert_eq!(left["user"]["user_id"], member.id.as_str());
    // The owner's socket is untouched.
    say(&mut o, json!("still here")).await;
    assert_eq!(o.next_of("message", EVENT).await["data"], "still here");
    let usage = owner
        .on(&s.api)
        .get(&format!("/v1/orgs/{org}/usage"))
        .await
        .json();
    assert_eq!(usage["room_connections"]["used"], 1, "{usage}");
}

async fn member_removal_closes_their_sockets(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let member = join(s, &owner.on(&s.api), &org, "member").await;
    let room = room_name();
    let (mut o, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (mut m, _) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(o.next_of("joined", EVENT).await["type"], "joined");
    owner
        .on(&s.api)
        .delete(&format!("/v1/orgs/{org}/members/{}", member.id))
        .await
        .expect_status(204);
    assert_eq!(m.closed_with(EVENT).await, Some(4003));
    assert_eq!(
        o.next_of("left", EVENT).await["user"]["user_id"],
        member.id.as_str()
    );
    let r = super::kit::try_connect(&s.api, Some(&member.access), &org, &room).await;
    assert_eq!(r.err().map(|e| e.status), Some(404));
}

async fn seq_and_history_survive_a_restart(s: &Suite) {
    let w = s.private_worker(WorkerOptions::new()).await;
    let api = w.api();
    let a = signup(&api).await;
    let org = a.org_id.clone();
    let room = room_name();
    let (mut ws, _) = connect(&api, &a.access, &org, &room).await;
    for i in 1..=3 {
        say(&mut ws, json!({"n": i})).await;
        assert_eq!(ws.next_of("message", EVENT).await["seq"], i);
    }
    w.restart().await.unwrap_or_else(|e| panic!("restart: {e}"));
    let api = w.api();
    let (mut ws, welcome) = connect(&api, &a.access, &org, &room).await;
    let seqs: Vec<i64> = welcome["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|m| m["seq"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(seqs, vec![1, 2, 3], "{welcome}");
    assert_eq!(welcome["history"][2]["data"], json!({"n": 3}));
    say(&mut ws, json!({"n": 4})).await;
    assert_eq!(
        ws.next_of("message", Duration::from_secs(20)).await["seq"],
        4
    );
}

async fn connections_lost_in_a_restart_do_not_hold_the_quota(s: &Suite) {
    let w = s
        .private_worker(WorkerOptions::new().var(
            "PLAN_LIMITS",
            r#"{"free":{"requests_per_minute":100000,"room_connections":2},"auth_per_minute":100000}"#,
        ))
        .await;
    let api = w.api();
    let a = signup(&api).await;
    let org = a.org_id.clone();
    let _one = connect(&api, &a.access, &org, &room_name()).await;
    let _two = connect(&api, &a.access, &org, &room_name()).await;
    // The runtime goes away with both sockets open: no close event reaches the rooms.
    w.restart().await.unwrap_or_else(|e| panic!("restart: {e}"));
    let api = w.api();
    // The org's registry holds two dead connections; at the limit they are checked against
    // the rooms and dropped, so new sockets get in.
    let _three = connect(&api, &a.access, &org, &room_name()).await;
    let _four = connect(&api, &a.access, &org, &room_name()).await;
    let r = super::kit::try_connect(&api, Some(&a.access), &org, &room_name()).await;
    assert_eq!(
        r.err().map(|e| e.status),
        Some(429),
        "still limited to 2 live sockets"
    );
    let usage = a
        .on(&api)
        .get(&format!("/v1/orgs/{org}/usage"))
        .await
        .json();
    assert_eq!(usage["room_connections"]["used"], 2, "{usage}");
}

async fn password_reset_and_refresh_token_reuse_close_sockets(s: &Suite) {
    use crate::identity::kit as id;
    // Refresh-token reuse revokes the session: its sockets close.
    let a = id::signup(&s.api).await;
    let org = a.org_id.clone();
    let room = room_name();
    let (mut first, _) = connect(&s.api, &a.access, &org, &room).await;
    let anon = id::Caller::anon(&s.api);
    anon.post("/v1/auth/refresh", &json!({"refresh_token": a.refresh}))
        .await
        .expect_status(200);
    anon.post("/v1/auth/refresh", &json!({"refresh_token": a.refresh}))
        .await
        .expect_status(401);
    assert_eq!(first.closed_with(EVENT).await, Some(4001));

    // A password reset revokes every session of the user: sockets of two sessions close.
    let b = id::signup(&s.api).await;
    let (access2, _) = id::login_ok(&s.api, &b).await;
    let (mut s1, _) = connect(&s.api, &b.access, &b.org_id, &room).await;
    let (mut s2, _) = connect(&s.api, &access2, &b.org_id, &room).await;
    anon.post("/v1/auth/password-reset", &json!({"email": b.email}))
        .await
        .expect_status(202);
    let job = id::wait_emails(s, &b.email, "password_reset", 1).await[0].clone();
    let token = job["payload"]["token"]
        .as_str()
        .expect("reset token")
        .to_owned();
    anon.post(
        "/v1/auth/password-reset/confirm",
        &json!({"token": token, "new_password": id::password()}),
    )
    .await
    .expect_status(204);
    assert_eq!(s1.closed_with(EVENT).await, Some(4001));
    assert_eq!(s2.closed_with(EVENT).await, Some(4001));
}

async fn api_key_revocation_closes_its_sockets(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let c = owner.on(&s.api);
    let (key_id, key) = super::kit::api_key(&c, &org, &["rooms:join"]).await;
    let room = room_name();
    let (mut o, _) = connect(&s.api, &owner.access, &org, &room).await;
    let (mut k, _) = connect(&s.api, &key, &org, &room).await;
    assert_eq!(
        o.next_of("joined", EVENT).await["user"]["user_id"],
        key_id.as_str()
    );
    c.delete(&format!("/v1/orgs/{org}/api-keys/{key_id}"))
        .await
        .expect_status(204);
    assert_eq!(k.closed_with(EVENT).await, Some(4001));
    assert_eq!(
        o.next_of("left", EVENT).await["user"]["user_id"],
        key_id.as_str()
    );
}

async fn a_role_change_closes_sockets_and_deleting_the_org_closes_all(s: &Suite) {
    let owner = signup(&s.api).await;
    let org = owner.org_id.clone();
    let c = owner.on(&s.api);
    let member = join(s, &c, &org, "member").await;
    let room = room_name();
    let (mut m, wm) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(wm["you"]["can_send"], true);
    // Demoted to viewer: the socket with the old rights is closed; a new one cannot send.
    c.patch(
        &format!("/v1/orgs/{org}/members/{}", member.id),
        &json!({"role": "viewer"}),
    )
    .await
    .expect_status(200);
    assert_eq!(m.closed_with(EVENT).await, Some(4005));
    let (mut m, wm) = connect(&s.api, &member.access, &org, &room).await;
    assert_eq!(wm["you"]["can_send"], false);
    let (mut o, _) = connect(&s.api, &owner.access, &org, &super::kit::room_name()).await;
    // Deleting the organization closes every socket in every room of it.
    c.delete(&format!("/v1/orgs/{org}"))
        .await
        .expect_status(204);
    assert_eq!(m.closed_with(EVENT).await, Some(4003));
    assert_eq!(o.closed_with(EVENT).await, Some(4003));
}
