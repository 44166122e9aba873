//! TOTP with recovery codes, driven by `pyotp` codes: enrollment takes the password and a
//! first code, sign-in stops at `mfa_required` until `POST /v1/auth/mfa`, every code and
//! recovery code works once, the window is one step each side, attempts are limited per
//! account, and disabling or regenerating takes a factor.

use super::kit::{
    challenge, claims, code_at, complete, enrolled, login, login_tokens, now, parse_uri, signup,
    start, step_up, Authenticator,
};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(enrollment_takes_the_password_and_a_first_code),
        trial!(sign_in_stops_at_the_second_factor_and_codes_work_once),
        trial!(recovery_codes_work_once_and_regenerating_replaces_them),
        trial!(the_window_is_one_step_each_side),
        trial!(attempts_are_limited_per_account),
        trial!(disabling_takes_the_password_and_a_factor),
        trial!(a_user_who_also_has_a_passkey_is_offered_it),
    ]
}

async fn enrollment_takes_the_password_and_a_first_code(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let me = a.on(api);
    me.post("/v1/me/mfa/totp", &json!({"password": "not it"}))
        .await
        .expect_problem(403, "forbidden");
    let e = start(api, &a).await;
    let secret = e["secret"].as_str().expect("secret");
    assert_eq!(secret.len(), 32, "160 bits in base32: {e}");
    // pyotp reads the URI an app would scan: the same secret, 6 digits, 30 s, SHA-1.
    let uri = parse_uri(e["otpauth_uri"].as_str().expect("uri"));
    assert_eq!(uri["secret"], secret, "{uri}");
    assert_eq!(uri["name"], a.email.as_str(), "{uri}");
    assert_eq!(
        uri["issuer"], "api.edge.example",
        "the issuer's host: {uri}"
    );
    assert_eq!(
        (uri["digits"].as_i64(), uri["interval"].as_i64()),
        (Some(6), Some(30))
    );
    assert_eq!(uri["digest"], "sha1", "{uri}");
    let status = me.get("/v1/me/mfa").await.json();
    assert_eq!(status["totp"]["status"], "pending", "{status}");
    assert_eq!(status["enabled"], false);
    // Pending changes nothing at sign-in.
    login_tokens(&login(api, &a.email, &a.password).await);
    // A wrong code does not confirm.
    let wrong = if code_at(secret, now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    me.post("/v1/me/mfa/totp/confirm", &json!({"code": wrong}))
        .await
        .expect_problem(403, "mfa_code_invalid");
    let mut app = Authenticator::new(secret);
    let r = me
        .post(
            "/v1/me/mfa/totp/confirm",
            &json!({"code": app.code().await}),
        )
        .await;
    r.expect_status(200);
    let b = r.json();
    let codes = b["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10, "{b}");
    let c = claims(b["access_token"].as_str().expect("token"));
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]), "{c}");
    assert_eq!(c["sid"], claims(&a.access)["sid"], "the same session: {c}");
    let status = me.get("/v1/me/mfa").await.json();
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["recovery_codes_remaining"], 10, "{status}");
    // A second enrollment while one is enabled is refused and changes nothing.
    me.post("/v1/me/mfa/totp", &json!({"password": a.password}))
        .await
        .expect_problem(409, "conflict");
    challenge(api, &a).await;
}

async fn sign_in_stops_at_the_second_factor_and_codes_work_once(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let a = e.account.clone();
    let token = challenge(api, &a).await;
    // A wrong code does not spend the challenge.
    complete(api, &token, json!({"code": "000000"}))
        .await
        .expect_problem(403, "mfa_code_invalid");
    let code = e.app.code().await;
    let r = complete(api, &token, json!({"code": code})).await;
    let (access, refresh) = login_tokens(&r);
    assert_eq!(r.json()["user"]["id"], a.id.as_str());
    let c = claims(&access);
    assert_eq!(c["amr"], json!(["pwd", "otp", "mfa"]), "{c}");
    assert!(
        (c["auth_time"].as_i64().unwrap_or(0) - now()).abs() < 60,
        "{c}"
    );
    // The challenge is spent.
    complete(api, &token, json!({"code": e.app.code().await}))
        .await
        .expect_problem(401, "unauthenticated");
    // The same code again, on a new challenge: a replay.
    let again = challenge(api, &a).await;
    complete(api, &again, json!({"code": code}))
        .await
        .expect_problem(403, "mfa_code_invalid");
    // The session's refreshed tokens keep the factor.
    let r = crate::identity::kit::Caller::anon(api)
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await;
    let (refreshed, _) = login_tokens(&r);
    assert_eq!(claims(&refreshed)["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims(&refreshed)["auth_time"], c["auth_time"]);
    // A malformed challenge is 401, a missing factor 400.
    complete(api, "mc_nope", json!({"code": "123456"}))
        .await
        .expect_problem(401, "unauthenticated");
    complete(api, &again, json!({}))
        .await
        .expect_problem(400, "validation_failed");
}

async fn recovery_codes_work_once_and_regenerating_replaces_them(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let a = e.account.clone();
    let first = e.recovery[0].clone();
    // Typed in capitals, without the hyphen: the same code.
    let typed = first.replace('-', "").to_uppercase();
    let t = challenge(api, &a).await;
    login_tokens(&complete(api, &t, json!({"recovery_code": typed})).await);
    let t = challenge(api, &a).await;
    complete(api, &t, json!({"recovery_code": first}))
        .await
        .expect_problem(403, "mfa_code_invalid");
    let status = a.on(api).get("/v1/me/mfa").await.json();
    assert_eq!(status["recovery_codes_remaining"], 9, "{status}");
    // New codes, for a code from the app; the old ones stop working.
    let r = a
        .on(api)
        .post(
            "/v1/me/mfa/recovery-codes",
            &json!({"code": e.app.code().await}),
        )
        .await;
    r.expect_status(200);
    let fresh = r.json()["recovery_codes"]
        .as_array()
        .expect("codes")
        .clone();
    assert_eq!(fresh.len(), 10);
    complete(api, &t, json!({"recovery_code": e.recovery[1]}))
        .await
        .expect_problem(403, "mfa_code_invalid");
    login_tokens(&complete(api, &t, json!({"recovery_code": fresh[0]})).await);
    // Regenerating needs a factor.
    a.on(api)
        .post("/v1/me/mfa/recovery-codes", &json!({"code": "000000"}))
        .await
        .expect_problem(403, "mfa_code_invalid");
}

async fn the_window_is_one_step_each_side(s: &Suite) {
    let api = &s.api;
    let a = signup(api).await;
    let e = start(api, &a).await;
    let secret = e["secret"].as_str().expect("secret").to_owned();
    // Away from a step boundary, so both clocks agree on the step.
    while !(3..=26).contains(&now().rem_euclid(30)) {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
    let t = now();
    let confirm = |offset: i64| {
        let code = code_at(&secret, t + offset);
        let me = a.on(api);
        async move {
            me.post("/v1/me/mfa/totp/confirm", &json!({"code": code}))
                .await
        }
    };
    // Two steps away either side: refused.
    confirm(-60).await.expect_problem(403, "mfa_code_invalid");
    confirm(60).await.expect_problem(403, "mfa_code_invalid");
    // One step back: accepted, and now the latest step used.
    let r = confirm(-30).await;
    r.expect_status(200);
    let access = r.json()["access_token"].as_str().expect("token").to_owned();
    // One step ahead: accepted; after it, the current step is in the past.
    let at = |offset: i64| json!({"code": code_at(&secret, t + offset)});
    step_up(api, &access, at(30)).await.expect_status(200);
    step_up(api, &access, at(0))
        .await
        .expect_problem(403, "mfa_code_invalid");
    step_up(api, &access, at(30))
        .await
        .expect_problem(403, "mfa_code_invalid");
}

async fn attempts_are_limited_per_account(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let other = enrolled(api).await;
    let access = e.account.access.clone();
    // The enrollment and its confirmation counted two; eight wrong codes fill the ten.
    for _ in 0..8 {
        step_up(api, &access, json!({"code": "000000"}))
            .await
            .expect_problem(403, "mfa_code_invalid");
    }
    // Now even the right code is refused, at login too, and nothing is spent.
    let right = e.app.code().await;
    let r = step_up(api, &access, json!({"code": right})).await;
    r.expect_problem(429, "rate_limited");
    assert!(r.header("retry-after").is_some(), "Retry-After");
    let t = challenge(api, &e.account).await;
    complete(api, &t, json!({"recovery_code": e.recovery[0]}))
        .await
        .expect_problem(429, "rate_limited");
    // Another account is not held.
    step_up(
        api,
        &other.account.access,
        json!({"recovery_code": other.recovery[0]}),
    )
    .await
    .expect_status(200);
}

async fn disabling_takes_the_password_and_a_factor(s: &Suite) {
    let api = &s.api;
    let mut e = enrolled(api).await;
    let a = e.account.clone();
    let me = a.on(api);
    me.post("/v1/me/mfa/totp/disable", &json!({"password": a.password}))
        .await
        .expect_problem(400, "validation_failed");
    me.post(
        "/v1/me/mfa/totp/disable",
        &json!({"password": "wrong", "code": e.app.code().await}),
    )
    .await
    .expect_problem(403, "forbidden");
    challenge(api, &a).await;
    me.post(
        "/v1/me/mfa/totp/disable",
        &json!({"password": a.password, "recovery_code": e.recovery[3]}),
    )
    .await
    .expect_status(204);
    let status = me.get("/v1/me/mfa").await.json();
    assert_eq!(status["totp"]["status"], "none", "{status}");
    assert_eq!(status["recovery_codes_remaining"], 0, "{status}");
    // Password-only again.
    login_tokens(&login(api, &a.email, &a.password).await);
    me.post(
        "/v1/me/mfa/totp/disable",
        &json!({"password": a.password, "recovery_code": e.recovery[4]}),
    )
    .await
    .expect_problem(409, "mfa_not_enrolled");
}

/// With a passkey besides the app, `mfa_required` lists `passkey` too (a passkey sign-in
/// completes the login on its own); the challenge still takes a code. The passkey row is
/// written straight into D1: only its existence matters here (passkeys.rs makes real ones).
async fn a_user_who_also_has_a_passkey_is_offered_it(s: &Suite) {
    // Its own worker: writing a worker's SQLite file from outside (`wrangler d1 execute`)
    // locks it, and the shared worker's other trials would meet SQLITE_BUSY meanwhile.
    let worker = s.private_worker(edge_tests::WorkerOptions::new()).await;
    let api = &worker.api();
    let mut e = enrolled(api).await;
    let user = e.account.id.clone();
    edge_tests::d1::execute(
        worker.persist_dir(),
        &format!(
            "INSERT INTO passkeys (id, user_id, credential_id, public_key, alg, aaguid, name, \
             created_at) VALUES ('pky_{}', '{user}', 'cred-{user}', '{{}}', -7, \
             '00000000000000000000000000000000', 'Laptop', '2026-01-01T00:00:00Z')",
            &user[4..]
        ),
    )
    .await;
    let r = login(api, &e.account.email, &e.account.password).await;
    r.expect_problem(403, "mfa_required");
    let b = r.json();
    assert_eq!(
        b["methods"],
        json!(["totp", "recovery_code", "passkey"]),
        "{b}"
    );
    let token = b["mfa_token"].as_str().expect("mfa_token");
    login_tokens(&complete(api, token, json!({"code": e.app.code().await})).await);
}
