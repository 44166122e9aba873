//! Passkeys against the real worker, made and used by headless Chromium's virtual
//! authenticator on the worker's demo page: registration, sign-in (a full login that counts
//! as a second factor), step-up with a passkey, discoverable sign-in, list, rename, delete;
//! and every refusal (wrong origin, type, challenge, RP id hash, UV flag, signature, another
//! key, another user's handle, a replayed assertion, a counter regression, a duplicate
//! credential, another user's passkey id) as a problem that changes nothing.

use super::kit::{claims, login_tokens, signup, Account, Caller};
use super::passkey_kit::{b64, sign_count, with_auth_data, with_client_data, Browser};
use crate::identity::kit::create_key_reply;
use crate::support::{trial, Suite};
use edge_tests::{Api, Reply};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_passkey_made_in_chromium_signs_in_and_steps_up),
        trial!(refused_assertions_change_nothing),
        trial!(refused_registrations_change_nothing),
    ]
}

async fn register(api: &Api, access: &str, answer: &Value, name: &str) -> Reply {
    let mut body = answer.clone();
    body["name"] = json!(name);
    Caller::bearer(api, access)
        .post("/v1/me/passkeys", &body)
        .await
}

async fn passkeys_of(api: &Api, access: &str) -> Vec<Value> {
    let r = Caller::bearer(api, access).get("/v1/me/passkeys").await;
    r.expect_status(200);
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

async fn live_sessions(api: &Api, access: &str) -> usize {
    let r = Caller::bearer(api, access).get("/v1/me/sessions").await;
    r.expect_status(200);
    r.json()["items"].as_array().map_or(0, Vec::len)
}

/// A `webauthn_failed` problem with `reason`.
fn refused(r: &Reply, status: u16, reason: &str) {
    r.expect_problem(status, "webauthn_failed");
    assert_eq!(r.json()["reason"], reason, "{}", r.text());
}

async fn a_passkey_made_in_chromium_signs_in_and_steps_up(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let mut b = Browser::open(s).await;

    // The options, as the browser gets them.
    let o = a.on(api).post("/v1/me/passkeys/options", &json!({})).await;
    o.expect_status(200);
    let o = o.json();
    assert_eq!(o["rp"]["id"], "localhost", "{o}");
    assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(o["attestation"], "none");
    let algs: Vec<i64> = o["pubKeyCredParams"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["alg"].as_i64())
        .collect();
    assert!(algs.contains(&-7) && algs.contains(&-8), "{algs:?}");
    assert!(o["challenge"].as_str().is_some_and(|c| c.len() >= 43));
    let handle = o["user"]["id"].as_str().expect("user handle");
    assert!(!handle.contains(&a.id) && o["user"]["name"] == json!(a.email));

    // Registration in the browser, verified by the worker.
    let reg = b.create(&a.access).await;
    let r = register(api, &a.access, &reg, "Laptop").await;
    r.expect_status(201);
    let pk = r.json();
    assert!(
        pk["id"].as_str().is_some_and(|i| i.starts_with("pky_")),
        "{pk}"
    );
    assert_eq!(pk["name"], "Laptop");
    assert_eq!(pk["credential_id"], reg["rawId"]);
    assert_eq!(pk["transports"], json!(["internal"]), "{pk}");
    assert!(pk.get("public_key").is_none(), "no key material: {pk}");
    let creds = b.credentials().await;
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(creds[0]["isResidentCredential"], true);
    // CDP reports the handle in standard base64.
    let stored_handle = creds[0]["userHandle"]
        .as_str()
        .unwrap_or_default()
        .replace('+', "-")
        .replace('/', "_")
        .replace('=', "");
    assert_eq!(stored_handle, handle, "the opaque handle is stored");
    let id = pk["id"].as_str().expect("id").to_owned();
    assert_eq!(passkeys_of(api, &a.access).await.len(), 1);
    let mfa = a.on(api).get("/v1/me/mfa").await.json();
    assert_eq!(
        (mfa["passkeys"].clone(), mfa["enabled"].clone()),
        (json!(1), json!(true))
    );

    // Sign-in with it: a full login whose tokens work and say "passkey".
    let answer = b.get(Some(&a.email)).await;
    let r = Caller::anon(api)
        .post("/v1/auth/passkey/verify", &answer)
        .await;
    let (access, refresh) = login_tokens(&r);
    assert!(refresh.starts_with("rt_"));
    assert_eq!(r.json()["user"]["id"], json!(a.id));
    assert_eq!(claims(&access)["amr"], json!(["hwk", "mfa"]));
    let me = Caller::bearer(api, &access).get("/v1/me").await;
    me.expect_status(200);
    assert_eq!(me.json()["id"], json!(a.id));
    let sessions = Caller::bearer(api, &access)
        .get("/v1/me/sessions")
        .await
        .json();
    let current: Vec<&Value> = sessions["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|x| x["current"] == true)
        .collect();
    assert_eq!(current[0]["method"], "passkey", "{sessions}");
    let stored = passkeys_of(api, &access).await;
    assert_eq!(stored[0]["sign_count"], json!(sign_count(&answer)));
    assert!(stored[0]["last_used_at"].is_string());

    // The passkey session passes a step-up-marked operation; the password-only session of
    // the same user (who now has a factor) does not, until it steps up with the passkey.
    let key = json!({"name": "ci", "scopes": ["documents:read"]});
    create_key_reply(&Caller::bearer(api, &access), &a.org_id, &key)
        .await
        .expect_status(201);
    create_key_reply(&a.on(api), &a.org_id, &key)
        .await
        .expect_problem(403, "step_up_required");
    let pk_path = format!("/v1/me/passkeys/{id}");
    a.on(api)
        .delete(&pk_path)
        .await
        .expect_problem(403, "step_up_required");
    let su = b.step_up_answer(&a.access).await;
    let r = a.on(api).post("/v1/auth/step-up/passkey", &su).await;
    r.expect_status(200);
    let stepped = r.json()["access_token"].as_str().expect("token").to_owned();
    assert_eq!(
        claims(&stepped)["sid"],
        claims(&a.access)["sid"],
        "no new session"
    );
    assert_eq!(claims(&stepped)["amr"], json!(["hwk", "mfa"]));
    create_key_reply(&Caller::bearer(api, &stepped), &a.org_id, &key)
        .await
        .expect_status(201);

    // A discoverable sign-in (no email: the browser picks the passkey, userHandle sent).
    let answer = b.get(None).await;
    assert!(answer["response"]["userHandle"].is_string(), "{answer}");
    let r = Caller::anon(api)
        .post("/v1/auth/passkey/verify", &answer)
        .await;
    r.expect_status(200);

    // Rename; another user's id is a 404 and changes nothing.
    let r = a
        .on(api)
        .patch(&pk_path, &json!({"name": "Work laptop"}))
        .await;
    r.expect_status(200);
    assert_eq!(r.json()["name"], "Work laptop");
    let other = signup(api).await;
    other
        .on(api)
        .patch(&pk_path, &json!({"name": "mine"}))
        .await
        .expect_problem(404, "not_found");
    other
        .on(api)
        .delete(&pk_path)
        .await
        .expect_problem(404, "not_found");
    assert!(passkeys_of(api, &other.access).await.is_empty());
    assert_eq!(passkeys_of(api, &access).await[0]["name"], "Work laptop");
    a.on(api)
        .patch(&pk_path, &json!({"name": " "}))
        .await
        .expect_problem(400, "validation_failed");

    // Delete, with the stepped-up token.
    Caller::bearer(api, &stepped)
        .delete(&pk_path)
        .await
        .expect_status(204);
    assert!(passkeys_of(api, &access).await.is_empty());
    Caller::bearer(api, &stepped)
        .delete(&pk_path)
        .await
        .expect_problem(404, "not_found");
    // Its assertions no longer sign anyone in.
    let answer = b.get(None).await;
    let r = Caller::anon(api)
        .post("/v1/auth/passkey/verify", &answer)
        .await;
    refused(&r, 403, "unknown_credential");
}

/// `a` with a registered passkey on `b`'s authenticator.
async fn with_passkey(s: &Suite, b: &mut Browser) -> Account {
    let a = signup(&s.api).await;
    let reg = b.create(&a.access).await;
    register(&s.api, &a.access, &reg, "Key")
        .await
        .expect_status(201);
    a
}

async fn refused_assertions_change_nothing(s: &Suite) {
    let api = &s.api;
    let mut b = Browser::open(s).await;
    let a = with_passkey(s, &mut b).await;
    let c = with_passkey(s, &mut b).await;
    let sessions = live_sessions(api, &a.access).await;
    let counter = || async { passkeys_of(api, &a.access).await[0]["sign_count"].clone() };
    let before = counter().await;
    let verify = |body: Value| async move {
        Caller::anon(api)
            .post("/v1/auth/passkey/verify", &body)
            .await
    };

    let good = b.get(Some(&a.email)).await;
    let cases: Vec<(&str, Value, u16)> = vec![
        (
            "origin",
            with_client_data(&good, |cd| cd["origin"] = json!("http://evil.example")),
            403,
        ),
        (
            "challenge",
            with_client_data(&good, |cd| cd["challenge"] = json!(b64(&[9; 32]))),
            403,
        ),
        (
            "type",
            with_client_data(&good, |cd| cd["type"] = json!("webauthn.create")),
            403,
        ),
        ("rp_id", with_auth_data(&good, |ad| ad[0] ^= 1), 403),
        (
            "user_verification",
            with_auth_data(&good, |ad| ad[32] &= !0x04),
            403,
        ),
        (
            "signature",
            {
                let mut bad = good.clone();
                let mut sig = super::passkey_kit::unb64(&good["response"]["signature"]);
                let last = sig.len() - 2;
                sig[last] ^= 1;
                bad["response"]["signature"] = json!(b64(&sig));
                bad
            },
            403,
        ),
        (
            "malformed",
            {
                let mut bad = good.clone();
                bad["response"]["authenticatorData"] = json!("AAAA");
                bad
            },
            400,
        ),
    ];
    for (reason, body, status) in cases {
        refused(&verify(body).await, status, reason);
    }
    // Another user's passkey signing, presented as `a`'s: without a handle the signature is
    // checked against `a`'s key; with `c`'s handle the handle does not match.
    let by_c = b.get(Some(&c.email)).await;
    let mut other_key = by_c.clone();
    other_key["id"] = good["id"].clone();
    other_key["rawId"] = good["rawId"].clone();
    other_key["response"]["userHandle"] = Value::Null;
    refused(&verify(other_key).await, 403, "signature");
    let mut other_handle = good.clone();
    other_handle["response"]["userHandle"] = by_c["response"]["userHandle"].clone();
    refused(&verify(other_handle).await, 403, "user_handle");
    assert_eq!(counter().await, before, "refusals leave the counter");
    assert_eq!(
        live_sessions(api, &a.access).await,
        sessions,
        "and mint no session"
    );

    // The untouched answer still works, once: its replay is refused.
    verify(good.clone()).await.expect_status(200);
    refused(&verify(good).await, 403, "challenge");
    let after = counter().await;
    assert_ne!(after, before, "the counter moved");

    // A counter that went backwards (a cloned authenticator) is refused and audited.
    let id = passkeys_of(api, &a.access).await[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let rows = edge_tests::d1::execute(
        s.worker.persist_dir(),
        &format!("UPDATE passkeys SET sign_count = 100000 WHERE id = '{id}' RETURNING id"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    let next = b.get(Some(&a.email)).await;
    assert!(sign_count(&next) < 100_000);
    let sessions = live_sessions(api, &a.access).await;
    refused(&verify(next).await, 403, "sign_count");
    assert_eq!(counter().await, json!(100_000), "the counter is unchanged");
    assert_eq!(live_sessions(api, &a.access).await, sessions);
    let log = a
        .on(api)
        .get(&format!("/v1/orgs/{}/audit-log?limit=100", a.org_id))
        .await
        .json();
    let failed: Vec<&Value> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| e["action"] == "auth.passkey_failed")
        .collect();
    assert!(
        failed
            .iter()
            .any(|e| e["details"]["reason"] == "sign_count"),
        "{log}"
    );
}

async fn refused_registrations_change_nothing(s: &Suite) {
    let api = &s.api;
    let mut b = Browser::open(s).await;
    let d = signup(api).await;
    let reg = b.create(&d.access).await;
    let token = d.access.clone();
    let post = |body: Value| {
        let token = token.clone();
        async move { register(api, &token, &body, "K").await }
    };
    refused(
        &post(with_client_data(&reg, |cd| {
            cd["origin"] = json!("http://localhost:1")
        }))
        .await,
        403,
        "origin",
    );
    refused(
        &post(with_client_data(&reg, |cd| {
            cd["type"] = json!("webauthn.get")
        }))
        .await,
        403,
        "type",
    );
    refused(
        &post(with_client_data(&reg, |cd| {
            cd["challenge"] = json!(b64(&[1; 32]))
        }))
        .await,
        403,
        "challenge",
    );
    let mut garbage = reg.clone();
    garbage["response"]["attestationObject"] = json!(b64(b"not cbor"));
    refused(&post(garbage).await, 400, "malformed");
    assert!(
        passkeys_of(api, &d.access).await.is_empty(),
        "nothing stored"
    );
    post(reg.clone()).await.expect_status(201);
    // `d` has a factor now: posting it again needs a recent one, and then the challenge is
    // spent.
    post(reg.clone())
        .await
        .expect_problem(403, "step_up_required");
    let su = b.step_up_answer(&d.access).await;
    let r = d.on(api).post("/v1/auth/step-up/passkey", &su).await;
    r.expect_status(200);
    let stepped = r.json()["access_token"].as_str().expect("token").to_owned();
    refused(&register(api, &stepped, &reg, "K").await, 403, "challenge");
    assert_eq!(passkeys_of(api, &d.access).await.len(), 1);

    // The same credential for another account, under that account's own live challenge (a
    // `none` attestation signs nothing, so the client data can be rewritten): 409.
    let e = signup(api).await;
    let o = e.on(api).post("/v1/me/passkeys/options", &json!({})).await;
    o.expect_status(200);
    let challenge = o.json()["challenge"].clone();
    let dup = with_client_data(&reg, |cd| cd["challenge"] = challenge);
    register(api, &e.access, &dup, "dup")
        .await
        .expect_problem(409, "conflict");
    assert!(passkeys_of(api, &e.access).await.is_empty());

    // A second passkey needs a recent factor now that `d` has one.
    d.on(api)
        .post("/v1/me/passkeys/options", &json!({}))
        .await
        .expect_problem(403, "step_up_required");
}
