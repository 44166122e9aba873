//! Refused passkey answers, built by altering the real answers of headless Chromium's virtual
//! authenticator: wrong origin, type or challenge, another RP id hash, the UV flag cleared, a
//! broken signature, another key's signature, another user's handle, a replayed assertion, a
//! counter regression (audited), unparsable parts, a duplicate credential. Each is a
//! problem+json that changes nothing: no session, the counter as it was, nothing stored.

use super::kit::{signup, Account, Caller};
use super::passkey_kit::{
    b64, live_sessions, passkeys_of, refused, register, sign_count, unb64, with_auth_data,
    with_client_data, Browser,
};
use crate::support::{trial, Suite};
use edge_tests::{Api, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(refused_assertions_change_nothing),
        trial!(refused_registrations_change_nothing),
    ]
}

/// `a` with a registered passkey on `b`'s authenticator.
async fn with_passkey(api: &Api, b: &mut Browser) -> Account {
    let a = signup(api).await;
    let reg = b.create(&a.access).await;
    register(api, &a.access, &reg, "Key")
        .await
        .expect_status(201);
    a
}

async fn refused_assertions_change_nothing(s: &Suite) {
    // Its own worker: the trial rewinds a counter in the worker's SQLite file from outside
    // (`wrangler d1 execute`), which locks it; the shared worker's other trials would meet
    // SQLITE_BUSY meanwhile.
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = &worker.api();
    let mut b = Browser::open_at(&worker).await;
    let a = with_passkey(api, &mut b).await;
    let c = with_passkey(api, &mut b).await;
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
                let mut sig = unb64(&good["response"]["signature"]);
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
        worker.persist_dir(),
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
