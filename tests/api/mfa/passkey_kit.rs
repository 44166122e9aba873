//! Passkeys made by a real browser: headless Chromium on the worker's `/demo/passkeys` page
//! (from `http://localhost:<port>`, the origin the test worker allows), with a CDP virtual
//! authenticator (CTAP2, internal transport, resident keys, user verification). The page's
//! `window.passkeys` runs `navigator.credentials.create/get`; its answers come back here
//! unsent, so a trial can post them as they are or altered.

use super::kit::Caller;
use crate::support::Suite;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use edge_tests::chromium::Chromium;
use edge_tests::{Api, Reply, Worker};
use serde_json::{json, Value};
use std::time::Duration;

pub struct Browser {
    pub chromium: Chromium,
    pub authenticator: String,
}

/// `worker`'s demo page as a browser must load it: by name, not by IP address.
pub fn page_url_of(worker: &Worker) -> String {
    format!(
        "{}/demo/passkeys",
        worker.base_url().replace("127.0.0.1", "localhost")
    )
}

impl Browser {
    /// Chromium on the shared worker's demo page with a fresh virtual authenticator.
    pub async fn open(s: &Suite) -> Browser {
        Self::open_at(&s.worker).await
    }

    /// [`Browser::open`] on `worker`'s page.
    pub async fn open_at(worker: &Worker) -> Browser {
        let mut chromium = Chromium::open(&page_url_of(worker))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            chromium
                .wait_for(
                    "document.body.dataset.ready === 'true'",
                    Duration::from_secs(30)
                )
                .await,
            "the demo page loads"
        );
        chromium
            .send("WebAuthn.enable", json!({"enableUI": false}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let added = chromium
            .send(
                "WebAuthn.addVirtualAuthenticator",
                json!({"options": {
                    "protocol": "ctap2", "ctap2Version": "ctap2_1", "transport": "internal",
                    "hasResidentKey": true, "hasUserVerification": true, "isUserVerified": true,
                    "automaticPresenceSimulation": true,
                }}),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let authenticator = added["authenticatorId"]
            .as_str()
            .expect("authenticatorId")
            .to_owned();
        Browser {
            chromium,
            authenticator,
        }
    }

    /// Evaluates `js` (awaited) and returns its JSON value; panics on a page exception.
    pub async fn run(&mut self, js: &str) -> Value {
        self.chromium
            .eval(js)
            .await
            .unwrap_or_else(|e| panic!("{js}: {e}"))
    }

    /// The browser's `RegistrationResponseJSON` for `access`'s user (not sent).
    pub async fn create(&mut self, access: &str) -> Value {
        self.run(&format!(
            "passkeys.use({}); passkeys.create()",
            json!(access)
        ))
        .await
    }

    /// The browser's `AuthenticationResponseJSON` for a sign-in (not sent); `email` names
    /// whose passkeys to allow.
    pub async fn get(&mut self, email: Option<&str>) -> Value {
        self.run(&format!("passkeys.get({})", json!(email))).await
    }

    /// The browser's answer to step-up options of `access`'s session (not sent).
    pub async fn step_up_answer(&mut self, access: &str) -> Value {
        self.run(&format!(
            "passkeys.use({}); passkeys.stepUpAnswer()",
            json!(access)
        ))
        .await
    }

    /// The credentials the virtual authenticator holds, as CDP reports them.
    pub async fn credentials(&mut self) -> Vec<Value> {
        let auth = self.authenticator.clone();
        self.chromium
            .send("WebAuthn.getCredentials", json!({"authenticatorId": auth}))
            .await
            .unwrap_or_else(|e| panic!("{e}"))["credentials"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

pub fn unb64(v: &Value) -> Vec<u8> {
    B64.decode(v.as_str().unwrap_or_default().trim_end_matches('='))
        .expect("base64url")
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// `answer` with its `clientDataJSON` member changed by `edit`.
pub fn with_client_data(answer: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut out = answer.clone();
    let mut cd: Value =
        serde_json::from_slice(&unb64(&answer["response"]["clientDataJSON"])).expect("JSON");
    edit(&mut cd);
    out["response"]["clientDataJSON"] = json!(b64(cd.to_string().as_bytes()));
    out
}

/// `answer` with its `authenticatorData` changed by `edit`.
pub fn with_auth_data(answer: &Value, edit: impl FnOnce(&mut Vec<u8>)) -> Value {
    let mut out = answer.clone();
    let mut ad = unb64(&answer["response"]["authenticatorData"]);
    edit(&mut ad);
    out["response"]["authenticatorData"] = json!(b64(&ad));
    out
}

/// The signature counter an assertion carries (authenticator data bytes 33..37).
pub fn sign_count(answer: &Value) -> u32 {
    let ad = unb64(&answer["response"]["authenticatorData"]);
    u32::from_be_bytes([ad[33], ad[34], ad[35], ad[36]])
}

pub async fn register(api: &Api, access: &str, answer: &Value, name: &str) -> Reply {
    let mut body = answer.clone();
    body["name"] = json!(name);
    Caller::bearer(api, access)
        .post("/v1/me/passkeys", &body)
        .await
}

pub async fn passkeys_of(api: &Api, access: &str) -> Vec<Value> {
    let r = Caller::bearer(api, access).get("/v1/me/passkeys").await;
    r.expect_status(200);
    r.json()["items"].as_array().cloned().unwrap_or_default()
}

pub async fn live_sessions(api: &Api, access: &str) -> usize {
    let r = Caller::bearer(api, access).get("/v1/me/sessions").await;
    r.expect_status(200);
    r.json()["items"].as_array().map_or(0, Vec::len)
}

/// A `webauthn_failed` problem with `reason`.
pub fn refused(r: &Reply, status: u16, reason: &str) {
    r.expect_problem(status, "webauthn_failed");
    assert_eq!(r.json()["reason"], reason, "{}", r.text());
}
