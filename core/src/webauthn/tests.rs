use super::cbor::Value;
use super::data::tests::{auth_data, enc};
use super::data::{AT, BE, BS, UP, UV};
use super::*;

fn rp() -> RelyingParty {
    RelyingParty::parse(
        "localhost",
        "Edge",
        "http://localhost:8787, https://app.example",
    )
    .expect("rp")
}

fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
    json!({"type": kind, "challenge": base64url(challenge), "origin": origin, "crossOrigin": false})
        .to_string()
        .into_bytes()
}

fn attestation(ad: Vec<u8>) -> Vec<u8> {
    enc(&Value::Map(vec![
        (Value::Text("fmt".into()), Value::Text("none".into())),
        (Value::Text("attStmt".into()), Value::Map(vec![])),
        (Value::Text("authData".into()), Value::Bytes(ad)),
    ]))
}

const CHALLENGE: [u8; 32] = [7; 32];

fn rp_hash() -> [u8; 32] {
    sha256(b"localhost")
}

#[test]
fn relying_party_configuration() {
    let rp = rp();
    assert_eq!(rp.origins, ["http://localhost:8787", "https://app.example"]);
    assert!(
        RelyingParty::parse("127.0.0.1", "", "").is_err(),
        "an IP is no RP id"
    );
    assert!(RelyingParty::parse("", "", "").is_err());
    assert!(RelyingParty::parse("a..b", "", "").is_err());
    assert!(RelyingParty::parse("example.com", "", "http://example.com").is_err());
    assert_eq!(
        RelyingParty::parse("Example.COM", " ", "").map(|r| (r.id, r.name)),
        Ok(("example.com".into(), "Edge API".into()))
    );
}

#[test]
fn a_registration_verifies_and_yields_what_to_store() {
    let ad = auth_data(rp_hash(), UP | UV | BE | BS | AT, 0, b"credential-1");
    let r = verify_registration(
        &client_data("webauthn.create", &CHALLENGE, "http://localhost:8787"),
        &attestation(ad),
        b"credential-1",
        &rp(),
    )
    .expect("verifies");
    assert_eq!(r.challenge, CHALLENGE);
    assert_eq!(r.credential.id, b"credential-1");
    assert_eq!(r.credential.key.alg(), cose::ES256);
    assert!(r.backup_eligible && r.backed_up);
}

#[test]
fn registration_refusals() {
    let ok_ad = || auth_data(rp_hash(), UP | UV | AT, 0, b"c");
    let cd = |kind: &str, origin: &str| client_data(kind, &CHALLENGE, origin);
    let good_cd = cd("webauthn.create", "http://localhost:8787");
    let run =
        |cd: &[u8], ad: Vec<u8>, id: &[u8]| verify_registration(cd, &attestation(ad), id, &rp());
    assert_eq!(
        run(&cd("webauthn.get", "http://localhost:8787"), ok_ad(), b"c"),
        Err(Failure::Type)
    );
    assert_eq!(
        run(&cd("webauthn.create", "http://evil.example"), ok_ad(), b"c"),
        Err(Failure::Origin)
    );
    assert_eq!(
        run(
            &cd("webauthn.create", "http://localhost:8788"),
            ok_ad(),
            b"c"
        ),
        Err(Failure::Origin)
    );
    let cross = json!({"type": "webauthn.create", "challenge": base64url(&CHALLENGE),
        "origin": "http://localhost:8787", "crossOrigin": true})
    .to_string();
    assert_eq!(run(cross.as_bytes(), ok_ad(), b"c"), Err(Failure::Origin));
    let short = client_data("webauthn.create", &[1; 16], "http://localhost:8787");
    assert_eq!(run(&short, ok_ad(), b"c"), Err(Failure::Challenge));
    assert_eq!(
        run(
            &good_cd,
            auth_data(sha256(b"evil.example"), UP | UV | AT, 0, b"c"),
            b"c"
        ),
        Err(Failure::RpId)
    );
    assert_eq!(
        run(&good_cd, auth_data(rp_hash(), UV | AT, 0, b"c"), b"c"),
        Err(Failure::UserPresence)
    );
    assert_eq!(
        run(&good_cd, auth_data(rp_hash(), UP | AT, 0, b"c"), b"c"),
        Err(Failure::UserVerification)
    );
    assert!(matches!(
        run(&good_cd, auth_data(rp_hash(), UP | UV, 0, b""), b"c"),
        Err(Failure::Malformed(_))
    ));
    assert!(matches!(
        run(&good_cd, ok_ad(), b"other"),
        Err(Failure::Malformed(_))
    ));
    assert!(matches!(
        run(b"not json", ok_ad(), b"c"),
        Err(Failure::Malformed(_))
    ));
    assert!(matches!(
        verify_registration(&good_cd, b"\x00", b"c", &rp()),
        Err(Failure::Malformed(_))
    ));
}

/// An Ed25519 credential signing assertions the way an authenticator does.
struct Signer(ed25519_compact::KeyPair);

impl Signer {
    fn new() -> Self {
        Signer(ed25519_compact::KeyPair::from_seed(
            ed25519_compact::Seed::new([5; 32]),
        ))
    }
    fn key(&self) -> PublicKey {
        PublicKey::Ed25519 {
            x: self.0.pk.to_vec(),
        }
    }
    fn sign(&self, ad: &[u8], cd: &[u8]) -> Vec<u8> {
        let mut m = ad.to_vec();
        m.extend(sha256(cd));
        self.0.sk.sign(&m, None).to_vec()
    }
}

#[test]
fn an_assertion_passes_its_checks_and_signs_the_right_bytes() {
    let s = Signer::new();
    let ad = auth_data(rp_hash(), UP | UV | BE, 5, b"");
    let cd = client_data("webauthn.get", &CHALLENGE, "https://app.example");
    let sig = s.sign(&ad, &cd);
    let a =
        check_assertion(&cd, &ad, &sig, Ceremony::Authenticate, &s.key(), &rp()).expect("passes");
    assert_eq!(
        (a.challenge.as_slice(), a.sign_count, a.backed_up),
        (&CHALLENGE[..], 5, false)
    );
    // What the glue hands WebCrypto verifies natively too.
    let pk = ed25519_compact::PublicKey::from_slice(
        &s.key().jwk()["x"]
            .as_str()
            .and_then(unbase64url)
            .expect("x"),
    )
    .expect("pk");
    let sig = ed25519_compact::Signature::from_slice(&a.signature).expect("sig");
    assert!(pk.verify(&a.signed, &sig).is_ok());
    // Step-up answers the same way.
    assert!(check_assertion(
        &cd,
        &ad,
        &s.sign(&ad, &cd),
        Ceremony::StepUp,
        &s.key(),
        &rp()
    )
    .is_ok());
}

#[test]
fn assertion_refusals() {
    let s = Signer::new();
    let key = s.key();
    let good_cd = client_data("webauthn.get", &CHALLENGE, "http://localhost:8787");
    let check = |cd: &[u8], ad: &[u8]| {
        check_assertion(cd, ad, &s.sign(ad, cd), Ceremony::Authenticate, &key, &rp())
    };
    let ad = auth_data(rp_hash(), UP | UV, 1, b"");
    assert_eq!(
        check(
            &client_data("webauthn.create", &CHALLENGE, "http://localhost:8787"),
            &ad
        ),
        Err(Failure::Type)
    );
    assert_eq!(
        check(
            &client_data("webauthn.get", &CHALLENGE, "https://evil.example"),
            &ad
        ),
        Err(Failure::Origin)
    );
    assert_eq!(
        check(
            &good_cd,
            &auth_data(sha256(b"example.com"), UP | UV, 1, b"")
        ),
        Err(Failure::RpId)
    );
    assert_eq!(
        check(&good_cd, &auth_data(rp_hash(), UP, 1, b"")),
        Err(Failure::UserVerification)
    );
    assert_eq!(
        check(&good_cd, &auth_data(rp_hash(), UV, 1, b"")),
        Err(Failure::UserPresence)
    );
    assert!(matches!(
        check(&good_cd, &ad[..36]),
        Err(Failure::Malformed(_))
    ));
    assert_eq!(
        check_assertion(&good_cd, &ad, &[0; 10], Ceremony::Authenticate, &key, &rp()),
        Err(Failure::Signature),
        "an Ed25519 signature is 64 bytes"
    );
    let p256 = PublicKey::P256 {
        x: vec![1; 32],
        y: vec![2; 32],
    };
    assert_eq!(
        check_assertion(
            &good_cd,
            &ad,
            &[0x30, 0x00],
            Ceremony::Authenticate,
            &p256,
            &rp()
        ),
        Err(Failure::Signature),
        "not DER"
    );
}

#[test]
fn the_counter_must_increase_when_used() {
    assert_eq!(counter(0, 0), Ok(()), "no counter");
    assert_eq!(counter(0, 1), Ok(()));
    assert_eq!(counter(4, 5), Ok(()));
    assert_eq!(counter(5, 5), Err(Failure::SignCount));
    assert_eq!(counter(5, 0), Err(Failure::SignCount));
    assert_eq!(counter(9, 3), Err(Failure::SignCount));
}

#[test]
fn failures_are_problems_with_a_reason() {
    let p = Failure::SignCount.problem();
    assert_eq!((p.status, p.code), (403, "webauthn_failed"));
    assert_eq!(Failure::Malformed("x").problem().status, 400);
    assert_eq!(Failure::Origin.reason(), "origin");
}

#[test]
fn options_have_the_level_3_shape() {
    let ex = [Descriptor {
        id: "abc",
        transports: vec!["internal".into()],
    }];
    let o = creation_options(&rp(), &[1; 32], "a@example.com", "Ann", &CHALLENGE, &ex);
    assert_eq!(o["rp"], json!({"id": "localhost", "name": "Edge"}));
    assert_eq!(o["user"]["id"], base64url(&[1; 32]));
    assert_eq!(
        o["pubKeyCredParams"][0],
        json!({"type": "public-key", "alg": -7})
    );
    assert_eq!(o["pubKeyCredParams"][1]["alg"], -8);
    assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "required");
    assert_eq!(o["attestation"], "none");
    assert_eq!(o["excludeCredentials"][0]["id"], "abc");
    assert_eq!(o["timeout"], 300_000);
    let r = request_options(&rp(), &CHALLENGE, &[]);
    assert_eq!(r["allowCredentials"], json!([]));
    assert_eq!(
        (r["rpId"].as_str(), r["userVerification"].as_str()),
        (Some("localhost"), Some("required"))
    );
}

#[test]
fn names_and_transports() {
    assert_eq!(name("  Laptop "), Ok("Laptop".into()));
    assert!(name(" ").is_err());
    assert!(name(&"x".repeat(65)).is_err());
    assert!(name("a\nb").is_err());
    let t: Vec<String> = ["internal", "usb", "internal", "carrier-pigeon"]
        .map(String::from)
        .into();
    assert_eq!(transports(&t), ["internal", "usb"]);
}

#[test]
fn arbitrary_answers_never_panic() {
    let s = Signer::new();
    let mut seed: u32 = 11;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect()
    };
    let good = auth_data(rp_hash(), UP | UV | AT, 0, b"id");
    for i in 0..300 {
        let mut ad = good.clone();
        let n = noise(3);
        let at = usize::from(n[0]) % ad.len();
        ad[at] ^= n[1] | 1;
        ad.truncate(ad.len() - usize::from(n[2]) % 4);
        let cd = client_data("webauthn.create", &CHALLENGE, "http://localhost:8787");
        let _ = verify_registration(&cd, &attestation(ad.clone()), b"id", &rp());
        let _ = check_assertion(
            &cd,
            &ad,
            &noise(i % 80),
            Ceremony::Authenticate,
            &s.key(),
            &rp(),
        );
        let _ = data::attestation_auth_data(&noise(i % 60));
    }
}
