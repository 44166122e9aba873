//! Deleting an account, restoring it in the grace period, and the hard delete after it.

use crate::identity::kit::{
    accept, invitation_token, invite, login, signup, wait_emails, Account, Caller,
};
use crate::support::{trial, Suite};
use edge_tests::{Api, Method, Reply, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(deleting_needs_the_password_and_is_refused_to_the_last_owner),
        trial!(a_deleted_account_is_locked_out_until_restored),
        trial!(the_sweep_hard_deletes_and_anonymises_after_the_grace_period),
    ]
}

/// The token pair of a 200 sign-in.
fn login_tokens(r: &Reply) -> (String, String) {
    r.expect_status(200);
    let b = r.json();
    let text = |k: &str| b[k].as_str().unwrap_or_default().to_owned();
    (text("access_token"), text("refresh_token"))
}

async fn delete_me(api: &Api, access: &str, password: &str) -> Reply {
    Caller::bearer(api, access)
        .call(
            Method::DELETE,
            "/v1/me",
            Some(&json!({"password": password})),
        )
        .await
}

/// A fresh account of `api`'s worker that joined `org` with `role`.
async fn join_on(s: &Suite, api: &Api, by: &Caller, org: &str, role: &str) -> Account {
    let account = signup(api).await;
    let inv = invite(by, org, &account.email, role).await;
    let token = invitation_token(s, &inv).await;
    accept(api, &account, &token).await.expect_status(200);
    account
}

async fn deleting_needs_the_password_and_is_refused_to_the_last_owner(s: &Suite) {
    let api = &s.api;
    let owner = signup(api).await;
    let member = join_on(s, api, &owner.on(api), &owner.org_id, "member").await;
    delete_me(api, &owner.access, "not the password")
        .await
        .expect_problem(403, "forbidden");
    let r = delete_me(api, &owner.access, &owner.password).await;
    r.expect_problem(409, "last_owner");
    assert_eq!(r.json()["orgs"], json!([owner.org_id]), "{}", r.text());
    // Nothing changed.
    owner.on(api).get("/v1/me").await.expect_status(200);
    login_tokens(&login(api, &owner.email, &owner.password).await);
    // A member (not an owner) may delete their account; the organization keeps its owner.
    delete_me(api, &member.access, &member.password)
        .await
        .expect_status(202);
    // Another organization's audit log stays out of reach.
    owner
        .on(api)
        .get(&format!("/v1/orgs/{}/audit-log/verify", member.org_id))
        .await
        .expect_problem(404, "not_found");
}

async fn a_deleted_account_is_locked_out_until_restored(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let (other, other_refresh) = login_tokens(&login(api, &a.email, &a.password).await);
    let r = delete_me(api, &a.access, &a.password).await;
    r.expect_status(202);
    let b = r.json();
    assert_eq!(b["status"], "pending_deletion", "{b}");
    assert_eq!(b["orgs_deleted_at_purge"], json!([a.org_id]), "{b}");
    let purge = chrono::DateTime::parse_from_rfc3339(b["purge_at"].as_str().unwrap()).unwrap();
    let days = (purge - chrono::Utc::now().fixed_offset()).num_days();
    assert!((29..=30).contains(&days), "default grace of 30 days: {b}");
    // Every session ends at once: access tokens and refresh tokens.
    for t in [&a.access, &other] {
        Caller::bearer(api, t)
            .get("/v1/me")
            .await
            .expect_problem(401, "unauthenticated");
    }
    for rt in [&a.refresh, &other_refresh] {
        Caller::anon(api)
            .post("/v1/auth/refresh", &json!({"refresh_token": rt}))
            .await
            .expect_problem(401, "unauthenticated");
    }
    let mail = &wait_emails(s, &a.email, "account_deletion_scheduled", 1).await[0];
    assert_eq!(mail["payload"]["purge_at"], b["purge_at"], "{mail}");
    // A wrong password is still a plain 401; the right one gets the restore problem.
    login(api, &a.email, "not the password")
        .await
        .expect_problem(401, "unauthenticated");
    let r = login(api, &a.email, &a.password).await;
    r.expect_problem(403, "account_pending_deletion");
    let p = r.json();
    assert_eq!(p["purge_at"], b["purge_at"], "{p}");
    assert_eq!(p["expires_in"], 900, "{p}");
    assert!(p.get("access_token").is_none(), "{p}");
    let token = p["restore_token"]
        .as_str()
        .expect("restore token")
        .to_owned();
    assert!(token.starts_with("ar_"), "{p}");
    let restore = |t: String| async move {
        Caller::anon(api)
            .post("/v1/me/restore", &json!({"token": t}))
            .await
    };
    restore(format!("ar_{}", "A".repeat(43)))
        .await
        .expect_problem(400, "validation_failed");
    let r = restore(token.clone()).await;
    let (access, _) = login_tokens(&r);
    assert_eq!(r.json()["user"]["id"], a.id, "{}", r.text());
    let me = Caller::bearer(api, &access).get("/v1/me").await;
    me.expect_status(200);
    assert_eq!(me.json()["orgs"][0]["id"], a.org_id);
    // Single use; the old sessions stay ended; sign-in works again.
    restore(token)
        .await
        .expect_problem(400, "validation_failed");
    Caller::bearer(api, &other)
        .get("/v1/me")
        .await
        .expect_problem(401, "unauthenticated");
    login_tokens(&login(api, &a.email, &a.password).await);
    let log = a_log(&Caller::bearer(api, &access), &a.org_id).await;
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(
        actions.contains(&"account.deletion_requested"),
        "{actions:?}"
    );
    assert!(actions.contains(&"account.restored"), "{actions:?}");
}

async fn a_log(by: &Caller, org: &str) -> Vec<Value> {
    crate::identity::kit::list_all(by, &format!("/v1/orgs/{org}/audit-log"), 100).await
}

async fn the_sweep_hard_deletes_and_anonymises_after_the_grace_period(s: &Suite) {
    let worker = s
        .private_worker(WorkerOptions::new().var("ACCOUNT_DELETION_GRACE_SECONDS", "1"))
        .await;
    let api = worker.api();
    let owner = signup(&api).await;
    let by = owner.on(&api);
    let org = owner.org_id.clone();
    let gone = join_on(s, &api, &by, &org, "admin").await;
    // The leaving user made a document and left traces in the log (a failed login too).
    let docs = format!("/v1/orgs/{org}/documents");
    let r = gone
        .on(&api)
        .post(
            &docs,
            &json!({"title": "kept", "content": "organization data"}),
        )
        .await;
    r.expect_status(201);
    let doc = r.json();
    login(&api, &gone.email, "wrong").await;
    // Addresses the account had: it moved to a new one, then asked for a third and never
    // confirmed. None of them may outlive the purge.
    let (moved, asked) = (edge_tests::random::email(), edge_tests::random::email());
    let first = gone.email.clone();
    super::email::request(&api, &gone.access, &moved, &gone.password)
        .await
        .expect_status(202);
    let t = super::email::token(s, &moved, 1).await;
    super::email::confirm(&api, &t).await.expect_status(200);
    let (access, _) = login_tokens(&login(&api, &moved, &gone.password).await);
    let gone = Account {
        email: moved.clone(),
        access,
        ..gone
    };
    super::email::request(&api, &gone.access, &asked, &gone.password)
        .await
        .expect_status(202);
    delete_me(&api, &gone.access, &gone.password)
        .await
        .expect_status(202);
    let before = a_log(&by, &org).await;
    let text = serde_json::to_string(&before).unwrap();
    assert!(
        text.contains(&gone.id),
        "the log names the user before the sweep"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // Past the purge time, before the sweep: as for an unknown account.
    login(&api, &gone.email, &gone.password)
        .await
        .expect_problem(401, "unauthenticated");
    let r = Caller::anon(&api).post("/__test/sweep", &json!({})).await;
    r.expect_status(200);
    assert!(
        r.json()["accounts_purged"].as_u64() >= Some(1),
        "{}",
        r.text()
    );
    login(&api, &gone.email, &gone.password)
        .await
        .expect_problem(401, "unauthenticated");
    // The chain verifies, and nothing in it names the user any more.
    let v = by.get(&format!("/v1/orgs/{org}/audit-log/verify")).await;
    v.expect_status(200);
    assert_eq!(v.json()["valid"], true, "{}", v.text());
    let after = a_log(&by, &org).await;
    let text = serde_json::to_string(&after).unwrap().to_lowercase();
    assert!(!text.contains(&gone.id.to_lowercase()), "{text}");
    for address in [&first, &moved, &asked] {
        assert!(!text.contains(&address.to_lowercase()), "{address}: {text}");
    }
    assert!(text.contains("deleted-user-"), "{text}");
    assert!(text.contains("account.purged"), "{text}");
    // The document stays, as organization data under the pseudonym; the member is gone.
    let r = by
        .get(&format!("{docs}/{}", doc["id"].as_str().unwrap()))
        .await;
    r.expect_status(200);
    let d = r.json();
    let owner_id = d["owner_id"].as_str().unwrap_or_default();
    assert!(owner_id.starts_with("deleted-user-"), "{d}");
    let members = by.get(&format!("/v1/orgs/{org}/members")).await;
    assert!(!members.text().contains(&gone.id), "{}", members.text());
    // The user's own organization went with the account.
    by.get(&format!("/v1/orgs/{}/audit-log/verify", gone.org_id))
        .await
        .expect_problem(404, "not_found");
    // The email is free again.
    crate::identity::kit::signup_as(&api, &gone.email).await;
}
