//! Endpoint management: validation (public http(s) URLs only, known event types), the plan's
//! endpoint limit, admins only, the secret shown at creation and rotation only, rotation with
//! an overlap during which both secrets sign (each verified by `standardwebhooks`) and only
//! the new one after, and deletion.

use super::kit::{self, endpoint, hook, hooks, join, signup, verifies, wait, SETTLE};
use crate::documents::kit::{api_key, Caller};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(bad_endpoints_are_refused_and_nothing_is_stored),
        trial!(only_admins_manage_endpoints_and_the_plan_limits_them),
        trial!(rotation_signs_with_both_secrets_then_only_the_new),
        trial!(a_deleted_endpoint_is_gone_and_gets_nothing),
    ]
}

async fn bad_endpoints_are_refused_and_nothing_is_stored(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let good = kit::url_for(&s.receiver, "never");
    let bad = [
        json!({"url": "http://127.0.0.1:9/x", "event_types": ["*"]}),
        json!({"url": "http://169.254.169.254/latest", "event_types": ["*"]}),
        json!({"url": "http://10.0.0.1/", "event_types": ["*"]}),
        json!({"url": "file:///etc/passwd", "event_types": ["*"]}),
        json!({"url": "not a url", "event_types": ["*"]}),
        json!({"url": good, "event_types": []}),
        json!({"url": good, "event_types": ["document.exploded"]}),
        json!({"url": good, "event_types": ["nothing.*"]}),
        json!({"url": good, "event_types": "*"}),
        json!({"url": good, "event_types": ["*"], "secret": "whsec_mine"}),
        json!({"url": good, "event_types": ["*"], "description": "x".repeat(501)}),
        json!({"event_types": ["*"]}),
    ];
    for body in &bad {
        let r = by.post(&hooks(org), body).await;
        kit::problem(&r, 400, &format!("{body}"));
    }
    let list = by.get(&hooks(org)).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_eq!(
        list.json()["items"],
        json!([]),
        "a refused endpoint was stored"
    );
    let e = endpoint(&by, &s.receiver, org, &["*"]).await;
    let r = by
        .patch(&hook(org, &e.id), &json!({"url": "http://192.168.0.1/"}))
        .await;
    kit::problem(&r, 400, "PATCH to a private URL");
    assert_eq!(
        kit::get(&by, org, &e.id).await["url"],
        e.url.as_str(),
        "PATCH refused, URL kept"
    );
}

async fn only_admins_manage_endpoints_and_the_plan_limits_them(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["*"]).await;
    let member = join(s, &by, org, "member").await.on(&s.api);
    let admin = join(s, &by, org, "admin").await.on(&s.api);
    let (_, secret) = api_key(&by, org, &["documents:read", "documents:write"]).await;
    let key = Caller::new(&s.api, &secret);
    let body = json!({"url": kit::url_for(&s.receiver, "x"), "event_types": ["*"]});
    for (who, c) in [("member", &member), ("api key", &key)] {
        let r = c.post(&hooks(org), &body).await;
        kit::problem(&r, 403, &format!("{who} creates"));
        for path in [
            hooks(org),
            hook(org, &e.id),
            format!("/v1/orgs/{org}/events"),
        ] {
            let r = c.get(&path).await;
            kit::problem(&r, 403, &format!("{who} reads {path}"));
        }
        let r = c
            .post(&format!("{}/rotate-secret", hook(org, &e.id)), &json!({}))
            .await;
        kit::problem(&r, 403, &format!("{who} rotates"));
        let r = c.delete(&hook(org, &e.id)).await;
        kit::problem(&r, 403, &format!("{who} deletes"));
    }
    // An admin may; the free plan allows 5.
    for _ in 0..4 {
        endpoint(&admin, &s.receiver, org, &["document.*"]).await;
    }
    let r = admin.post(&hooks(org), &body).await;
    kit::problem(&r, 409, "a 6th endpoint on the free plan");
    let list = by.get(&format!("{}?limit=100", hooks(org))).await.json();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(5), "{list}");
    for item in list["items"].as_array().into_iter().flatten() {
        assert!(
            item.get("secret").is_none(),
            "a listed endpoint shows its secret: {item}"
        );
    }
}

async fn rotation_signs_with_both_secrets_then_only_the_new(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["document.created"]).await;
    kit::document(&by, org, "Before rotation").await;
    let before = wait(&s.receiver, &e, 1).await;
    assert!(verifies(&e.secret, &before[0]).is_ok());
    // Long enough for a delivery under a loaded machine to fall inside it.
    let overlap = 15;
    let r = by
        .post(
            &format!("{}/rotate-secret", hook(org, &e.id)),
            &json!({"overlap_seconds": overlap}),
        )
        .await;
    assert_eq!(r.status, 200, "rotate: {}", r.text());
    let rotated = r.json();
    let new = rotated["secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    assert_ne!(new, e.secret);
    assert_eq!(rotated["secret_generation"], 2, "{rotated}");
    assert!(
        rotated["previous_secret_valid_until"].is_string(),
        "{rotated}"
    );
    kit::document(&by, org, "During overlap").await;
    let during = wait(&s.receiver, &e, 2).await;
    let d = &during[1];
    assert!(
        d.header("webhook-signature")
            .is_some_and(|h| h.split(' ').count() == 2),
        "two signatures during the overlap: {:?}",
        d.header("webhook-signature")
    );
    verifies(&e.secret, d).unwrap_or_else(|x| panic!("old secret during the overlap: {x}"));
    verifies(&new, d).unwrap_or_else(|x| panic!("new secret during the overlap: {x}"));
    tokio::time::sleep(Duration::from_secs(overlap + 1)).await;
    kit::document(&by, org, "After overlap").await;
    let after = wait(&s.receiver, &e, 3).await;
    let d = &after[2];
    verifies(&new, d).unwrap_or_else(|x| panic!("new secret after the overlap: {x}"));
    assert!(
        verifies(&e.secret, d).is_err(),
        "the old secret still verifies after the overlap"
    );
    let r = by
        .post(
            &format!("{}/rotate-secret", hook(org, &e.id)),
            &json!({"overlap_seconds": -1}),
        )
        .await;
    kit::problem(&r, 400, "a negative overlap");
}

async fn a_deleted_endpoint_is_gone_and_gets_nothing(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let e = endpoint(&by, &s.receiver, org, &["*"]).await;
    let r = by.delete(&hook(org, &e.id)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let r = by.get(&hook(org, &e.id)).await;
    kit::problem(&r, 404, "a deleted endpoint");
    let r = by.delete(&hook(org, &e.id)).await;
    kit::problem(&r, 404, "deleted twice");
    kit::document(&by, org, "Nobody subscribed").await;
    tokio::time::sleep(SETTLE).await;
    assert!(
        kit::received(&s.receiver, &e).is_empty(),
        "a deleted endpoint got an event"
    );
}
