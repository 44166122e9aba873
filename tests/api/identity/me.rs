//! The signed-in user's `/v1/me`, what an absent or garbage credential gets, and the JWKS an
//! origin verifies access tokens with.

use super::jwt;
use super::kit::{keys, signup, signup_as, Caller};
use crate::support::{trial, Suite};
use edge_tests::random;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(me_shows_the_user_and_patch_renames),
        trial!(no_credential_or_garbage_is_401),
        trial!(jwks_publishes_the_signing_key),
    ]
}

async fn me_shows_the_user_and_patch_renames(s: &Suite) {
    let a = signup(&s.api).await;
    let me = a.on(&s.api);
    let r = me.get("/v1/me").await;
    r.expect_status(200);
    let before = r.json();
    assert_eq!(
        keys(&before),
        [
            "created_at",
            "email",
            "email_verified",
            "id",
            "name",
            "orgs"
        ]
    );
    assert_eq!(before["email"], a.email);
    assert_eq!(
        r.header("cache-control"),
        Some("no-store"),
        "authenticated answers are not cached"
    );
    let second = super::kit::create_org(&me).await;
    let after_org = me.get("/v1/me").await.json();
    let orgs = after_org["orgs"].as_array().unwrap();
    assert_eq!(orgs.len(), 2, "{after_org}");
    for o in orgs {
        assert_eq!(keys(o), ["id", "name", "role"]);
        assert_eq!(o["role"], "owner");
    }
    assert!(orgs.iter().any(|o| o["id"] == second));

    let name = format!("Renamed {}", random::hex(4));
    let r = me
        .patch("/v1/me", &json!({"name": format!("  {name} ")}))
        .await;
    r.expect_status(200);
    let patched = r.json();
    assert_eq!(keys(&patched), keys(&before), "{patched}");
    assert_eq!(patched["name"], name.as_str(), "trimmed: {patched}");
    assert_eq!(patched["id"], before["id"]);
    assert_eq!(patched["email"], before["email"]);
    assert_eq!(me.get("/v1/me").await.json()["name"], name.as_str());
    // An empty patch changes nothing.
    let r = me.patch("/v1/me", &json!({})).await;
    r.expect_status(200);
    assert_eq!(r.json()["name"], name.as_str());
}

async fn no_credential_or_garbage_is_401(s: &Suite) {
    let a = signup(&s.api).await;
    let anon = Caller::anon(&s.api);
    let org = format!("/v1/orgs/{}", a.org_id);
    for path in ["/v1/me", "/v1/orgs", org.as_str()] {
        anon.get(path).await.expect_problem(401, "unauthenticated");
    }
    anon.post("/v1/auth/logout", &json!({}))
        .await
        .expect_problem(401, "unauthenticated");
    for credential in [
        "garbage",
        "a.b.c",
        "sk_nope",
        &format!("sk_{}", random::base64url(32)),
        &format!("rt_{}", random::base64url(32)),
    ] {
        let r = Caller::bearer(&s.api, credential).get("/v1/me").await;
        r.expect_problem(401, "unauthenticated");
    }
    // Not a Bearer scheme.
    let r = Caller::anon(&s.api)
        .request(edge_tests::Method::GET, "/v1/me")
        .header("authorization", format!("Basic {}", a.access));
    super::kit::send(r)
        .await
        .expect_problem(401, "unauthenticated");
}

async fn jwks_publishes_the_signing_key(s: &Suite) {
    let r = Caller::anon(&s.api).get("/.well-known/jwks.json").await;
    r.expect_status(200);
    let b = r.json();
    assert_eq!(keys(&b), ["keys"]);
    let list = b["keys"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{b}");
    let k = &list[0];
    assert_eq!(keys(k), ["alg", "crv", "kid", "kty", "use", "x"], "{k}");
    assert_eq!(k["kty"], "OKP");
    assert_eq!(k["crv"], "Ed25519");
    assert_eq!(k["alg"], "EdDSA");
    assert_eq!(k["use"], "sig");
    let spec = s.worker.env_value("JWT_SIGNING_KEYS");
    let kid = spec.split(':').next().unwrap();
    assert_eq!(k["kid"], kid);
    let x = jwt::unb64(k["x"].as_str().unwrap());
    assert_eq!(x, jwt::public_key(&jwt::seed_of(spec, kid)), "x");
    // An origin verifies the worker's access tokens with it.
    let a = signup_as(&s.api, &random::email()).await;
    let (header, _) = jwt::decode(&a.access);
    assert_eq!(header["kid"], kid);
    assert!(jwt::verifies(&a.access, &x), "JWKS key does not verify");
}
