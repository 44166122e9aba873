//! Passkeys against the real worker, made and used by headless Chromium's virtual
//! authenticator on the worker's demo page: registration, sign-in (a full login that counts
//! as a second factor), step-up with a passkey, discoverable sign-in, list, rename, delete,
//! another user's passkey id (404). The refusals are in `passkey_refusals.rs`.

use super::kit::{claims, login_tokens, signup, Caller};
use super::passkey_kit::{passkeys_of, refused, register, sign_count, Browser};
use crate::identity::kit::create_key_reply;
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::{json, Value};

pub fn trials() -> Vec<Trial> {
    vec![trial!(a_passkey_made_in_chromium_signs_in_and_steps_up)]
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
