//! API keys: the secret shown once, lists without it, `last_used_at`, revocation and expiry
//! effective at once.

use super::kit::{
    assert_id, assert_time, create_key, create_key_reply, keys, list_all, signup, Caller, SCOPES,
};
use crate::support::{trial, Suite};
use edge_tests::eventually;
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(key_is_shown_once_and_listed_without_secret),
        trial!(last_used_at_is_set_after_use),
        trial!(revoked_key_is_401_at_once),
        trial!(key_expires_at_its_time),
    ]
}

async fn listed(by: &Caller, org: &str, id: &str) -> Value {
    list_all(by, &format!("/v1/orgs/{org}/api-keys"), 100)
        .await
        .into_iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("key {id} is not listed"))
}

async fn key_is_shown_once_and_listed_without_secret(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let body = json!({"name": "ci deploys", "scopes": ["documents:write", "files:read", "documents:write"]});
    let r = create_key_reply(&by, org, &body).await;
    r.expect_status(201);
    let k = r.json();
    assert_eq!(
        keys(&k),
        [
            "created_at",
            "expires_at",
            "id",
            "key",
            "name",
            "prefix",
            "scopes"
        ],
        "{k}"
    );
    assert_id(&k["id"], "key_");
    assert_eq!(k["name"], "ci deploys");
    assert_eq!(
        k["scopes"],
        json!(["documents:write", "files:read"]),
        "deduplicated"
    );
    assert!(k["expires_at"].is_null());
    assert_time(&k["created_at"], "created_at");
    let secret = k["key"].as_str().unwrap();
    assert!(
        secret.starts_with("sk_") && secret.len() >= 3 + 32,
        "{secret}"
    );
    let prefix = k["prefix"].as_str().unwrap();
    assert!(
        secret.starts_with(prefix) && prefix.len() < secret.len() / 2,
        "prefix {prefix} of {secret}"
    );
    let id = k["id"].as_str().unwrap();

    // Every scope at once is fine.
    let (all, _) = create_key(&by, org, &SCOPES).await;
    assert_eq!(all["scopes"], json!(SCOPES));

    let row = listed(&by, org, id).await;
    for field in ["key", "hash", "secret", "key_hash"] {
        assert!(row.get(field).is_none(), "the list shows `{field}`: {row}");
    }
    for field in [
        "id",
        "name",
        "scopes",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
    ] {
        assert!(row.get(field).is_some(), "the list lacks `{field}`: {row}");
    }
    assert_eq!(row["prefix"], prefix);
    assert_eq!(row["scopes"], k["scopes"]);
    assert!(row["last_used_at"].is_null(), "{row}");
    // (kit's scan already refuses the secret or its hash in any later response.)

    // The key works: it reads its org.
    let key = Caller::bearer(&s.api, secret);
    let r = key.get(&format!("/v1/orgs/{org}")).await;
    r.expect_status(200);
    assert_eq!(r.json()["id"], org.as_str());
    // It is not a user.
    key.get("/v1/me").await.expect_problem(403, "forbidden");
    key.get("/v1/orgs").await.expect_problem(403, "forbidden");
}

async fn last_used_at_is_set_after_use(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let (k, secret) = create_key(&by, &org, &["documents:read"]).await;
    let id = k["id"].as_str().unwrap().to_owned();
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    Caller::bearer(&s.api, &secret)
        .get(&format!("/v1/orgs/{org}"))
        .await
        .expect_status(200);
    let used = eventually(
        "last_used_at to be set",
        Duration::from_secs(15),
        || async {
            let row = listed(&by, &org, &id).await;
            row["last_used_at"].as_str().map(str::to_owned)
        },
    )
    .await;
    let at = chrono::DateTime::parse_from_rfc3339(&used)
        .unwrap_or_else(|e| panic!("last_used_at {used}: {e}"));
    assert!(
        at >= before && at <= chrono::Utc::now() + chrono::Duration::seconds(5),
        "last_used_at {used} is not the time of use"
    );
}

async fn revoked_key_is_401_at_once(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let (k, secret) = create_key(&by, &org, &SCOPES).await;
    let (_, other) = create_key(&by, &org, &SCOPES).await;
    let id = k["id"].as_str().unwrap();
    let key = Caller::bearer(&s.api, &secret);
    key.get(&format!("/v1/orgs/{org}")).await.expect_status(200);

    let r = by.delete(&format!("/v1/orgs/{org}/api-keys/{id}")).await;
    r.expect_status(204);
    assert!(r.body.is_empty());
    let r = key.get(&format!("/v1/orgs/{org}")).await;
    r.expect_problem(401, "unauthenticated");
    let row = listed(&by, &org, id).await;
    assert_time(&row["revoked_at"], "revoked_at");
    // Other keys are unaffected.
    Caller::bearer(&s.api, &other)
        .get(&format!("/v1/orgs/{org}"))
        .await
        .expect_status(200);
    for bad in ["key_0000000000000000000000", "nope"] {
        by.delete(&format!("/v1/orgs/{org}/api-keys/{bad}"))
            .await
            .expect_problem(404, "not_found");
    }
    // Still dead a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    key.get(&format!("/v1/orgs/{org}"))
        .await
        .expect_problem(401, "unauthenticated");
}

async fn key_expires_at_its_time(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    // In the past: refused at creation.
    let past = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    create_key_reply(
        &by,
        &org,
        &json!({"name": "old", "scopes": ["documents:read"], "expires_at": past}),
    )
    .await
    .expect_problem(400, "validation_failed")
    .expect_field("expires_at");

    let expires = chrono::Utc::now() + chrono::Duration::seconds(8);
    let r = create_key_reply(
        &by,
        &org,
        &json!({"name": "short", "scopes": ["documents:read"], "expires_at": expires.to_rfc3339()}),
    )
    .await;
    r.expect_status(201);
    let k = r.json();
    assert_time(&k["expires_at"], "expires_at");
    let stored = chrono::DateTime::parse_from_rfc3339(k["expires_at"].as_str().unwrap()).unwrap();
    assert!((stored.timestamp() - expires.timestamp()).abs() <= 1, "{k}");
    let key = Caller::bearer(&s.api, k["key"].as_str().unwrap());
    key.get(&format!("/v1/orgs/{org}")).await.expect_status(200);
    // Refused no later than 3 s past `expires_at` (a key must not outlive its expiry).
    let until = (expires - chrono::Utc::now() + chrono::Duration::seconds(3))
        .to_std()
        .unwrap_or_default();
    let r = eventually("the key to expire", until, || async {
        let r = key.get(&format!("/v1/orgs/{org}")).await;
        (r.status != 200).then_some(r)
    })
    .await;
    assert!(
        chrono::Utc::now() >= expires,
        "the key was refused before its expiry: {}",
        r.text()
    );
    r.expect_problem(401, "unauthenticated");
}
