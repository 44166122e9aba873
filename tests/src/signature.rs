//! `t=<unix>,v1=<hex HMAC-SHA256(secret, message)>` signatures, written independently of the
//! worker's own code so a shared mistake cannot hide: Stripe's `"{t}.{body}"` (to build test
//! webhooks), and the edge's job (`edge-job.v1`) and proxy (`edge-proxy.v1`) strings.

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

/// `"edge-job.v1\n{t}\n{job_id}\n{type}\n{org_id}\n{attempt}\n{body}"`: what a job
/// delivery's `X-Signature` signs (written here from the documented format, not the worker's).
pub fn job_message(
    t: i64,
    job_id: &str,
    job_type: &str,
    org_id: &str,
    attempt: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut m =
        format!("edge-job.v1\n{t}\n{job_id}\n{job_type}\n{org_id}\n{attempt}\n").into_bytes();
    m.extend_from_slice(body);
    m
}

/// The identity a proxied call claims, in signing order.
#[derive(Debug, Clone, Copy)]
pub struct ProxyIdentity<'a> {
    pub org_id: &'a str,
    pub user_id: &'a str,
    pub api_key_id: &'a str,
    pub role: &'a str,
    pub request_id: &'a str,
}

/// `"edge-proxy.v1\n{t}\n{METHOD}\n{path?query}\n{org}\n{user}\n{key}\n{role}\n{request id}\n{body}"`.
pub fn proxy_message(
    t: i64,
    method: &str,
    path_and_query: &str,
    id: ProxyIdentity,
    body: &[u8],
) -> Vec<u8> {
    let mut m = format!(
        "edge-proxy.v1\n{t}\n{method}\n{path_and_query}\n{}\n{}\n{}\n{}\n{}\n",
        id.org_id, id.user_id, id.api_key_id, id.role, id.request_id
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

/// Checks a `t=…,v1=…` header whose signed message depends on `t` (`message(t)`).
pub fn verify_with(
    secret: &str,
    header: &str,
    message: impl Fn(i64) -> Vec<u8>,
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
            Some(("v1", v)) => v1.push(v.to_owned()),
            _ => {}
        }
    }
    let t = t.ok_or_else(|| format!("no t= in {header:?}"))?;
    let m = message(t);
    let expected = hmac_hex(secret.as_bytes(), &m);
    if !v1.contains(&expected) {
        return Err(format!(
            "no v1 in {header:?} signs {:?}",
            String::from_utf8_lossy(&m)
        ));
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
    fn documented_strings_known_answers() {
        // Computed with Python's hmac (see core/src/origin_signing.rs for the commands).
        let job = job_message(
            1_700_000_000,
            "job_01",
            "email",
            "org_01",
            "2",
            b"{\"a\":1}",
        );
        assert_eq!(
            hmac_hex(b"s3cret-origin", &job),
            "5eee3536b61f971c2937271ca6451a77134632eb4709ccf4188318b2e50e3401"
        );
        let id = ProxyIdentity {
            org_id: "org_01",
            user_id: "",
            api_key_id: "key_01",
            role: "member",
            request_id: "req-1",
        };
        let proxy = proxy_message(1_700_000_000, "POST", "/r?x=1", id, b"hi");
        assert_eq!(
            hmac_hex(b"s3cret-origin", &proxy),
            "661f34a092097434ca2b3d849865e745f4af0b65ae59046eb74e31bc29df5ab1"
        );
        let header = format!("t=1700000000,v1={}", hmac_hex(b"s3cret-origin", &proxy));
        let at = |t| proxy_message(t, "POST", "/r?x=1", id, b"hi");
        assert_eq!(
            verify_with("s3cret-origin", &header, at, 1_700_000_000, 60),
            Ok(1_700_000_000)
        );
        let other = |t| proxy_message(t, "POST", "/r?x=2", id, b"hi");
        assert!(verify_with("s3cret-origin", &header, other, 1_700_000_000, 60).is_err());
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
