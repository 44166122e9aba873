//! `t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>` signatures, written independently of
//! the worker's own code so a shared mistake cannot hide.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lowercase hex of HMAC-SHA256(`secret`, `message`).
pub fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// The header value for `body` signed at `t` (to build Stripe-style test requests).
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    format!("t={t},v1={}", hmac_hex(secret.as_bytes(), &message))
}

/// Checks `header` over `body`: exactly one `t`, a `v1` equal to the expected MAC, and `t`
/// within `tolerance` seconds of `now`. Returns `t`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance: i64,
) -> Result<i64, String> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) if t.is_none() => {
                t = Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("bad t in {header:?}"))?,
                )
            }
            Some(("t", _)) => return Err(format!("two t values in {header:?}")),
            Some(("v1", v)) => v1.push(v),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| format!("no t= in {header:?}"))?;
    let expected = sign(secret, t, body);
    let expected = expected.rsplit("v1=").next().unwrap_or_default();
    if !v1.contains(&expected) {
        return Err(format!("no v1 in {header:?} matches the HMAC of the body"));
    }
    if (now - t).abs() > tolerance {
        return Err(format!("t={t} is more than {tolerance} s from now ({now})"));
    }
    Ok(t)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_secs()).expect("seconds fit in i64")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejections() {
        let header = sign("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            verify("s3cret", &header, b"{\"a\":1}", 1_700_000_010, 60),
            Ok(1_700_000_000)
        );
        assert!(verify("other", &header, b"{\"a\":1}", 1_700_000_000, 60).is_err());
        assert!(verify("s3cret", &header, b"{\"a\":2}", 1_700_000_000, 60).is_err());
        assert!(verify("s3cret", &header, b"{\"a\":1}", 1_700_000_100, 60).is_err());
        assert!(verify("s3cret", "v1=00", b"", 0, 60).is_err());
    }

    #[test]
    fn known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
