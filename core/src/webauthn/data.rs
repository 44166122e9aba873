//! The signed structures of a ceremony: `clientDataJSON` (what the browser saw), the
//! authenticator data (RP id hash, flags, counter, the new credential) and the attestation
//! object that carries it at registration.

use super::cbor::{self, Value};
use super::cose::PublicKey;
use super::Failure;
use serde::Deserialize;

/// Authenticator data flags (WebAuthn §6.1).
pub const UP: u8 = 0x01;
pub const UV: u8 = 0x04;
pub const BE: u8 = 0x08;
pub const BS: u8 = 0x10;
pub const AT: u8 = 0x40;
pub const ED: u8 = 0x80;

/// The members of `clientDataJSON` we check.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientData {
    #[serde(rename = "type")]
    pub kind: String,
    pub challenge: String,
    pub origin: String,
    #[serde(default)]
    pub cross_origin: Option<bool>,
}

impl ClientData {
    pub fn parse(bytes: &[u8]) -> Result<ClientData, Failure> {
        serde_json::from_slice(bytes).map_err(|_| Failure::Malformed("clientDataJSON"))
    }
}

/// A credential created at registration (the attested credential data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub id: Vec<u8>,
    pub key: PublicKey,
    /// The key as the authenticator encoded it (what is stored).
    pub cose: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthData {
    pub rp_id_hash: [u8; 32],
    pub flags: u8,
    pub sign_count: u32,
    pub credential: Option<AttestedCredential>,
}

/// Credential ids are at most 1023 bytes (WebAuthn §5.8.3).
pub const MAX_CREDENTIAL_ID: usize = 1023;

impl AuthData {
    pub fn parse(bytes: &[u8]) -> Result<AuthData, Failure> {
        let bad = Failure::Malformed("authenticatorData");
        if bytes.len() < 37 {
            return Err(bad);
        }
        let mut rp_id_hash = [0u8; 32];
        rp_id_hash.copy_from_slice(&bytes[..32]);
        let flags = bytes[32];
        let sign_count = u32::from_be_bytes([bytes[33], bytes[34], bytes[35], bytes[36]]);
        if flags & BS != 0 && flags & BE == 0 {
            return Err(bad); // backed up but not backup-eligible
        }
        let mut rest = &bytes[37..];
        let credential = if flags & AT != 0 {
            if rest.len() < 18 {
                return Err(bad);
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if len == 0 || len > MAX_CREDENTIAL_ID || rest.len() < len {
                return Err(bad);
            }
            let id = rest[..len].to_vec();
            rest = &rest[len..];
            let (key, used) = cbor::decode_prefix(rest).ok_or(Failure::Malformed("COSE key"))?;
            let cose = rest[..used].to_vec();
            rest = &rest[used..];
            let key = PublicKey::parse(&key).ok_or(Failure::UnsupportedKey)?;
            Some(AttestedCredential {
                aaguid,
                id,
                key,
                cose,
            })
        } else {
            None
        };
        if flags & ED != 0 {
            match cbor::decode_prefix(rest) {
                Some((Value::Map(_), used)) => rest = &rest[used..],
                _ => return Err(bad),
            }
        }
        if !rest.is_empty() {
            return Err(bad);
        }
        Ok(AuthData {
            rp_id_hash,
            flags,
            sign_count,
            credential,
        })
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The attestation object: its format (any is accepted, its statement ignored: we ask for
/// `none`) and the authenticator data, raw.
pub fn attestation_auth_data(bytes: &[u8]) -> Result<Vec<u8>, Failure> {
    let bad = Failure::Malformed("attestationObject");
    let obj = cbor::decode(bytes).ok_or(bad.clone())?;
    obj.get_text("fmt")
        .and_then(Value::as_text)
        .ok_or(bad.clone())?;
    match obj.get_text("attStmt") {
        Some(Value::Map(_)) => {}
        _ => return Err(bad),
    }
    obj.get_text("authData")
        .and_then(Value::as_bytes)
        .map(<[u8]>::to_vec)
        .ok_or(bad)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::webauthn::cose::tests::ec2;

    /// Encodes the small CBOR the tests need.
    pub fn enc(v: &Value) -> Vec<u8> {
        fn head(out: &mut Vec<u8>, major: u8, n: u64) {
            let m = major << 5;
            match n {
                0..=23 => out.push(m | n as u8),
                24..=0xff => out.extend([m | 24, n as u8]),
                0x100..=0xffff => {
                    out.push(m | 25);
                    out.extend((n as u16).to_be_bytes());
                }
                _ => {
                    out.push(m | 26);
                    out.extend((n as u32).to_be_bytes());
                }
            }
        }
        let mut out = Vec::new();
        match v {
            Value::Int(n) if *n >= 0 => head(&mut out, 0, *n as u64),
            Value::Int(n) => head(&mut out, 1, (-1 - *n) as u64),
            Value::Bytes(b) => {
                head(&mut out, 2, b.len() as u64);
                out.extend(b);
            }
            Value::Text(t) => {
                head(&mut out, 3, t.len() as u64);
                out.extend(t.as_bytes());
            }
            Value::Array(a) => {
                head(&mut out, 4, a.len() as u64);
                a.iter().for_each(|i| out.extend(enc(i)));
            }
            Value::Map(m) => {
                head(&mut out, 5, m.len() as u64);
                for (k, v) in m {
                    out.extend(enc(k));
                    out.extend(enc(v));
                }
            }
            Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
            Value::Null => out.push(0xf6),
        }
        out
    }

    /// Authenticator data with a P-256 credential `cred_id` when `flags` has AT.
    pub fn auth_data(rp_hash: [u8; 32], flags: u8, count: u32, cred_id: &[u8]) -> Vec<u8> {
        let mut out = rp_hash.to_vec();
        out.push(flags);
        out.extend(count.to_be_bytes());
        if flags & AT != 0 {
            out.extend([0xaa; 16]);
            out.extend((cred_id.len() as u16).to_be_bytes());
            out.extend(cred_id);
            out.extend(enc(&ec2(&[1; 32], &[2; 32])));
        }
        out
    }

    #[test]
    fn parses_authenticator_data_with_a_credential() {
        let bytes = auth_data([9; 32], UP | UV | BE | AT, 7, b"cred");
        let a = AuthData::parse(&bytes).expect("parses");
        assert_eq!((a.rp_id_hash, a.sign_count), ([9; 32], 7));
        assert!(a.has(UP) && a.has(UV) && a.has(BE) && !a.has(BS));
        let c = a.credential.expect("credential");
        assert_eq!(c.id, b"cred");
        assert_eq!(c.aaguid, [0xaa; 16]);
        assert_eq!(PublicKey::from_cose(&c.cose), Some(c.key));
    }

    #[test]
    fn parses_assertion_data_and_extensions() {
        let a = AuthData::parse(&auth_data([1; 32], UP | UV, 0, b"")).expect("parses");
        assert_eq!(a.credential, None);
        let mut with_ext = auth_data([1; 32], UP | ED, 3, b"");
        with_ext.extend(enc(&Value::Map(vec![(
            Value::Text("credProtect".into()),
            Value::Int(2),
        )])));
        assert!(AuthData::parse(&with_ext).is_ok());
    }

    #[test]
    fn refuses_malformed_authenticator_data() {
        let good = auth_data([1; 32], UP | UV | AT, 0, b"id");
        for n in 0..good.len() {
            assert!(AuthData::parse(&good[..n]).is_err(), "cut at {n}");
        }
        let mut trailing = auth_data([1; 32], UP, 0, b"");
        trailing.push(0);
        assert!(AuthData::parse(&trailing).is_err());
        assert!(AuthData::parse(&auth_data([1; 32], UP | BS, 0, b"")).is_err());
        assert!(
            AuthData::parse(&auth_data([1; 32], UP | AT, 0, b"")).is_err(),
            "empty id"
        );
        let mut ed_not_map = auth_data([1; 32], UP | ED, 0, b"");
        ed_not_map.push(0x01);
        assert!(AuthData::parse(&ed_not_map).is_err());
    }

    #[test]
    fn reads_the_attestation_object() {
        let ad = auth_data([1; 32], UP | UV | AT, 0, b"id");
        let obj = |fmt: &str, stmt: Value| {
            enc(&Value::Map(vec![
                (Value::Text("fmt".into()), Value::Text(fmt.into())),
                (Value::Text("attStmt".into()), stmt),
                (Value::Text("authData".into()), Value::Bytes(ad.clone())),
            ]))
        };
        assert_eq!(
            attestation_auth_data(&obj("none", Value::Map(vec![]))),
            Ok(ad.clone())
        );
        let packed = Value::Map(vec![(Value::Text("alg".into()), Value::Int(-7))]);
        assert_eq!(
            attestation_auth_data(&obj("packed", packed)),
            Ok(ad.clone())
        );
        assert!(attestation_auth_data(&obj("none", Value::Null)).is_err());
        assert!(attestation_auth_data(&[0xa0]).is_err());
        assert!(attestation_auth_data(b"not cbor").is_err());
    }

    #[test]
    fn client_data_parses() {
        let c = ClientData::parse(
            br#"{"type":"webauthn.get","challenge":"abc","origin":"http://localhost:8787","crossOrigin":false,"other":1}"#,
        )
        .expect("parses");
        assert_eq!(
            (c.kind.as_str(), c.cross_origin),
            ("webauthn.get", Some(false))
        );
        assert!(ClientData::parse(b"{}").is_err());
        assert!(ClientData::parse(b"\xff").is_err());
    }
}
