//! Exports of a user's data (`/v1/me/exports`): assembled by the queue consumer into R2,
//! fetched signed in or by a signed URL (altered, it is a 403), holding the user's data and
//! none of their secrets; another user's is a 404. Limits and retention: `export_retention`.

use crate::identity::kit::{create_key, login, signup, wait_emails, Caller};
use crate::mfa::kit::{enrolled, login_tokens};
use crate::support::{trial, Suite};
use edge_tests::{Api, Method, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(
        an_export_holds_the_users_data_and_none_of_their_secrets
    )]
}

pub(super) async fn start(by: &Caller) -> Reply {
    by.call(Method::POST, "/v1/me/exports", None).await
}

/// Polls the export until it is `ready`; its representation.
pub(super) async fn ready(by: &Caller, id: &str) -> Value {
    let path = format!("/v1/me/exports/{id}");
    edge_tests::eventually(
        &format!("export {id} ready"),
        Duration::from_secs(60),
        || async {
            let r = by.get(&path).await;
            r.expect_status(200);
            let b = r.json();
            assert_ne!(b["status"], "failed", "{b}");
            (b["status"] == "ready").then_some(b)
        },
    )
    .await
}

/// The path and query of an absolute URL the API handed out.
pub(super) fn path_of(url: &str) -> String {
    let at = url
        .find("/v1/")
        .unwrap_or_else(|| panic!("not an API URL: {url}"));
    url[at..].to_owned()
}

/// The R2 keys under `users/{user}/`.
pub(super) async fn objects(api: &Api, user: &str) -> Vec<Value> {
    let r = Caller::anon(api)
        .get(&format!("/__test/exports/{user}"))
        .await;
    r.expect_status(200);
    r.json()["objects"].as_array().cloned().unwrap_or_default()
}

pub(super) async fn sql(persist: &Path, sql: &str) -> Vec<Value> {
    edge_tests::d1::execute(persist, sql).await
}

async fn an_export_holds_the_users_data_and_none_of_their_secrets(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let a = e.account.clone();
    let me = Caller::bearer(api, &a.access);
    let org = a.org_id.clone();
    // Data about the user: a document, an API key, a second session with its user agent.
    let content = format!("the user's words {}", edge_tests::random::hex(6));
    let r = me
        .post(
            &format!("/v1/orgs/{org}/documents"),
            &json!({"title": "mine", "content": content}),
        )
        .await;
    r.expect_status(201);
    let doc = r.json()["id"].as_str().expect("doc id").to_owned();
    let (key, key_secret) = create_key(&me, &org, &["documents:read"]).await;
    let (second_access, second_refresh) = {
        let r = login(api, &a.email, &a.password).await;
        r.expect_problem(403, "mfa_required");
        let t = r.json()["mfa_token"]
            .as_str()
            .expect("mfa token")
            .to_owned();
        login_tokens(&crate::mfa::kit::complete(api, &t, json!({"code": e.app.code().await})).await)
    };
    // A password-only token of a user with a factor is held; an API key is refused.
    start(&Caller::bearer(api, &e.password_only))
        .await
        .expect_problem(403, "step_up_required");
    start(&Caller::bearer(api, &key_secret))
        .await
        .expect_problem(403, "forbidden");

    let r = start(&me).await;
    r.expect_status(202);
    let started = r.json();
    let id = started["id"].as_str().expect("id").to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/v1/me/exports/{id}").as_str())
    );
    assert!(
        ["queued", "running", "ready"].contains(&started["status"].as_str().unwrap_or("")),
        "{started}"
    );
    let b = ready(&me, &id).await;
    assert_eq!(b["format"], "edge-api.account-export/v1", "{b}");
    let url = b["download_url"].as_str().expect("download url").to_owned();

    // The signed URL needs no credential and serves the bytes the row describes.
    let got = Caller::anon(api).get(&path_of(&url)).await;
    got.expect_status(200);
    let digest = hex::encode(Sha256::digest(&got.body));
    assert_eq!(b["sha256"], digest, "the signed digest is the file's");
    assert_eq!(b["size"], got.body.len(), "{b}");
    assert_eq!(got.header("etag"), Some(format!("\"{digest}\"").as_str()));
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("cache-control"), Some("private, no-store"));
    assert!(
        got.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment;")),
        "{:?}",
        got.headers
    );
    // Signed in, the same bytes.
    let mine = me.get(&format!("/v1/me/exports/{id}/content")).await;
    mine.expect_status(200);
    assert_eq!(mine.body, got.body);

    // What is in it.
    let f: Value = serde_json::from_slice(&got.body).expect("the file is JSON");
    assert_eq!(f["format"], "edge-api.account-export/v1");
    assert_eq!(f["export_id"], id);
    assert_eq!(f["user_id"], a.id);
    assert_eq!(f["profile"]["email"], a.email);
    assert_eq!(f["profile"]["id"], a.id);
    assert_eq!(f["mfa"]["totp"]["enabled"], true, "{}", f["mfa"]);
    assert_eq!(f["mfa"]["recovery_codes"]["total"], 10, "{}", f["mfa"]);
    let memberships = f["memberships"].as_array().expect("memberships");
    assert!(
        memberships
            .iter()
            .any(|m| m["org_id"] == org && m["role"] == "owner"),
        "{memberships:?}"
    );
    let sessions = f["sessions"].as_array().expect("sessions");
    assert!(
        sessions.len() >= 3,
        "signup, enrolment and MFA sign-in: {sessions:?}"
    );
    assert!(
        sessions
            .iter()
            .any(|s| s["amr"].as_str().is_some_and(|m| m.contains("otp"))),
        "{sessions:?}"
    );
    let keys = f["api_keys"].as_array().expect("api keys");
    assert!(keys.iter().any(|k| k["id"] == key["id"]), "{keys:?}");
    assert_eq!(keys[0]["scopes"], json!(["documents:read"]), "{keys:?}");
    let docs = f["documents"].as_array().expect("documents");
    let d = docs.iter().find(|d| d["id"] == doc).expect("the document");
    assert_eq!(d["content"], content.as_str());
    let audit = f["audit_log"].as_array().expect("audit log");
    let actions: Vec<&str> = audit.iter().filter_map(|e| e["action"].as_str()).collect();
    for action in [
        "auth.mfa_enabled",
        "api_key.created",
        "account.export_requested",
    ] {
        assert!(actions.contains(&action), "{action}: {actions:?}");
    }
    assert!(audit.iter().all(|e| e["details"].is_object()), "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|e| e["actor_id"] == a.id.as_str() || e["ip"].is_null()),
        "another actor's address is not the user's: {audit:?}"
    );
    for (section, n) in f["counts"].as_object().expect("counts") {
        assert_eq!(
            f[section].as_array().map(Vec::len),
            n.as_u64().map(|n| n as usize),
            "{section}"
        );
    }
    // None of the user's secrets, nor any digest of one.
    let text = String::from_utf8_lossy(&got.body).to_string();
    let secrets: Vec<String> = [
        a.password.clone(),
        key_secret.clone(),
        a.refresh.clone(),
        second_refresh.clone(),
        second_access.clone(),
        e.app.secret.clone(),
    ]
    .into_iter()
    .chain(e.recovery.iter().cloned())
    .collect();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret is in the export");
    }
    for field in [
        "password_hash",
        "\"hash\"",
        "prev_hash",
        "secret_sealed",
        "key_hash",
        "cookie_hash",
        "public_key",
        "$argon2",
    ] {
        assert!(!text.contains(field), "{field} is in the export");
    }
    // The user was told (no link in the email), and each organization's log has the request.
    let mail = &wait_emails(s, &a.email, "account_export_ready", 1).await[0];
    assert_eq!(mail["payload"]["export_id"], id, "{mail}");
    assert!(!mail.to_string().contains("signature"), "{mail}");

    // Another user sees nothing of it, whatever the route.
    let other = signup(api).await.on(api);
    for path in [
        format!("/v1/me/exports/{id}"),
        format!("/v1/me/exports/{id}/content"),
    ] {
        other.get(&path).await.expect_problem(404, "not_found");
    }
    other
        .delete(&format!("/v1/me/exports/{id}"))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(other.get("/v1/me/exports").await.json()["items"], json!([]));
    let listed = me.get("/v1/me/exports").await.json();
    assert_eq!(listed["items"][0]["id"], id, "{listed}");

    // A signed URL altered in any part is a 403, all alike.
    let (base, query) = url.split_once('?').expect("query");
    let expires: i64 = query
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .and_then(|e| e.parse().ok())
        .expect("expires");
    let signature = query
        .split('&')
        .find_map(|p| p.strip_prefix("signature="))
        .expect("signature");
    let flipped = format!(
        "{}{}",
        &signature[..signature.len() - 1],
        if signature.ends_with('0') { '1' } else { '0' }
    );
    for bad in [
        format!("{base}?expires={expires}&signature={flipped}"),
        format!("{base}?expires={}&signature={signature}", expires + 60),
        format!("{base}?expires={expires}&signature="),
        format!("{base}?signature={signature}"),
        format!(
            "{}?expires={expires}&signature={signature}",
            base.replace(&id, "exp_00000000000000000000000000")
        ),
    ] {
        Caller::anon(api)
            .get(&path_of(&bad))
            .await
            .expect_problem(403, "forbidden");
    }
    // Without a signature it is a request like any other: a credential is needed.
    Caller::anon(api)
        .get(&path_of(base))
        .await
        .expect_problem(401, "unauthenticated");

    // Deleting it removes the file and its URLs at once.
    me.delete(&format!("/v1/me/exports/{id}"))
        .await
        .expect_status(204);
    Caller::anon(api)
        .get(&path_of(&url))
        .await
        .expect_problem(403, "forbidden");
    me.get(&format!("/v1/me/exports/{id}"))
        .await
        .expect_problem(404, "not_found");
    assert_eq!(objects(api, &a.id).await, Vec::<Value>::new());
}
