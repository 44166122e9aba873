//! HMAC-SHA256 signatures in the `t=<unix>,v1=<hex>` header form Stripe made common: what the
//! job consumer and the origin proxy sign, and what Stripe webhooks are verified with.

use crate::encoding::{constant_time_eq, hex, unhex};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The signed message: `"{t}.{part}.{part}…"`.
fn message_parts<'a>(t: &'a str, parts: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut out = vec![t.as_bytes()];
    for p in parts {
        out.push(b".");
        out.push(p);
    }
    out
}

/// `t=<t>,v1=<hex HMAC-SHA256(secret, "{t}.{parts joined by '.'}")>`.
pub fn sign(secret: &[u8], t: i64, parts: &[&[u8]]) -> String {
    let ts = t.to_string();
    let mac = hmac_sha256(secret, &message_parts(&ts, parts));
    format!("t={ts},v1={}", hex(&mac))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header, or unparsable values.
    Malformed,
    /// The timestamp is further than the tolerance from now (either way).
    Expired,
    /// No `v1` value matches.
    Mismatch,
}

/// Verifies a `t=…,v1=…[,v1=…]` header over `parts` with a tolerance in seconds. Any matching
/// `v1` is accepted (secret rotation), other schemes (`v0`) are ignored, comparison is
/// constant-time.
pub fn verify(
    secret: &[u8],
    header: &str,
    parts: &[&[u8]],
    now: i64,
    tolerance: i64,
) -> Result<(), SignatureError> {
    let mut t: Option<&str> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for item in header.split(',') {
        let (k, v) = item
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match k {
            "t" => t = Some(v),
            "v1" => candidates.push(unhex(v).ok_or(SignatureError::Malformed)?),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    let ts: i64 = t.parse().map_err(|_| SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - ts).abs() > tolerance {
        return Err(SignatureError::Expired);
    }
    let expected = hmac_sha256(secret, &message_parts(t, parts));
    if candidates.iter().any(|c| constant_time_eq(c, &expected)) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sign_then_verify() {
        let h = sign(b"s3cret", 1_700_000_000, &[b"{\"a\":1}"]);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify(b"s3cret", &h, &[b"{\"a\":1}"], 1_700_000_100, 300),
            Ok(())
        );
    }

    #[test]
    fn rejects_tampering_expiry_and_garbage() {
        let h = sign(b"k", 1000, &[b"body"]);
        assert_eq!(
            verify(b"k", &h, &[b"bodY"], 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &h, &[b"body"], 1000, 300),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"k", &h, &[b"body"], 1301, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(b"k", &h, &[b"body"], 699, 300),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(b"k", "v1=00", &[b"body"], 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", "t=1000", &[b"body"], 1000, 300),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(b"k", "garbage", &[b"b"], 1000, 300),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn any_v1_may_match_and_v0_is_ignored() {
        let good = sign(b"k", 1000, &[b"b"]);
        let v1 = good.split("v1=").nth(1).unwrap();
        let header = format!("t=1000,v1={},v0=abc,v1={v1}", "0".repeat(64));
        assert_eq!(verify(b"k", &header, &[b"b"], 1000, 300), Ok(()));
    }

    #[test]
    fn parts_are_joined_with_dots() {
        let a = sign(b"k", 1, &[b"POST", b"/x", b"body"]);
        let b = sign(b"k", 1, &[b"POST./x.body"]);
        assert_eq!(a, b);
    }
}
