//! Brute-force limits of signup, login and password reset: per client address and per account,
//! and the same answers whether or not the account exists.

use super::fields::{rates, refused, Rate};
use super::fixtures::{ip, signup, tight_auth, worker, PASSWORD};
use crate::support::{trial, Suite};
use edge_tests::{random, Api, Reply, SendExt};
use futures_util::future::join;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(logins_from_one_address_are_throttled),
        trial!(logins_to_one_account_from_many_addresses_are_throttled),
        trial!(known_and_unknown_accounts_get_the_same_answers),
        trial!(signup_and_password_reset_are_limited_too),
    ]
}

/// Attempts per minute the private workers here allow.
const AUTH: i64 = 3;

async fn login(api: &Api, from: &str, email: &str, password: &str) -> Reply {
    api.post_json(
        "/v1/auth/login",
        &json!({"email": email, "password": password}),
    )
    .header("CF-Connecting-IP", from)
    .reply()
    .await
}

/// The auth policies of an answer: both (address and account) on an attempt that passed
/// them, the refusing one alone on a 429.
fn auth_rates(r: &Reply) -> Vec<Rate> {
    let rates = rates(r);
    let names: Vec<&str> = rates.iter().map(|r| r.policy.as_str()).collect();
    if r.status == 429 {
        assert!(
            names == ["auth-ip"] || names == ["auth-account"],
            "{rates:?}"
        );
    } else {
        assert_eq!(names, ["auth-ip", "auth-account"], "{} answer", r.status);
    }
    for rate in &rates {
        assert_eq!(rate.limit, AUTH, "{rate:?}");
    }
    rates
}

fn remaining(rates: &[Rate], policy: &str) -> i64 {
    rates
        .iter()
        .find(|r| r.policy == policy)
        .unwrap_or_else(|| panic!("no {policy} in {rates:?}"))
        .remaining
}

async fn logins_from_one_address_are_throttled(s: &Suite) {
    let w = worker(s, &tight_auth(AUTH as u32)).await;
    let api = w.api();
    let attacker = ip();
    for n in 1..=AUTH {
        let r = login(&api, &attacker, &random::email(), "wrong password!").await;
        r.expect_problem(401, "unauthenticated");
        let rates = auth_rates(&r);
        assert_eq!(
            (
                remaining(&rates, "auth-ip"),
                remaining(&rates, "auth-account")
            ),
            (AUTH - n, AUTH - 1),
            "attempt {n}"
        );
        assert!(r.header("retry-after").is_none(), "attempt {n}");
    }
    for _ in 0..2 {
        let r = login(&api, &attacker, &random::email(), "wrong password!").await;
        let rate = refused(&r);
        assert_eq!((rate.policy.as_str(), rate.limit), ("auth-ip", AUTH));
    }
    // The address is throttled at the other attempt endpoints too.
    let r = api
        .post_json(
            "/v1/auth/password-reset",
            &json!({"email": random::email()}),
        )
        .header("CF-Connecting-IP", &attacker)
        .reply()
        .await;
    assert_eq!(refused(&r).policy, "auth-ip");
    // Another address is not.
    let r = login(&api, &ip(), &random::email(), "wrong password!").await;
    r.expect_problem(401, "unauthenticated");

    // Without the client address header, all such requests share one budget: leaving the
    // header out is no way around the limit.
    let anonymous = |email: String| {
        api.post_json(
            "/v1/auth/login",
            &json!({"email": email, "password": "wrong password!"}),
        )
        .reply()
    };
    for _ in 0..AUTH {
        anonymous(random::email())
            .await
            .expect_problem(401, "unauthenticated");
    }
    assert_eq!(refused(&anonymous(random::email()).await).policy, "auth-ip");
}

async fn logins_to_one_account_from_many_addresses_are_throttled(s: &Suite) {
    let w = worker(s, &tight_auth(AUTH as u32)).await;
    let api = w.api();
    let victim = signup(&api).await;
    let mut failed = 0;
    let refusal = loop {
        let r = login(&api, &ip(), &victim.email, "wrong password!").await;
        match r.status {
            401 => {
                r.expect_problem(401, "unauthenticated");
                failed += 1;
                let rates = auth_rates(&r);
                assert_eq!(remaining(&rates, "auth-ip"), AUTH - 1);
                assert!(failed <= AUTH, "{failed} wrong passwords and no 429");
            }
            _ => break r,
        }
    };
    // Signup is an attempt on the account as well, so it may have spent one.
    assert!(
        (AUTH - 1..=AUTH).contains(&failed),
        "{failed} failures before the 429"
    );
    let rate = refused(&refusal);
    assert_eq!((rate.policy.as_str(), rate.limit), ("auth-account", AUTH));
    // Now even the right password is refused, from any address.
    let r = login(&api, &ip(), &victim.email, PASSWORD).await;
    assert_eq!(refused(&r).policy, "auth-account");
    // Another account is not affected.
    let r = login(&api, &ip(), &random::email(), "wrong password!").await;
    r.expect_problem(401, "unauthenticated");
}

/// The body without `request_id`, with the digits of `detail` masked (a reset time in seconds
/// may be a second apart for two windows opened a moment apart).
fn shape(r: &Reply) -> Value {
    let mut body = r.json();
    let o = body.as_object_mut().expect("a JSON object");
    o.remove("request_id");
    if let Some(Value::String(d)) = o.get_mut("detail") {
        *d = d.replace(|c: char| c.is_ascii_digit(), "#");
    }
    body
}

fn header_names(r: &Reply) -> BTreeSet<String> {
    r.headers.keys().map(|k| k.as_str().to_owned()).collect()
}

fn assert_alike(known: &Reply, unknown: &Reply, what: &str) {
    assert_eq!(known.status, unknown.status, "{what}: status");
    assert_eq!(shape(known), shape(unknown), "{what}: body");
    assert_eq!(
        header_names(known),
        header_names(unknown),
        "{what}: header names"
    );
    let (k, u) = (auth_rates(known), auth_rates(unknown));
    let seen = |rates: &[Rate]| -> Vec<(String, i64, i64, bool)> {
        rates
            .iter()
            .map(|r| {
                (
                    r.policy.clone(),
                    r.limit,
                    r.remaining,
                    r.retry_after.is_some(),
                )
            })
            .collect()
    };
    assert_eq!(seen(&k), seen(&u), "{what}: rate-limit headers");
    // The two windows opened at nearly the same moment; on a loaded machine the requests that
    // opened them (a password hash each) can land a few seconds apart.
    for (k, u) in k.iter().zip(&u) {
        assert!((k.reset - u.reset).abs() <= 3, "{what}: {k:?} vs {u:?}");
    }
}

async fn known_and_unknown_accounts_get_the_same_answers(s: &Suite) {
    let w = worker(s, &tight_auth(AUTH as u32)).await;
    let api = w.api();
    // One attempt on each account first, at the same moment: the signup of the known one and
    // a password reset of the unknown one, so both windows hold the same count.
    let unknown = random::email();
    let reset = api
        .post_json("/v1/auth/password-reset", &json!({"email": unknown}))
        .header("CF-Connecting-IP", ip())
        .reply();
    let (known, reset) = join(signup(&api), reset).await;
    reset.expect_status(202);
    let known = known.email;

    let mut answers = Vec::new();
    for _ in 0..AUTH {
        let (k, u) = join(
            login(&api, &ip(), &known, "wrong password!"),
            login(&api, &ip(), &unknown, "wrong password!"),
        )
        .await;
        answers.push((k, u));
    }
    let (first_k, first_u) = &answers[0];
    first_k.expect_problem(401, "unauthenticated");
    assert_alike(first_k, first_u, "the first wrong login");
    let (second_k, second_u) = &answers[1];
    assert_alike(second_k, second_u, "the second wrong login");
    let (last_k, last_u) = &answers[2];
    last_k.expect_problem(429, "rate_limited");
    assert_eq!(refused(last_k).policy, "auth-account");
    assert_alike(last_k, last_u, "the refused login");
}

async fn signup_and_password_reset_are_limited_too(s: &Suite) {
    let w = worker(s, &tight_auth(AUTH as u32)).await;
    let api = w.api();
    let from = ip();
    let signup_from = |email: String, from: String| {
        let body = json!({"email": email, "password": PASSWORD, "name": "Limit Tester",
                          "org_name": "Limits"});
        api.post_json("/v1/auth/signup", &body)
            .header("CF-Connecting-IP", from)
            .reply()
    };
    for _ in 0..AUTH {
        let r = signup_from(random::email(), from.clone()).await;
        r.expect_status(201);
        auth_rates(&r);
    }
    let refused_email = random::email();
    let r = signup_from(refused_email.clone(), from.clone()).await;
    assert_eq!(refused(&r).policy, "auth-ip");
    // The refused signup created nothing: the email is still free.
    signup_from(refused_email, ip()).await.expect_status(201);

    let target = random::email();
    for _ in 0..AUTH {
        let r = api
            .post_json("/v1/auth/password-reset", &json!({"email": target}))
            .header("CF-Connecting-IP", ip())
            .reply()
            .await;
        r.expect_status(202);
        auth_rates(&r);
    }
    let r = api
        .post_json("/v1/auth/password-reset", &json!({"email": target}))
        .header("CF-Connecting-IP", ip())
        .reply()
        .await;
    assert_eq!(refused(&r).policy, "auth-account");
}
