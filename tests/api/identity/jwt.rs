//! Reading and forging compact JWTs, independently of the worker's own code: base64url JSON
//! segments, Ed25519 signatures made with `ed25519-compact` from a 32-byte seed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_compact::{KeyPair, PublicKey, Seed, Signature};
use serde_json::Value;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s)
        .unwrap_or_else(|e| panic!("not base64url ({e}): {s}"))
}

/// `(header, claims)` of a compact JWT, unverified.
pub fn decode(token: &str) -> (Value, Value) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "not a compact JWS: {token}");
    let json = |s: &str| -> Value {
        serde_json::from_slice(&unb64(s)).unwrap_or_else(|e| panic!("JWT segment ({e}): {s}"))
    };
    (json(parts[0]), json(parts[1]))
}

/// The seed of key `kid` in a `kid:seed[,kid:seed]` spec.
pub fn seed_of(spec: &str, kid: &str) -> [u8; 32] {
    let seed = spec
        .split(',')
        .filter_map(|e| e.split_once(':'))
        .find(|(k, _)| k.trim() == kid)
        .map(|(_, s)| unb64(s.trim()))
        .unwrap_or_else(|| panic!("no key {kid} in the spec"));
    seed.try_into().expect("a 32-byte seed")
}

/// The Ed25519 public key of `seed`.
pub fn public_key(seed: &[u8; 32]) -> [u8; 32] {
    let kp = KeyPair::from_seed(Seed::new(*seed));
    *kp.pk
}

/// `header.claims.signature`, EdDSA-signed with `seed`.
pub fn sign(header: &Value, claims: &Value, seed: &[u8; 32]) -> String {
    let input = signing_input(header, claims);
    let kp = KeyPair::from_seed(Seed::new(*seed));
    let sig = kp.sk.sign(input.as_bytes(), None);
    format!("{input}.{}", b64(sig.as_ref()))
}

/// `header.claims` (no signature yet).
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// Whether `token`'s signature verifies under the Ed25519 public key `x`.
pub fn verifies(token: &str, x: &[u8]) -> bool {
    let Some((input, sig)) = token.rsplit_once('.') else {
        return false;
    };
    let (Ok(pk), Ok(sig)) = (PublicKey::from_slice(x), Signature::from_slice(&unb64(sig))) else {
        return false;
    };
    pk.verify(input.as_bytes(), &sig).is_ok()
}

pub fn unix_now() -> i64 {
    edge_tests::signature::unix_now()
}
