//! The per-minute request limit of one user in one organization (and of account routes):
//! exact under concurrency, announced in every answer's headers, and reopened once the window
//! has passed.

use super::fields::{rate, refused};
use super::fixtures::{burst, get, signup, tally, tight_requests, worker, RPM};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        // First: it waits out a window, the other trials run meanwhile.
        trial!(the_window_reopens_after_retry_after),
        trial!(a_burst_lets_exactly_the_limit_through),
        trial!(remaining_counts_down_by_one),
        trial!(account_routes_are_limited_per_user),
    ]
}

/// How many requests beyond the limit the bursts send.
const EXTRA: usize = 3;
const N: usize = RPM as usize;

async fn a_burst_lets_exactly_the_limit_through(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let a = signup(&api).await;
    let path = a.org_path("");
    let replies = burst(N + EXTRA, |_| get(&api, &path, &a.token)).await;
    assert_eq!(
        tally(&replies),
        (N, EXTRA),
        "{N}+{EXTRA} concurrent requests"
    );

    let mut remaining: Vec<i64> = Vec::new();
    for r in &replies {
        let rate = rate(r);
        assert_eq!(rate.policy, "user", "{rate:?}");
        assert_eq!(rate.limit, i64::from(RPM), "{rate:?}");
        if r.status == 429 {
            let rate = refused(r);
            assert!(r.problem().detail.is_some(), "{}", r.text());
            assert!(rate.retry_after >= Some(1), "{rate:?}");
        } else {
            assert_eq!(rate.retry_after, None, "Retry-After on a {}", r.status);
            remaining.push(rate.remaining);
        }
    }
    remaining.sort_unstable();
    let expected: Vec<i64> = (0..i64::from(RPM)).collect();
    assert_eq!(
        remaining, expected,
        "each allowed request must see its own count (no lost updates)"
    );
}

async fn remaining_counts_down_by_one(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let a = signup(&api).await;
    let path = a.org_path("");
    let mut last_reset = i64::MAX;
    for n in 1..=i64::from(RPM) {
        let r = get(&api, &path, &a.token).await;
        r.expect_status(200);
        let rate = rate(&r);
        assert_eq!(
            (rate.policy.as_str(), rate.limit, rate.remaining),
            ("user", i64::from(RPM), i64::from(RPM) - n),
            "request {n}: {rate:?}"
        );
        assert!(rate.reset <= last_reset, "t grew: {rate:?}");
        last_reset = rate.reset;
    }
    let r = get(&api, &path, &a.token).await;
    let rate = refused(&r);
    assert_eq!(rate.policy, "user");
    assert!(rate.reset <= last_reset, "{rate:?}");
    // A refused request does not count: the next one is refused the same way.
    let again = refused(&get(&api, &path, &a.token).await);
    assert_eq!((again.remaining, again.limit), (0, i64::from(RPM)));
}

async fn the_window_reopens_after_retry_after(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let a = signup(&api).await;
    let path = a.org_path("");
    let replies = burst(N + 1, |_| get(&api, &path, &a.token)).await;
    assert_eq!(tally(&replies), (N, 1));
    let refusal = replies
        .iter()
        .find(|r| r.status == 429)
        .unwrap_or_else(|| unreachable!());
    let wait = refused(refusal).retry_after.unwrap_or_default();
    assert!((1..=60).contains(&wait), "Retry-After {wait}");

    // The deliberate wait: the window must be over after Retry-After seconds.
    tokio::time::sleep(Duration::from_secs(wait.unsigned_abs())).await;
    let r = get(&api, &path, &a.token).await;
    r.expect_status(200);
    let fresh = rate(&r);
    assert_eq!(
        fresh.remaining,
        i64::from(RPM) - 1,
        "a new window: {fresh:?}"
    );
    assert!(fresh.reset >= 58, "a new window ends ~60 s away: {fresh:?}");
}

async fn account_routes_are_limited_per_user(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let (a, b) = (signup(&api).await, signup(&api).await);
    // `/v1/me` and `GET /v1/orgs`: one budget per user at the free plan's rate.
    let replies = burst(N + EXTRA, |i| {
        let path = if i % 2 == 0 { "/v1/me" } else { "/v1/orgs" };
        get(&api, path, &a.token)
    })
    .await;
    assert_eq!(tally(&replies), (N, EXTRA));
    for r in &replies {
        let rate = rate(r);
        assert_eq!((rate.policy.as_str(), rate.limit), ("user", i64::from(RPM)));
    }
    // Another user is not affected, and neither are the first user's organization routes.
    let r = get(&api, "/v1/me", &b.token).await;
    r.expect_status(200);
    assert_eq!(rate(&r).remaining, i64::from(RPM) - 1);
    let r = get(&api, &a.org_path(""), &a.token).await;
    r.expect_status(200);
    assert_eq!(rate(&r).remaining, i64::from(RPM) - 1);
}
