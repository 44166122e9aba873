//! The Stripe webhook: only correctly signed, fresh events change anything, each event id is
//! applied once (also when delivered twice at once), and unknown events are acknowledged.

use super::fixtures::{get, roomy, signup, worker, Account};
use super::stripe::{
    customer, event, next_month, subscription, subscription_of, unix_of, Stripe, ENTERPRISE, PRO,
};
use crate::support::{trial, Suite};
use edge_tests::{random, signature, Api};
use futures_util::future::join;
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_signed_event_changes_the_subscription),
        trial!(bad_signatures_are_400_and_change_nothing),
        trial!(an_event_is_applied_once),
        trial!(unknown_events_are_acknowledged_and_ignored),
        trial!(the_tolerance_is_300_seconds_either_way),
    ]
}

/// The state before any event: free, `status: "none"`, nothing linked.
fn assert_untouched(sub: &Value) {
    assert_eq!(
        sub,
        &json!({"plan": "free", "status": "none", "current_period_end": null,
                "customer_id": null, "subscription_id": null, "price_id": null}),
    );
}

async fn a_signed_event_changes_the_subscription(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    assert_untouched(&subscription_of(&api, &owner).await);

    let (cus, end) = (customer(), next_month());
    let object = subscription(Some(&owner.org_id), &cus, PRO, "active", end);
    let created = event("customer.subscription.created", object.clone());
    stripe.deliver(&created, true).await;
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"], &sub["price_id"]),
        (&json!("pro"), &json!("active"), &json!(PRO)),
        "{sub}"
    );
    assert_eq!(sub["customer_id"], cus.as_str(), "{sub}");
    assert_eq!(sub["subscription_id"], object["id"], "{sub}");
    assert_eq!(unix_of(&sub["current_period_end"]), end, "{sub}");

    // Several v1 signatures (a secret being rolled): any one that matches is enough.
    let updated = event(
        "customer.subscription.updated",
        subscription(Some(&owner.org_id), &cus, ENTERPRISE, "trialing", end),
    );
    let body = updated.to_string().into_bytes();
    let t = signature::unix_now();
    let good = signature::sign(stripe.secret(), t, &body);
    let good_v1 = good.rsplit("v1=").next().unwrap_or_default();
    let header = format!("t={t},v1={},v1={good_v1}", random::hex(32));
    let r = stripe.post(&body, Some(&header)).await;
    r.expect_status(200);
    assert_eq!(r.json()["applied"], true, "{}", r.text());
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"]),
        (&json!("enterprise"), &json!("trialing"))
    );
}

async fn bad_signatures_are_400_and_change_nothing(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let ev = event(
        "customer.subscription.updated",
        subscription(
            Some(&owner.org_id),
            &customer(),
            PRO,
            "active",
            next_month(),
        ),
    );
    let body = ev.to_string().into_bytes();
    let now = signature::unix_now();
    let secret = stripe.secret().to_owned();

    // Signed for one body, sent with another (the plan swapped to enterprise).
    let tampered = ev.to_string().replace(PRO, ENTERPRISE).into_bytes();
    let header = signature::sign(&secret, now, &body);
    let v1 = header.rsplit("v1=").next().unwrap_or_default().to_owned();
    let cases: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        ("tampered body", tampered, Some(header.clone())),
        (
            "timestamp 301 s old",
            body.clone(),
            Some(signature::sign(&secret, now - 301, &body)),
        ),
        (
            "timestamp an hour old",
            body.clone(),
            Some(signature::sign(&secret, now - 3600, &body)),
        ),
        ("no header", body.clone(), None),
        (
            "wrong secret",
            body.clone(),
            Some(signature::sign(
                &format!("whsec_{}", random::base64url(24)),
                now,
                &body,
            )),
        ),
        (
            "signed timestamp swapped",
            body.clone(),
            Some(format!("t={},v1={v1}", now - 1)),
        ),
        ("no v1", body.clone(), Some(format!("t={now}"))),
        ("no t", body.clone(), Some(format!("v1={v1}"))),
        ("v0 only", body.clone(), Some(format!("t={now},v0={v1}"))),
        ("garbage", body.clone(), Some("garbage".to_owned())),
        ("empty", body.clone(), Some(String::new())),
        (
            "truncated v1",
            body.clone(),
            Some(format!("t={now},v1={}", &v1[..32])),
        ),
    ];
    for (what, body, header) in cases {
        let r = stripe.post(&body, header.as_deref()).await;
        assert_eq!(r.status, 400, "{what}: {}", r.text());
        r.expect_problem(400, "invalid_signature");
        assert_untouched(&subscription_of(&api, &owner).await);
    }

    // None of them recorded the event id: the genuine delivery is still applied.
    stripe.deliver(&ev, true).await;
    assert_eq!(subscription_of(&api, &owner).await["plan"], "pro");
}

/// How often the audit log records that event `id` changed the subscription.
async fn times_applied(api: &Api, owner: &Account, id: &Value) -> usize {
    let r = get(api, &owner.org_path("/audit-log?limit=100"), &owner.token).await;
    r.expect_status(200);
    let log = r.json();
    let items = log["items"].as_array().expect("audit items");
    items
        .iter()
        .filter(|e| {
            e["action"] == "billing.subscription_changed" && e["details"]["event_id"] == *id
        })
        .count()
}

async fn an_event_is_applied_once(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let cus = customer();
    let upgrade = event(
        "customer.subscription.updated",
        subscription(Some(&owner.org_id), &cus, PRO, "active", next_month()),
    );
    stripe.deliver(&upgrade, true).await;
    let replay = stripe.send(&upgrade).await;
    replay.expect_status(200);
    assert_eq!(
        replay.json(),
        json!({"received": true, "duplicate": true, "applied": false})
    );

    // A later event, then the old one again: the replay must not undo the later change.
    let cancel = event(
        "customer.subscription.deleted",
        subscription(Some(&owner.org_id), &cus, PRO, "canceled", next_month()),
    );
    stripe.deliver(&cancel, true).await;
    let replay = stripe.send(&upgrade).await;
    assert_eq!(replay.json()["duplicate"], true, "{}", replay.text());
    let sub = subscription_of(&api, &owner).await;
    assert_eq!(
        (&sub["plan"], &sub["status"]),
        (&json!("free"), &json!("canceled"))
    );

    // The same new event twice at the same moment: exactly one applies it.
    let again = event(
        "customer.subscription.updated",
        subscription(
            Some(&owner.org_id),
            &cus,
            ENTERPRISE,
            "active",
            next_month(),
        ),
    );
    let (a, b) = join(stripe.send(&again), stripe.send(&again)).await;
    a.expect_status(200);
    b.expect_status(200);
    let mut answers = vec![a.json(), b.json()];
    answers.sort_by_key(|v| v["duplicate"].as_bool());
    assert_eq!(
        answers,
        vec![
            json!({"received": true, "duplicate": false, "applied": true}),
            json!({"received": true, "duplicate": true, "applied": false}),
        ],
        "two concurrent deliveries of one event"
    );
    assert_eq!(subscription_of(&api, &owner).await["plan"], "enterprise");
    for ev in [&upgrade, &cancel, &again] {
        assert_eq!(
            times_applied(&api, &owner, &ev["id"]).await,
            1,
            "audit entries of event {}",
            ev["id"]
        );
    }
}

async fn unknown_events_are_acknowledged_and_ignored(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let (api, stripe) = (w.api(), Stripe::new(&w));
    let owner = signup(&api).await;
    let cus = customer();
    let unknown_types = [
        event(
            "customer.created",
            json!({"id": cus, "object": "customer", "metadata": {"org_id": owner.org_id}}),
        ),
        event(
            "payment_intent.succeeded",
            json!({"id": format!("pi_{}", random::hex(8)), "customer": cus}),
        ),
        event("some.future.event", json!({})),
    ];
    for ev in &unknown_types {
        stripe.deliver(ev, false).await;
    }
    // Known types about organizations or customers nobody has.
    let ghost_org = format!("org_{}", random::hex(12));
    let nobody = [
        event(
            "customer.subscription.updated",
            subscription(Some(&ghost_org), &customer(), PRO, "active", next_month()),
        ),
        event(
            "customer.subscription.updated",
            subscription(None, &customer(), PRO, "active", next_month()),
        ),
        event(
            "invoice.payment_failed",
            json!({"id": format!("in_{}", random::hex(8)), "customer": customer()}),
        ),
        event(
            "checkout.session.completed",
            json!({"id": format!("cs_{}", random::hex(8)), "client_reference_id": ghost_org,
                   "customer": customer(), "payment_status": "paid"}),
        ),
    ];
    for ev in &nobody {
        stripe.deliver(ev, false).await;
    }
    // Correctly signed but not an event: refused, nothing recorded.
    for body in [&b"{not json"[..], b"[]", b"{\"id\":\"evt_x\"}"] {
        let header = signature::sign(stripe.secret(), signature::unix_now(), body);
        let r = stripe.post(body, Some(&header)).await;
        assert_eq!(
            r.status,
            400,
            "{}: {}",
            String::from_utf8_lossy(body),
            r.text()
        );
        r.problem();
    }
    assert_untouched(&subscription_of(&api, &owner).await);
}

/// Signed by Stripe's library: 290 s old (or ahead) is accepted, 301 s old is not, nor 310 s
/// ahead (ahead, a second of transit would make 301 s an accepted 300).
async fn the_tolerance_is_300_seconds_either_way(s: &Suite) {
    let w = worker(s, &roomy()).await;
    let stripe = Stripe::new(&w);
    for (offset, accepted) in [(-290, true), (290, true), (-301, false), (310, false)] {
        let now = signature::unix_now();
        // A fresh event each time: a replayed id would be acknowledged as a duplicate.
        let ev = event(
            "customer.created",
            json!({"id": customer(), "object": "customer"}),
        );
        let body = ev.to_string().into_bytes();
        let header = edge_tests::stripe_lib::header(stripe.secret(), now + offset, &body);
        let r = stripe.post(&body, Some(&header)).await;
        if accepted {
            assert_eq!(r.status, 200, "{offset} s: {}", r.text());
            assert_eq!(r.json()["duplicate"], false, "{offset} s");
        } else {
            r.expect_problem(400, "invalid_signature");
        }
    }
}
