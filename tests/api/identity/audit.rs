//! The audit log: the security-relevant writes of an organization appear newest first with
//! actor, target and request id, chained by hash; `…/verify` checks the chain and names the
//! first entry altered behind the worker's back (a direct D1 edit on a private worker).

use super::kit::{
    accept, create_key, invitation_token, invite, join, keys, list_all, login, login_ok, signup,
    wait_emails, Caller,
};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::{json, Value};

/// `hex(sha256(prev_hash "\n" JSON array))` of the array `[org_id, seq, action, actor.type,
/// actor.id, target.type, target.id, ip, request_id, details, created_at]`, where `details`
/// is the details object as compact JSON text with its keys sorted: the form documented for
/// `AuditLogEntry.hash` in the OpenAPI document.
fn independent_hash(prev: &str, org: &str, e: &Value) -> String {
    use sha2::Digest;
    let target = |k: &str| e["target"].get(k).cloned().unwrap_or(Value::Null);
    // serde_json's map is ordered by key (no preserve_order feature): sorted, compact.
    let details = serde_json::to_string(&e["details"]).expect("details");
    if let Some(d) = e["pii_digest"].as_str() {
        // v2: the personal fields through the salted digest (checked while the salt is kept).
        if let Some(salt) = e["pii_salt"].as_str() {
            let personal = json!([e["actor"]["id"], target("id"), e["ip"], details]);
            let data = format!("{salt}\n{personal}");
            assert_eq!(hex::encode(sha2::Sha256::digest(data.as_bytes())), d, "{e}");
        }
        let array = json!([
            "v2",
            org,
            e["seq"],
            e["action"],
            e["actor"]["type"],
            target("type"),
            e["request_id"],
            e["created_at"],
            d
        ]);
        let data = format!("{prev}\n{array}");
        return hex::encode(sha2::Sha256::digest(data.as_bytes()));
    }
    let array = json!([
        org,
        e["seq"],
        e["action"],
        e["actor"]["type"],
        e["actor"]["id"],
        target("type"),
        target("id"),
        e["ip"],
        e["request_id"],
        details,
        e["created_at"],
    ]);
    let data = format!("{prev}\n{array}");
    hex::encode(sha2::Sha256::digest(data.as_bytes()))
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(security_events_are_recorded_and_chained),
        trial!(a_direct_edit_breaks_the_chain_at_that_entry),
        trial!(concurrent_writes_in_one_org_all_land_on_one_chain),
    ]
}

const ENTRY_KEYS: [&str; 12] = [
    "action",
    "actor",
    "created_at",
    "details",
    "hash",
    "ip",
    "pii_digest",
    "pii_salt",
    "prev_hash",
    "request_id",
    "seq",
    "target",
];

fn find<'a>(log: &'a [Value], action: &str, pred: impl Fn(&Value) -> bool) -> &'a Value {
    log.iter()
        .find(|e| e["action"] == action && pred(e))
        .unwrap_or_else(|| {
            let actions: Vec<&Value> = log.iter().map(|e| &e["action"]).collect();
            panic!("no matching `{action}` entry; actions: {actions:?}")
        })
}

fn request_id(r: &edge_tests::Reply) -> String {
    r.header("x-request-id").expect("X-Request-Id").to_owned()
}

async fn security_events_are_recorded_and_chained(s: &Suite) {
    let api = &s.api;
    let owner = signup(api).await;
    let by = owner.on(api);
    let org = owner.org_id.clone();
    let member = join(s, &by, &org, "member").await;
    let leaver = join(s, &by, &org, "viewer").await;

    // Logins: one good, one with the member's wrong password.
    let (access, _) = login_ok(api, &owner).await;
    let failed = login(api, &member.email, "not the password").await;
    failed.expect_problem(401, "unauthenticated");
    // Logout of that session.
    let out = Caller::bearer(api, &access)
        .post("/v1/auth/logout", &json!({}))
        .await;
    out.expect_status(204);
    // Refresh-token reuse.
    let (_, rt) = login_ok(api, &owner).await;
    let refreshed = Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": rt}))
        .await;
    refreshed.expect_status(200);
    let reuse = Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": rt}))
        .await;
    reuse.expect_problem(401, "unauthenticated");
    // Role change and removal.
    let role = by
        .patch(
            &format!("/v1/orgs/{org}/members/{}", member.id),
            &json!({"role": "admin"}),
        )
        .await;
    role.expect_status(200);
    let removal = by
        .delete(&format!("/v1/orgs/{org}/members/{}", leaver.id))
        .await;
    removal.expect_status(204);
    // Keys.
    let (k, _) = create_key(&by, &org, &["documents:read"]).await;
    let key_id = k["id"].as_str().unwrap().to_owned();
    let revoke = by
        .delete(&format!("/v1/orgs/{org}/api-keys/{key_id}"))
        .await;
    revoke.expect_status(204);
    // An invitation accepted later in this test (the one `join` made is in the log already).
    let invitee = signup(api).await;
    let inv = invite(&by, &org, &invitee.email, "viewer").await;
    accept(api, &invitee, &invitation_token(s, &inv).await)
        .await
        .expect_status(200);
    // Password reset of the member.
    Caller::anon(api)
        .post("/v1/auth/password-reset", &json!({"email": member.email}))
        .await
        .expect_status(202);
    let token = wait_emails(s, &member.email, "password_reset", 1).await[0]["payload"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let reset = Caller::anon(api)
        .post(
            "/v1/auth/password-reset/confirm",
            &json!({"token": token, "new_password": "a brand new password"}),
        )
        .await;
    reset.expect_status(204);

    // The password-reset entry is written with the confirmation; wait for nothing else.
    let log = list_all(&by, &format!("/v1/orgs/{org}/audit-log"), 100).await;
    for action in [
        "org.created",
        "user.signed_up",
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "auth.refresh_token_reused",
        "member.role_changed",
        "member.removed",
        "invitation.created",
        "invitation.accepted",
        "api_key.created",
        "api_key.revoked",
        "auth.password_reset",
    ] {
        find(&log, action, |_| true);
    }

    // Shape, order and chain.
    let n = log.len();
    for (i, e) in log.iter().enumerate() {
        assert_eq!(keys(e), ENTRY_KEYS, "{e}");
        assert_eq!(
            e["seq"].as_u64(),
            Some((n - i) as u64),
            "newest first, contiguous: {e}"
        );
        assert!(e["hash"].as_str().is_some_and(|h| h.len() >= 32), "{e}");
        assert!(e["prev_hash"].is_string(), "{e}");
        assert!(e["request_id"].as_str().is_some_and(|r| !r.is_empty()));
        assert!(e["details"].is_object(), "{e}");
        assert!(
            chrono::DateTime::parse_from_rfc3339(e["created_at"].as_str().unwrap_or("")).is_ok(),
            "{e}"
        );
        if let Some(older) = log.get(i + 1) {
            assert_eq!(
                e["prev_hash"], older["hash"],
                "chain broken at {}",
                e["seq"]
            );
        }
    }
    // The chain recomputed here, from the listed entries and the documented canonical form
    // (not by the worker's own code): oldest first from the all-zero genesis hash.
    let mut prev = "0".repeat(64);
    for e in log.iter().rev() {
        assert_eq!(e["prev_hash"], prev.as_str(), "link at seq {}", e["seq"]);
        let hash = independent_hash(&prev, &org, e);
        assert_eq!(e["hash"], hash.as_str(), "hash of seq {}: {e}", e["seq"]);
        prev = hash;
    }
    let first = &log[n - 1];
    assert_eq!(first["action"], "org.created");
    assert_eq!(first["actor"], json!({"type": "user", "id": owner.id}));
    assert_eq!(first["target"], json!({"type": "org", "id": org}));
    assert_eq!(log[n - 2]["action"], "user.signed_up");

    // Who, on what, in which request.
    let e = find(&log, "auth.login_failed", |e| {
        e["target"]["id"] == member.id.as_str()
    });
    assert_eq!(e["actor"]["type"], "anonymous");
    assert_eq!(e["target"], json!({"type": "user", "id": member.id}));
    assert_eq!(e["request_id"], request_id(&failed));
    let e = find(&log, "auth.logout", |e| e["request_id"] == request_id(&out));
    assert_eq!(e["actor"], json!({"type": "user", "id": owner.id}));
    find(&log, "auth.refresh_token_reused", |e| {
        e["request_id"] == request_id(&reuse)
    });
    let e = find(&log, "member.role_changed", |_| true);
    assert_eq!(e["actor"], json!({"type": "user", "id": owner.id}));
    assert_eq!(e["target"], json!({"type": "user", "id": member.id}));
    assert_eq!(e["request_id"], request_id(&role));
    assert_eq!(e["details"]["from"], "member", "{e}");
    assert_eq!(e["details"]["to"], "admin", "{e}");
    let e = find(&log, "member.removed", |_| true);
    assert_eq!(e["target"], json!({"type": "user", "id": leaver.id}));
    assert_eq!(e["request_id"], request_id(&removal));
    let e = find(&log, "api_key.created", |_| true);
    assert_eq!(e["target"], json!({"type": "api_key", "id": key_id}));
    assert_eq!(e["actor"], json!({"type": "user", "id": owner.id}));
    let e = find(&log, "api_key.revoked", |_| true);
    assert_eq!(e["target"], json!({"type": "api_key", "id": key_id}));
    assert_eq!(e["request_id"], request_id(&revoke));
    let e = find(&log, "invitation.accepted", |e| {
        e["target"]["id"] == inv["id"]
    });
    assert_eq!(e["actor"], json!({"type": "user", "id": invitee.id}));
    find(&log, "invitation.created", |e| {
        e["target"]["id"] == inv["id"]
    });
    let e = find(&log, "auth.password_reset", |_| true);
    assert_eq!(e["target"], json!({"type": "user", "id": member.id}));
    assert_eq!(e["request_id"], request_id(&reset));

    // Paging gives the same entries.
    assert_eq!(
        list_all(&by, &format!("/v1/orgs/{org}/audit-log"), 4).await,
        log
    );
    // The chain verifies.
    let r = by.get(&format!("/v1/orgs/{org}/audit-log/verify")).await;
    r.expect_status(200);
    let v = r.json();
    assert_eq!(
        v,
        json!({"valid": true, "entries": n, "first_invalid_seq": null, "head": log[0]["hash"],
               "pages": 1})
    );
    // Another org's log holds none of this org's events.
    let other = signup(api).await;
    let theirs = list_all(
        &other.on(api),
        &format!("/v1/orgs/{}/audit-log", other.org_id),
        100,
    )
    .await;
    assert!(
        !serde_json::to_string(&theirs).unwrap().contains(&org),
        "{theirs:?}"
    );
}

/// A direct edit of the worker's D1, as an operator with database access could make.
pub(super) async fn d1_execute(persist: &std::path::Path, sql: &str) {
    edge_tests::d1::execute(persist, sql).await;
}

async fn a_direct_edit_breaks_the_chain_at_that_entry(s: &Suite) {
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let org = owner.org_id.clone();
    login_ok(&api, &owner).await;
    create_key(&by, &org, &["documents:read"]).await;
    let verify_path = format!("/v1/orgs/{org}/audit-log/verify");
    let before = by.get(&verify_path).await.json();
    assert_eq!(before["valid"], true, "{before}");
    let entries = before["entries"].as_u64().unwrap();
    assert!(entries >= 4, "{before}");

    d1_execute(
        worker.persist_dir(),
        &format!("UPDATE audit_log SET actor_id='usr_x' WHERE org_id='{org}' AND seq=2"),
    )
    .await;
    let r = by.get(&verify_path).await;
    r.expect_status(200);
    let after = r.json();
    assert_eq!(after["valid"], false, "{after}");
    assert_eq!(after["first_invalid_seq"], 2, "{after}");
    assert_eq!(after["entries"], entries, "{after}");
    // The log still reads, and shows the edited row as stored.
    let log = list_all(&by, &format!("/v1/orgs/{org}/audit-log"), 100).await;
    let edited = log.iter().find(|e| e["seq"] == 2).expect("seq 2");
    assert_eq!(edited["actor"]["id"], "usr_x");

    // Putting the value back makes the chain whole again; removing a middle entry is caught
    // at the gap.
    d1_execute(
        worker.persist_dir(),
        &format!(
            "UPDATE audit_log SET actor_id='{}' WHERE org_id='{org}' AND seq=2",
            owner.id
        ),
    )
    .await;
    let restored = by.get(&verify_path).await.json();
    assert_eq!(
        restored["valid"], true,
        "restoring the value restores the chain: {restored}"
    );
    d1_execute(
        worker.persist_dir(),
        &format!("DELETE FROM audit_log WHERE org_id='{org}' AND seq=3"),
    )
    .await;
    let gap = by.get(&verify_path).await.json();
    assert_eq!(gap["valid"], false, "{gap}");
    assert!(
        gap["first_invalid_seq"] == 3 || gap["first_invalid_seq"] == 4,
        "the gap is after seq 2: {gap}"
    );
    worker.stop();
}

async fn concurrent_writes_in_one_org_all_land_on_one_chain(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = owner.org_id.clone();
    let body = json!({"name": "concurrent", "scopes": ["documents:read"]});
    let replies = futures_util::future::join_all(
        (0..CONCURRENT_WRITES).map(|_| super::kit::create_key_reply(&by, &org, &body)),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    let created = replies.iter().filter(|r| r.status == 201).count();
    // The chain holds exactly the writes that happened, in one line.
    let log = list_all(&by, &format!("/v1/orgs/{org}/audit-log"), 100).await;
    let key_entries = log
        .iter()
        .filter(|e| e["action"] == "api_key.created")
        .count();
    let keys_listed = list_all(&by, &format!("/v1/orgs/{org}/api-keys"), 100)
        .await
        .len();
    assert_eq!(
        key_entries, created,
        "audit entries vs created keys: {statuses:?}"
    );
    assert_eq!(keys_listed, created, "stored keys vs 201s: {statuses:?}");
    let v = by
        .get(&format!("/v1/orgs/{org}/audit-log/verify"))
        .await
        .json();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["entries"], log.len(), "{v}");
    // Every one of these legitimate, independent writes succeeds.
    assert_eq!(
        created, CONCURRENT_WRITES,
        "concurrent key creations in one org: statuses {statuses:?}"
    );
}

/// Concurrent writes to one organization in [`concurrent_writes_in_one_org_all_land_on_one_chain`].
const CONCURRENT_WRITES: usize = 10;
