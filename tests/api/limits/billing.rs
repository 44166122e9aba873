//! A subscription's life through Stripe events (checkout links the customer, later events find
//! the organization by it), and who may see the subscription and the usage.

use super::fixtures::{api_key, get, join, roomy, signup, usage, worker};
use super::stripe::{
    customer, event, next_month, subscription, subscription_of, unix_of, Stripe, ENTERPRISE, PRO,
};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(checkout_links_the_customer_for_later_events),
        trial!(the_subscription_is_for_owners_only),
        trial!(usage_is_for_admins_and_usage_read_keys),
    ]
}

async fn checkout_links_the_customer_for_later_events(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let (cus, sub_id) = (customer(), format!("sub_{}", random::hex(8)));
    let checkout = event(
        "checkout.session.completed",
        json!({"id": format!("cs_{}", random::hex(8)), "object": "checkout.session",
               "client_reference_id": owner.org_id, "customer": cus, "subscription": sub_id,
               "payment_status": "paid", "mode": "subscription"}),
    );
    stripe.deliver(&checkout, true).await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(sub["customer_id"], cus.as_str(), "{sub}");
    assert_eq!(sub["subscription_id"], sub_id.as_str(), "{sub}");
    assert_eq!(sub["plan"], "free", "checkout alone sets no plan: {sub}");

    // No metadata: the organization is found through the customer.
    let end = next_month();
    let mut object = subscription(None, &cus, ENTERPRISE, "active", end);
    object["id"] = json!(sub_id);
    stripe
        .deliver(
            &event("customer.subscription.updated", object.clone()),
            true,
        )
        .await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"], &sub["price_id"]),
        (&json!("enterprise"), &json!("active"), &json!(ENTERPRISE)),
        "{sub}"
    );
    assert_eq!(unix_of(&sub["current_period_end"]), end, "{sub}");
    assert_eq!(usage(&api, &owner).await["plan"], "enterprise");

    // A failed payment: past due, the plan stays until Stripe says otherwise.
    let failed = event(
        "invoice.payment_failed",
        json!({"id": format!("in_{}", random::hex(8)), "object": "invoice", "customer": cus,
               "subscription": sub_id}),
    );
    stripe.deliver(&failed, true).await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"]),
        (&json!("enterprise"), &json!("past_due")),
        "{sub}"
    );

    // Downgraded by a price change, then cancelled.
    let mut down = subscription(None, &cus, PRO, "active", end);
    down["id"] = json!(sub_id);
    stripe
        .deliver(&event("customer.subscription.updated", down.clone()), true)
        .await;
    assert_eq!(subscription_of(&api, &owner).await["plan"], "pro");
    let mut gone = down;
    gone["status"] = json!("canceled");
    stripe
        .deliver(&event("customer.subscription.deleted", gone), true)
        .await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"], &sub["customer_id"]),
        (&json!("free"), &json!("canceled"), &json!(cus)),
        "{sub}"
    );
    assert_eq!(usage(&api, &owner).await["plan"], "free");

    // A subscription that is not live (unpaid) does not grant its price's plan.
    // (A new subscription: a deleted one is final, see limits::ordering.)
    let unpaid = subscription(None, &cus, PRO, "unpaid", end);
    stripe
        .deliver(&event("customer.subscription.updated", unpaid), true)
        .await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"]),
        (&json!("free"), &json!("unpaid"))
    );
}

async fn the_subscription_is_for_owners_only(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let api = w.api();
    let owner = signup(&api).await;
    let admin = join(s, &api, &owner, "admin").await;
    let stranger = signup(&api).await;
    let path = owner.org_path("/billing/subscription");

    get(&api, &path, &admin.token)
        .await
        .expect_problem(403, "forbidden");
    get(&api, &path, &stranger.token)
        .await
        .expect_problem(404, "not_found");
    let key = api_key(&api, &owner, &["usage:read", "jobs:write"]).await;
    get(&api, &path, &key)
        .await
        .expect_problem(403, "forbidden");
    get(&api, &path, "not-a-token")
        .await
        .expect_problem(401, "unauthenticated");
    // The stranger's own subscription is theirs.
    subscription_of(&api, &stranger).await;
    subscription_of(&api, &owner).await;
}

async fn usage_is_for_admins_and_usage_read_keys(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let api = w.api();
    let owner = signup(&api).await;
    let admin = join(s, &api, &owner, "admin").await;
    let member = join(s, &api, &owner, "member").await;
    let stranger = signup(&api).await;
    let path = owner.org_path("/usage");
    let reader = api_key(&api, &owner, &["usage:read"]).await;
    let writer = api_key(&api, &owner, &["jobs:write"]).await;

    for token in [&owner.token, &admin.token, &reader] {
        let r = get(&api, &path, token).await;
        r.expect_status(200);
        assert_eq!(r.json()["plan"], "free");
    }
    for token in [&member.token, &writer] {
        get(&api, &path, token)
            .await
            .expect_problem(403, "forbidden");
    }
    get(&api, &path, &stranger.token)
        .await
        .expect_problem(404, "not_found");
}
