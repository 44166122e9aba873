//! Stripe does not deliver events in order: per subscription, an event older than the one
//! applied is recorded but not applied, and a deletion is final (issue 13, item 6).

use super::fixtures::{roomy, signup, usage, worker};
use super::stripe::{customer, event, next_month, subscription, subscription_of, Stripe, PRO};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(an_older_update_after_a_deletion_does_not_revive_the_plan),
        trial!(a_deletion_after_an_older_update_ends_in_the_same_state),
        trial!(a_newer_update_after_a_deletion_changes_nothing),
    ]
}

fn at(mut ev: Value, created: i64) -> Value {
    ev["created"] = json!(created);
    ev
}

/// `(updated at t=base, active on pro, deleted at t=base+1)` for one new subscription.
fn pair(org: &str, base: i64) -> (Value, Value) {
    let active = subscription(Some(org), &customer(), PRO, "active", next_month());
    let mut gone = active.clone();
    gone["status"] = json!("canceled");
    (
        at(event("customer.subscription.updated", active), base),
        at(event("customer.subscription.deleted", gone), base + 1),
    )
}

async fn assert_cancelled(api: &edge_tests::Api, owner: &super::fixtures::Account) {
    let sub = subscription_of(api, owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"]),
        (&json!("free"), &json!("canceled")),
        "{sub}"
    );
    assert_eq!(usage(api, owner).await["plan"], "free");
}

async fn an_older_update_after_a_deletion_does_not_revive_the_plan(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let now = edge_tests::signature::unix_now();
    let (updated, deleted) = pair(&owner.org_id, now - 60);
    stripe.deliver(&deleted, true).await;
    // Delivered late: older than the deletion, so recorded and not applied.
    stripe.deliver(&updated, false).await;
    assert_cancelled(&api, &owner).await;
}

async fn a_deletion_after_an_older_update_ends_in_the_same_state(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let now = edge_tests::signature::unix_now();
    let (updated, deleted) = pair(&owner.org_id, now - 60);
    stripe.deliver(&updated, true).await;
    assert_eq!(subscription_of(&api, &owner).await["plan"], "pro");
    stripe.deliver(&deleted, true).await;
    assert_cancelled(&api, &owner).await;
}

async fn a_newer_update_after_a_deletion_changes_nothing(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let now = edge_tests::signature::unix_now();
    let (updated, deleted) = pair(&owner.org_id, now - 60);
    stripe.deliver(&updated, true).await;
    stripe.deliver(&deleted, true).await;
    // Documented: a deleted subscription is final; even a newer event about it is not applied.
    let newer = at(
        event(
            "customer.subscription.updated",
            updated["data"]["object"].clone(),
        ),
        now,
    );
    stripe.deliver(&newer, false).await;
    assert_cancelled(&api, &owner).await;
    // A new subscription (new id) of the same organization applies normally.
    let (fresh, _) = pair(&owner.org_id, now);
    stripe.deliver(&fresh, true).await;
    assert_eq!(subscription_of(&api, &owner).await["plan"], "pro");
}
