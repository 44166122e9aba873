//! One-time things stay one-time (issue 13, item 4): confirming one password reset spends
//! every outstanding reset link of the user, and single-use guards never key on the
//! client-chosen `X-Request-Id` (two concurrent confirmations carrying the same one: exactly
//! one applies).

use super::kit::{login, password, signup, wait_emails, Account, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, SendExt};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(confirming_one_reset_spends_every_reset_link),
        trial!(concurrent_confirms_with_one_request_id_apply_once),
    ]
}

const CONFIRM: &str = "/v1/auth/password-reset/confirm";

async fn request_reset(s: &Suite, a: &Account) {
    Caller::anon(&s.api)
        .post("/v1/auth/password-reset", &json!({"email": a.email}))
        .await
        .expect_status(202);
}

fn token_of(job: &Value) -> String {
    job["payload"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {job}"))
        .to_owned()
}

async fn confirming_one_reset_spends_every_reset_link(s: &Suite) {
    let a = signup(&s.api).await;
    request_reset(s, &a).await;
    request_reset(s, &a).await;
    let jobs = wait_emails(s, &a.email, "password_reset", 2).await;
    let (first, second) = (token_of(&jobs[0]), token_of(&jobs[1]));
    assert_ne!(first, second);

    let (p1, p2) = (password(), password());
    let r = Caller::anon(&s.api)
        .post(CONFIRM, &json!({"token": first, "new_password": p1}))
        .await;
    r.expect_status(204);
    // The other link, unexpired and never used, is spent too.
    Caller::anon(&s.api)
        .post(CONFIRM, &json!({"token": second, "new_password": p2}))
        .await
        .expect_problem(400, "validation_failed")
        .expect_field("token");
    login(&s.api, &a.email, &p2)
        .await
        .expect_problem(401, "unauthenticated");
    let r = login(&s.api, &a.email, &p1).await;
    r.expect_status(200);
    let fresh = r.json()["access_token"].as_str().unwrap().to_owned();

    // The audit entry says how many links the confirmation spent.
    let log = Caller::bearer(&s.api, &fresh)
        .get(&format!("/v1/orgs/{}/audit-log?limit=100", a.org_id))
        .await
        .json();
    let entries: Vec<&Value> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "auth.password_reset")
        .collect();
    assert_eq!(entries.len(), 1, "{log}");
    assert_eq!(entries[0]["details"]["reset_tokens_spent"], 2, "{log}");
}

async fn concurrent_confirms_with_one_request_id_apply_once(s: &Suite) {
    const ROUNDS: usize = 10;
    let mut rounds = Vec::new();
    for _ in 0..ROUNDS {
        let a = signup(&s.api).await;
        request_reset(s, &a).await;
        rounds.push(a);
    }
    for a in &rounds {
        let token = token_of(&wait_emails(s, &a.email, "password_reset", 1).await[0]);
        let rid = format!("same-{}", random::hex(8));
        let (p1, p2) = (password(), password());
        let send = |p: String| {
            s.api
                .post_json(CONFIRM, &json!({"token": token, "new_password": p}))
                .header("X-Request-Id", rid.clone())
                .reply()
        };
        let (r1, r2) = tokio::join!(send(p1.clone()), send(p2.clone()));
        let ok: Vec<u16> = [r1.status, r2.status]
            .into_iter()
            .filter(|st| *st == 204)
            .collect();
        assert_eq!(
            ok.len(),
            1,
            "exactly one of two confirmations applies: {} {} / {} {}",
            r1.status,
            String::from_utf8_lossy(&r1.body),
            r2.status,
            String::from_utf8_lossy(&r2.body)
        );
        let (won, lost, loser) = if r1.status == 204 {
            (&p1, &p2, &r2)
        } else {
            (&p2, &p1, &r1)
        };
        loser
            .clone()
            .expect_problem(400, "validation_failed")
            .expect_field("token");
        login(&s.api, &a.email, won).await.expect_status(200);
        login(&s.api, &a.email, lost)
            .await
            .expect_problem(401, "unauthenticated");
    }
}
