//! Time and randomness from the runtime, handed to the pure core as arguments.

use chrono::{DateTime, SecondsFormat, Utc};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    worker::Date::now().as_millis() as i64
}

pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(now_ms()).unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds, the API's timestamp format.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Cryptographically secure random bytes (WebCrypto `getRandomValues`).
pub fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::getrandom(&mut buf).is_err() {
        // getrandom on workerd cannot fail short of a broken runtime; never fall back to a
        // predictable value.
        panic!("secure randomness unavailable");
    }
    buf
}

/// A uniform number in `[0, 1)` for jitter.
pub fn unit_random() -> f64 {
    let b = random::<8>();
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

pub fn new_id(kind: edge_core::ids::IdKind) -> String {
    edge_core::ids::new_id(kind, random())
}

/// A fresh value only this request knows, for single-use guards and "claimed by" columns
/// (a compare-and-set must never key on the client-chosen `X-Request-Id`: two concurrent
/// requests can carry the same one).
pub fn claim() -> String {
    edge_core::encoding::hex(&random::<16>())
}
