//! COSE public keys (RFC 9052/9053) of the algorithms we accept, and the JWK (RFC 7517) form
//! WebCrypto imports them in.

use super::cbor::Value;
use crate::encoding::base64url;
use serde_json::{json, Value as Json};

/// COSE algorithm identifiers.
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;
pub const RS256: i64 = -257;

/// The algorithms offered in `pubKeyCredParams`, in preference order.
pub const ALGORITHMS: [i64; 3] = [ES256, EDDSA, RS256];

/// A credential public key we can verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// EC2, P-256, ES256: the affine coordinates.
    P256 { x: Vec<u8>, y: Vec<u8> },
    /// OKP, Ed25519, EdDSA.
    Ed25519 { x: Vec<u8> },
    /// RSA, RS256 (PKCS #1 v1.5 with SHA-256): modulus and exponent.
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

impl PublicKey {
    /// Parses a COSE key; `None` for an unsupported or inconsistent one.
    pub fn parse(key: &Value) -> Option<PublicKey> {
        let kty = key.get_int(1)?.as_int()?;
        let alg = key.get_int(3)?.as_int()?;
        let bytes = |label: i64| key.get_int(label).and_then(Value::as_bytes);
        match (kty, alg) {
            (2, ES256) => {
                let (x, y) = (bytes(-2)?, bytes(-3)?);
                (key.get_int(-1)?.as_int()? == 1 && x.len() == 32 && y.len() == 32).then(|| {
                    PublicKey::P256 {
                        x: x.to_vec(),
                        y: y.to_vec(),
                    }
                })
            }
            (1, EDDSA) => {
                let x = bytes(-2)?;
                (key.get_int(-1)?.as_int()? == 6 && x.len() == 32)
                    .then(|| PublicKey::Ed25519 { x: x.to_vec() })
            }
            (3, RS256) => {
                let (n, e) = (bytes(-1)?, bytes(-2)?);
                // 2048 to 4096-bit moduli; a small odd exponent.
                let bits_ok = (256..=512).contains(&n.len()) && n[0] != 0;
                (bits_ok && (1..=4).contains(&e.len()) && e[e.len() - 1] & 1 == 1).then(|| {
                    PublicKey::Rsa {
                        n: n.to_vec(),
                        e: e.to_vec(),
                    }
                })
            }
            _ => None,
        }
    }

    /// Parses the stored COSE bytes.
    pub fn from_cose(bytes: &[u8]) -> Option<PublicKey> {
        PublicKey::parse(&super::cbor::decode(bytes)?)
    }

    pub fn alg(&self) -> i64 {
        match self {
            PublicKey::P256 { .. } => ES256,
            PublicKey::Ed25519 { .. } => EDDSA,
            PublicKey::Rsa { .. } => RS256,
        }
    }

    /// The key as a JWK for `crypto.subtle.importKey("jwk", …)`.
    pub fn jwk(&self) -> Json {
        match self {
            PublicKey::P256 { x, y } => json!({
                "kty": "EC", "crv": "P-256", "x": base64url(x), "y": base64url(y), "ext": true,
            }),
            PublicKey::Ed25519 { x } => {
                json!({"kty": "OKP", "crv": "Ed25519", "x": base64url(x), "ext": true})
            }
            PublicKey::Rsa { n, e } => json!({
                "kty": "RSA", "n": base64url(n), "e": base64url(e), "alg": "RS256", "ext": true,
            }),
        }
    }

    /// The WebCrypto algorithm of `importKey` and `verify`.
    pub fn webcrypto_algorithm(&self) -> Json {
        match self {
            PublicKey::P256 { .. } => {
                json!({"name": "ECDSA", "namedCurve": "P-256", "hash": "SHA-256"})
            }
            PublicKey::Ed25519 { .. } => json!({"name": "Ed25519"}),
            PublicKey::Rsa { .. } => json!({"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}),
        }
    }

    /// The signature as WebCrypto verifies it: ECDSA's DER turned into raw `r ‖ s`.
    pub fn webcrypto_signature(&self, signature: &[u8]) -> Option<Vec<u8>> {
        match self {
            PublicKey::P256 { .. } => super::der::ecdsa_p256_raw(signature).map(|s| s.to_vec()),
            PublicKey::Ed25519 { .. } => (signature.len() == 64).then(|| signature.to_vec()),
            PublicKey::Rsa { n, .. } => (signature.len() == n.len()).then(|| signature.to_vec()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn ec2(x: &[u8], y: &[u8]) -> Value {
        Value::Map(vec![
            (Value::Int(1), Value::Int(2)),
            (Value::Int(3), Value::Int(ES256)),
            (Value::Int(-1), Value::Int(1)),
            (Value::Int(-2), Value::Bytes(x.to_vec())),
            (Value::Int(-3), Value::Bytes(y.to_vec())),
        ])
    }

    fn okp(crv: i64, x: &[u8]) -> Value {
        Value::Map(vec![
            (Value::Int(1), Value::Int(1)),
            (Value::Int(3), Value::Int(EDDSA)),
            (Value::Int(-1), Value::Int(crv)),
            (Value::Int(-2), Value::Bytes(x.to_vec())),
        ])
    }

    #[test]
    fn parses_the_accepted_keys() {
        let k = PublicKey::parse(&ec2(&[1; 32], &[2; 32])).expect("EC2");
        assert_eq!(k.alg(), ES256);
        assert_eq!(k.jwk()["crv"], "P-256");
        assert_eq!(k.jwk()["x"], base64url(&[1; 32]));
        let k = PublicKey::parse(&okp(6, &[3; 32])).expect("OKP");
        assert_eq!(k.alg(), EDDSA);
        assert_eq!(k.webcrypto_algorithm()["name"], "Ed25519");
        let mut n = vec![0xc1; 256];
        n[255] = 1;
        let rsa = Value::Map(vec![
            (Value::Int(1), Value::Int(3)),
            (Value::Int(3), Value::Int(RS256)),
            (Value::Int(-1), Value::Bytes(n)),
            (Value::Int(-2), Value::Bytes(vec![1, 0, 1])),
        ]);
        let k = PublicKey::parse(&rsa).expect("RSA");
        assert_eq!(k.jwk()["e"], "AQAB");
        assert_eq!(k.webcrypto_signature(&[0; 256]).map(|s| s.len()), Some(256));
        assert_eq!(k.webcrypto_signature(&[0; 255]), None);
    }

    #[test]
    fn refuses_other_or_inconsistent_keys() {
        assert_eq!(PublicKey::parse(&ec2(&[1; 31], &[2; 32])), None);
        assert_eq!(PublicKey::parse(&okp(4, &[3; 32])), None, "X25519 curve");
        assert_eq!(PublicKey::parse(&Value::Int(1)), None);
        let mut wrong_alg = ec2(&[1; 32], &[2; 32]);
        if let Value::Map(m) = &mut wrong_alg {
            m[1].1 = Value::Int(EDDSA);
        }
        assert_eq!(PublicKey::parse(&wrong_alg), None, "EC2 key with EdDSA");
        assert_eq!(PublicKey::from_cose(&[0xff]), None);
    }

    #[test]
    fn signatures_take_the_webcrypto_form() {
        let k = PublicKey::parse(&okp(6, &[3; 32])).expect("OKP");
        assert_eq!(k.webcrypto_signature(&[0; 63]), None);
        let p = PublicKey::parse(&ec2(&[1; 32], &[2; 32])).expect("EC2");
        let der = [0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x07];
        let raw = p.webcrypto_signature(&der).expect("raw");
        assert_eq!((raw.len(), raw[31], raw[63]), (64, 5, 7));
    }
}
