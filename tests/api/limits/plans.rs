//! A plan change moves the organization's request limit on its very next request, for users
//! and API keys alike; refused requests are not counted as usage.

use super::fields::{rate, refused};
use super::fixtures::{api_key, burst, get, signup, tally, worker};
use super::stripe::{customer, event, next_month, subscription, Stripe, PRO};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial!(an_upgrade_lifts_the_request_limit_at_once)]
}

const FREE_RPM: i64 = 5;
const PRO_RPM: i64 = 50;

async fn an_upgrade_lifts_the_request_limit_at_once(s: &Suite) {
    let limits = format!(
        r#"{{"free":{{"requests_per_minute":{FREE_RPM}}},"pro":{{"requests_per_minute":{PRO_RPM}}},"auth_per_minute":1000}}"#
    );
    let w = worker(s, &limits).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let key = api_key(&api, &owner, &["usage:read"]).await; // the owner's first request
    let path = owner.org_path("");
    let replies = burst(8, |_| get(&api, &path, &owner.token)).await;
    assert_eq!(tally(&replies), (4, 4));

    let r = get(&api, &owner.org_path("/usage"), &key).await;
    r.expect_status(200);
    assert_eq!(rate(&r).limit, FREE_RPM);
    let u = r.json();
    assert_eq!(u["plan"], "free", "{u}");
    assert_eq!(u["requests"]["limit_per_minute"], FREE_RPM, "{u}");
    assert_eq!(
        u["requests"]["used"], 6,
        "the key creation, 4 of the burst and this call; not the 4 refused: {u}"
    );

    let (cus, end) = (customer(), next_month());
    let upgrade = subscription(Some(&owner.org_id), &cus, PRO, "active", end);
    stripe
        .deliver(
            &event("customer.subscription.updated", upgrade.clone()),
            true,
        )
        .await;
    // The owner's window already holds 9 (every request counts, the 4 refused too): under the
    // pro limit the next request passes, as the 10th.
    let r = get(&api, &path, &owner.token).await;
    r.expect_status(200);
    let now = rate(&r);
    assert_eq!(
        (now.limit, now.remaining),
        (PRO_RPM, PRO_RPM - 10),
        "{now:?}"
    );
    let r = get(&api, &owner.org_path("/usage"), &key).await;
    r.expect_status(200);
    let k = rate(&r);
    assert_eq!(
        (k.policy.as_str(), k.limit, k.remaining),
        ("api_key", PRO_RPM, PRO_RPM - 2)
    );
    assert_eq!(r.json()["requests"]["limit_per_minute"], PRO_RPM);

    // Cancelled: back to the free limit, which the window is already past.
    stripe
        .deliver(&event("customer.subscription.deleted", upgrade), true)
        .await;
    let r = get(&api, &path, &owner.token).await;
    let back = refused(&r);
    assert_eq!((back.policy.as_str(), back.limit), ("user", FREE_RPM));
}
