//! `GET /v1/orgs/{org}/webhook-secret` and `POST …/rotate`: per organization, admins and
//! owners only (never members or API keys), rotation audit-logged, and deliveries right after
//! a rotation verify (PyPI `standardwebhooks`) with the new and with the previous secret.

use super::kit::{api_key, assert_webhook_signed, create, join, signup, Caller, JOB_DEADLINE};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(
        the_secret_is_per_org_admin_only_and_rotates_with_a_grace_signature
    )]
}

async fn the_secret_is_per_org_admin_only_and_rotates_with_a_grace_signature(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let path = format!("/v1/orgs/{org}/webhook-secret");
    let first = by.get(&path).await;
    first.expect_status(200);
    let first = first.json();
    assert_eq!(first["generation"], 1, "{first}");
    assert_eq!(by.get(&path).await.json(), first, "stable between reads");
    let member = join(s, &by, org, "member").await;
    let (_, key) = api_key(&by, org, &["jobs:write", "documents:read"]).await;
    for caller in [member.on(&s.api), Caller::new(&s.api, &key)] {
        caller.get(&path).await.expect_problem(403, "forbidden");
        caller
            .post(&format!("{path}/rotate"), &json!({}))
            .await
            .expect_problem(403, "forbidden");
    }
    let stranger = signup(&s.api).await;
    stranger
        .on(&s.api)
        .get(&path)
        .await
        .expect_problem(404, "not_found");

    let r = by.post(&format!("{path}/rotate"), &json!({})).await;
    r.expect_status(200);
    let second = r.json();
    assert_eq!(second["generation"], 2, "{second}");
    assert_ne!(second["secret"], first["secret"]);
    assert_eq!(by.get(&path).await.json()["secret"], second["secret"]);
    let log = by.get(&format!("/v1/orgs/{org}/audit-log")).await.json();
    assert!(
        log.to_string().contains("webhook_secret.rotated"),
        "the rotation is not in the audit log: {log}"
    );
    assert!(
        !log.to_string().contains("whsec_"),
        "the audit log holds a secret"
    );
    // A delivery after the rotation verifies with the new secret and, during the grace
    // period, with the previous one.
    let key = random::unique("hook-rot");
    let url = format!("{}/hook/{key}", s.receiver.url());
    create(
        &by,
        org,
        "webhook.deliver",
        json!({"url": url, "body": {"payload": {"test_key": key}}}),
    )
    .await;
    let seen = s.receiver.wait_for(&key, 1, JOB_DEADLINE).await;
    assert_webhook_signed(second["secret"].as_str().unwrap(), &seen[0]);
    assert_webhook_signed(first["secret"].as_str().unwrap(), &seen[0]);
}
