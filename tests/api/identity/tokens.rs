//! Forged access tokens: each is a real token changed in one way (or re-signed with the
//! worker's own key with one claim wrong), and each is a 401 on `GET /v1/me`. A faithful
//! re-signature of the real claims is accepted, so the forging itself is sound.
//! Key rotation runs on private workers whose `JWT_SIGNING_KEYS` the test chooses.

use super::jwt::{self, b64};
use super::kit::{assert_alive, assert_dead, login_ok, signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, WorkerOptions};
use hmac::{Hmac, Mac};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use sha2::Sha256;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(forged_access_tokens_are_401),
        trial!(a_token_within_the_leeway_is_accepted),
        trial!(key_rotation_keeps_old_tokens_until_the_key_goes),
    ]
}

/// The worker's signing key id and seed (the first key of `JWT_SIGNING_KEYS`).
fn signing_key(s: &Suite) -> (String, [u8; 32]) {
    let spec = s.worker.env_value("JWT_SIGNING_KEYS");
    let kid = spec.split(':').next().unwrap().trim().to_owned();
    let seed = jwt::seed_of(spec, &kid);
    (kid, seed)
}

fn with(v: &Value, key: &str, value: Value) -> Value {
    let mut v = v.clone();
    v[key] = value;
    v
}

async fn forged_access_tokens_are_401(s: &Suite) {
    let a = signup(&s.api).await;
    let victim = signup(&s.api).await;
    let (kid, seed) = signing_key(s);
    let (header, claims) = jwt::decode(&a.access);
    assert_eq!(header["kid"], kid.as_str());
    let now = jwt::unix_now();
    let sign = |h: &Value, c: &Value| jwt::sign(h, c, &seed);

    // The control: the same claims, re-signed by the test with the worker's seed.
    let fresh = with(&with(&claims, "iat", json!(now)), "nbf", json!(now));
    let fresh = with(&fresh, "exp", json!(now + 600));
    let control = sign(&header, &fresh);
    let me = assert_alive(&s.api, &control, "a faithful re-signature").await;
    assert_eq!(me["id"], a.id);

    let other_seed: [u8; 32] = random::bytes(32).try_into().unwrap();
    let parts: Vec<&str> = a.access.split('.').collect();
    let none_header = json!({"alg": "none", "kid": kid, "typ": "JWT"});
    let hs_header = json!({"alg": "HS256", "kid": kid, "typ": "JWT"});
    let hs256 = {
        // Algorithm confusion: HMAC keyed with the public key (as a JWKS publishes it).
        let input = jwt::signing_input(&hs_header, &fresh);
        let mut mac = Hmac::<Sha256>::new_from_slice(&jwt::public_key(&seed)).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", b64(&mac.finalize().into_bytes()))
    };
    let tampered = {
        let claims = with(&claims, "sub", json!(victim.id));
        format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        )
    };
    let cases: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!("{}.{}.", b64(none_header.to_string().as_bytes()), parts[1]),
        ),
        (
            "alg none, original signature kept",
            format!(
                "{}.{}.{}",
                b64(none_header.to_string().as_bytes()),
                parts[1],
                parts[2]
            ),
        ),
        ("alg HS256 keyed with the public key", hs256),
        (
            "same kid, another key",
            jwt::sign(&header, &fresh, &other_seed),
        ),
        (
            "unknown kid",
            sign(&with(&header, "kid", json!("nope")), &fresh),
        ),
        ("no kid", {
            let mut h = header.clone();
            h.as_object_mut().unwrap().remove("kid");
            sign(&h, &fresh)
        }),
        (
            "expired beyond the leeway",
            sign(
                &header,
                &with(
                    &with(
                        &with(&fresh, "iat", json!(now - 1000)),
                        "nbf",
                        json!(now - 1000),
                    ),
                    "exp",
                    json!(now - 120),
                ),
            ),
        ),
        (
            "not yet valid beyond the leeway",
            sign(&header, &with(&fresh, "nbf", json!(now + 300))),
        ),
        (
            "wrong aud",
            sign(&header, &with(&fresh, "aud", json!("someone-else"))),
        ),
        (
            "wrong iss",
            sign(&header, &with(&fresh, "iss", json!("https://evil.example"))),
        ),
        (
            "typ refresh",
            sign(&header, &with(&fresh, "typ", json!("refresh"))),
        ),
        ("typ missing", {
            let mut c = fresh.clone();
            c.as_object_mut().unwrap().remove("typ");
            sign(&header, &c)
        }),
        ("refresh token as a Bearer", a.refresh.clone()),
        ("sub changed, signature kept", tampered),
        (
            "signature of another token",
            format!("{}.{}.{}", parts[0], parts[1], {
                let other: Vec<&str> = victim.access.split('.').collect();
                other[2].to_owned()
            }),
        ),
        ("signature cut short", {
            let sig = parts[2];
            format!("{}.{}.{}", parts[0], parts[1], &sig[..sig.len() - 4])
        }),
        ("two segments", format!("{}.{}", parts[0], parts[1])),
    ];
    let mut wrong = Vec::new();
    for (what, token) in &cases {
        let r = Caller::bearer(&s.api, token).get("/v1/me").await;
        if r.status != 401 {
            wrong.push(format!("{what}: {} {}", r.status, r.text()));
            continue;
        }
        r.expect_problem(401, "unauthenticated");
        // Not on organization routes either.
        let r = Caller::bearer(&s.api, token)
            .get(&format!("/v1/orgs/{}", a.org_id))
            .await;
        if r.status != 401 {
            wrong.push(format!("{what} on GET org: {} {}", r.status, r.text()));
        }
    }
    assert!(
        wrong.is_empty(),
        "forged tokens accepted:\n{}",
        wrong.join("\n")
    );
    // A session id that does not exist, validly signed: 401 too.
    let ghost = sign(
        &header,
        &with(&fresh, "sid", json!("ses_0000000000000000000000")),
    );
    assert_dead(&s.api, &ghost, "unknown session id").await;
    // The victim's account is untouched and the real token still works.
    assert_alive(&s.api, &a.access, "the real token").await;
}

async fn a_token_within_the_leeway_is_accepted(s: &Suite) {
    let a = signup(&s.api).await;
    let (_, seed) = signing_key(s);
    let (header, claims) = jwt::decode(&a.access);
    let now = jwt::unix_now();
    let just_expired = with(
        &with(
            &with(&claims, "iat", json!(now - 900)),
            "nbf",
            json!(now - 900),
        ),
        "exp",
        json!(now - 5),
    );
    let just_maturing = with(&claims, "nbf", json!(now + 5));
    for (what, c) in [("exp 5 s ago", just_expired), ("nbf in 5 s", just_maturing)] {
        assert_alive(&s.api, &jwt::sign(&header, &c, &seed), what).await;
    }
}

/// `kid:seed` with a fresh random seed.
fn key_spec(kid: &str) -> String {
    format!("{kid}:{}", random::base64url(32))
}

async fn key_rotation_keeps_old_tokens_until_the_key_goes(s: &Suite) {
    let state = tempfile::tempdir().expect("temp dir");
    let (k1, k2) = (key_spec("k1"), key_spec("k2"));
    let start = |keys: String| {
        s.private_worker(
            WorkerOptions::new()
                .persist_to(state.path())
                .var("JWT_SIGNING_KEYS", keys),
        )
    };

    let w1 = start(k1.clone()).await;
    let a = signup(&w1.api()).await;
    let (h1, _) = jwt::decode(&a.access);
    assert_eq!(h1["kid"], "k1");
    assert_alive(&w1.api(), &a.access, "k1 token on the k1 worker").await;
    w1.stop();
    drop(w1);

    // k2 signs, k1 still verifies.
    let w2 = start(format!("{k2},{k1}")).await;
    let api = w2.api();
    assert_alive(&api, &a.access, "k1 token after rotating to k2").await;
    let jwks = Caller::anon(&api)
        .get("/.well-known/jwks.json")
        .await
        .json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["k2", "k1"], "{jwks}");
    let (access2, refresh2) = login_ok(&api, &a).await;
    let (h2, _) = jwt::decode(&access2);
    assert_eq!(h2["kid"], "k2", "new tokens are signed with the first key");
    let x2 = jwt::unb64(jwks["keys"][0]["x"].as_str().unwrap());
    assert!(jwt::verifies(&access2, &x2));
    assert_alive(&api, &access2, "k2 token").await;
    // A refresh signs with k2 as well.
    let r = Caller::anon(&api)
        .post("/v1/auth/refresh", &json!({"refresh_token": a.refresh}))
        .await;
    r.expect_status(200);
    let refreshed = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(jwt::decode(&refreshed).0["kid"], "k2");
    w2.stop();
    drop(w2);

    // k1 is gone: its tokens are refused, k2's still work.
    let w3 = start(k2.clone()).await;
    let api = w3.api();
    assert_dead(&api, &a.access, "k1 token after k1 was removed").await;
    assert_alive(&api, &access2, "k2 token after k1 was removed").await;
    let jwks = Caller::anon(&api)
        .get("/.well-known/jwks.json")
        .await
        .json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    assert_eq!(jwks["keys"][0]["kid"], "k2");
    // The session itself survives: its refresh token still gives a (k2) pair.
    let r = Caller::anon(&api)
        .post("/v1/auth/refresh", &json!({"refresh_token": refresh2}))
        .await;
    r.expect_status(200);
    w3.stop();
}
