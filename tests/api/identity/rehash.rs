//! Password hashes made with weaker parameters than today's (an older deployment) still log in,
//! and the first successful login replaces them with a hash at the current parameters
//! (Argon2id, m = 19456 KiB, t = 2, p = 1). A wrong password changes nothing.

use super::kit::{login, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(a_weak_hash_is_replaced_at_the_next_login)]
}

const PASSWORD: &str = "weakly hashed password 1";
/// `PASSWORD` hashed by the Argon2 reference implementation (argon2-cffi) with m=4096, t=1.
const WEAK: &str =
    "$argon2id$v=19$m=4096,t=1,p=1$fPMn/twP7+feHV0OLeR1wA$0Kb0K6x0Ja4JGywHUQmFsMj+38DW2dPyLr5Td7C3sgY";
const CURRENT_PARAMS: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

async fn stored_hash(persist: &std::path::Path, email: &str) -> String {
    let rows = edge_tests::d1::execute(
        persist,
        &format!("SELECT password_hash FROM users WHERE email = '{email}'"),
    )
    .await;
    rows.first()
        .and_then(|r| r["password_hash"].as_str())
        .unwrap_or_else(|| panic!("no user {email}: {rows:?}"))
        .to_owned()
}

async fn a_weak_hash_is_replaced_at_the_next_login(s: &Suite) {
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = worker.api();
    let email = random::email();
    Caller::anon(&api)
        .post(
            "/v1/auth/signup",
            &json!({"email": email, "password": "the signup password", "name": "Old", "org_name": "Old Co"}),
        )
        .await
        .expect_status(201);
    let persist = worker.persist_dir();
    assert!(stored_hash(persist, &email)
        .await
        .starts_with(CURRENT_PARAMS));
    // An older deployment's hash, put in place behind the worker's back.
    edge_tests::d1::execute(
        persist,
        &format!("UPDATE users SET password_hash = '{WEAK}' WHERE email = '{email}'"),
    )
    .await;
    assert_eq!(stored_hash(persist, &email).await, WEAK);
    login(&api, &email, "the signup password")
        .await
        .expect_problem(401, "unauthenticated");
    assert_eq!(
        stored_hash(persist, &email).await,
        WEAK,
        "a failed login rehashed"
    );

    login(&api, &email, PASSWORD).await.expect_status(200);
    let rehashed = stored_hash(persist, &email).await;
    assert_ne!(rehashed, WEAK, "the weak hash is still stored");
    assert!(rehashed.starts_with(CURRENT_PARAMS), "{rehashed}");
    // The new hash is of the same password, and stays put at the next login.
    login(&api, &email, PASSWORD).await.expect_status(200);
    assert_eq!(stored_hash(persist, &email).await, rehashed);
    worker.stop();
}
