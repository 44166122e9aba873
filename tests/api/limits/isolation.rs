//! Whose budget a request spends: each organization, each user within one, and each API key
//! has its own; one tenant's burst never limits another.

use super::fields::rate;
use super::fixtures::{
    api_key, burst, get, interleaved, join, signup, tally, tight_requests, worker, RPM,
};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(two_orgs_bursting_at_once_do_not_interfere),
        trial!(two_users_of_one_org_have_separate_limits),
        trial!(an_api_key_has_its_own_limit),
    ]
}

const N: usize = RPM as usize;
const EXTRA: usize = 3;

async fn two_orgs_bursting_at_once_do_not_interfere(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let (a, b) = (signup(&api).await, signup(&api).await);
    let (pa, pb) = (a.org_path(""), b.org_path(""));
    // Both bursts interleaved in one go.
    let replies = burst(2 * (N + EXTRA), |i| {
        let (path, token) = if i % 2 == 0 {
            (&pa, &a.token)
        } else {
            (&pb, &b.token)
        };
        get(&api, path, token)
    })
    .await;
    let (ra, rb) = interleaved(replies);
    assert_eq!(tally(&ra), (N, EXTRA), "org A");
    assert_eq!(tally(&rb), (N, EXTRA), "org B");
    for r in ra.iter().chain(&rb) {
        assert_eq!(rate(r).policy, "user");
    }
}

async fn two_users_of_one_org_have_separate_limits(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let owner = signup(&api).await;
    // The invitation is one organization request of the owner's.
    let member = join(s, &api, &owner, "member").await;
    let path = owner.org_path("");
    let replies = burst(2 * (N + EXTRA), |i| {
        let token = if i % 2 == 0 {
            &owner.token
        } else {
            &member.token
        };
        get(&api, &path, token)
    })
    .await;
    let (by_owner, by_member) = interleaved(replies);
    assert_eq!(
        tally(&by_owner),
        (N - 1, EXTRA + 1),
        "the owner (one request spent on the invitation)"
    );
    assert_eq!(tally(&by_member), (N, EXTRA), "the member");
}

async fn an_api_key_has_its_own_limit(s: &Suite) {
    let w = worker(s, &tight_requests()).await;
    let api = w.api();
    let owner = signup(&api).await;
    // Two organization requests of the owner's.
    let key = api_key(&api, &owner, &["jobs:write"]).await;
    let reader = api_key(&api, &owner, &["usage:read"]).await;
    let path = owner.org_path("");

    // A request the key may not make still passes its limiter first and says so.
    let r = get(&api, &owner.org_path("/usage"), &key).await;
    r.expect_problem(403, "forbidden");
    let first = rate(&r);
    assert_eq!(
        (first.policy.as_str(), first.limit, first.remaining),
        ("api_key", i64::from(RPM), i64::from(RPM) - 1),
        "{first:?}"
    );

    let replies = burst(N + EXTRA, |_| get(&api, &path, &key)).await;
    assert_eq!(tally(&replies), (N - 1, EXTRA + 1), "the key's burst");
    for r in &replies {
        assert_eq!(rate(r).policy, "api_key");
    }
    // Neither the owner nor another key of the organization spent anything on it.
    let r = get(&api, &path, &owner.token).await;
    r.expect_status(200);
    let own = rate(&r);
    assert_eq!(
        (own.policy.as_str(), own.remaining),
        ("user", i64::from(RPM) - 3)
    );
    let r = get(&api, &owner.org_path("/usage"), &reader).await;
    r.expect_status(200);
    let other = rate(&r);
    assert_eq!(
        (other.policy.as_str(), other.remaining),
        ("api_key", i64::from(RPM) - 1)
    );
}
