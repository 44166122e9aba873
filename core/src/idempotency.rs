//! `Idempotency-Key` rules for creating requests: a key is scoped to (organization,
//! credential); the first request's response is stored and replayed for the same key and the
//! same request within 24 h; the same key with a different request is a 422; a key whose
//! first request is still running is a 409. A key held "in flight" longer than the lock
//! timeout is considered abandoned (its request died) and may be taken over.

use crate::encoding::hex;
use crate::signature::sha256;

/// Stored responses are replayed for this long.
pub const TTL_SECONDS: i64 = 24 * 3600;
/// An in-flight key older than this belongs to a request that died.
pub const LOCK_SECONDS: i64 = 60;

/// A syntactically valid key: 1..=255 visible ASCII characters.
pub fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|c| c.is_ascii_graphic())
}

/// What identifies "the same request": method, path and body.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let mut data = Vec::with_capacity(method.len() + path.len() + body.len() + 2);
    data.extend_from_slice(method.as_bytes());
    data.push(b' ');
    data.extend_from_slice(path.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(body);
    hex(&sha256(&data))
}

/// A stored key as far as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub fingerprint: String,
    pub done: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Replay the stored response.
    Replay,
    /// Same key, different request: 422.
    Mismatch,
    /// The first request is still running: 409.
    InFlight,
    /// The record is expired or abandoned: delete it and run the request.
    Stale,
}

/// Decides what to do with a request whose key is already stored.
pub fn judge(existing: &Record, fingerprint: &str, now: i64) -> Verdict {
    if existing.expires_at <= now || (!existing.done && existing.created_at + LOCK_SECONDS <= now) {
        Verdict::Stale
    } else if existing.fingerprint != fingerprint {
        Verdict::Mismatch
    } else if !existing.done {
        Verdict::InFlight
    } else {
        Verdict::Replay
    }
}

/// Whether the request holding `owner` may still write a record (store its response or
/// release it): only while the record is in flight and still names it. A record whose lock
/// expired and was taken over names its new owner, so the old one writes nothing.
pub fn may_write(record_owner: Option<&str>, done: bool, owner: &str) -> bool {
    !done && record_owner == Some(owner)
}

/// Whether a response is kept for replay. Server errors and limit refusals are not: they say
/// nothing final about the request, so a retry with the same key should run it again.
pub fn keep(status: u16) -> bool {
    status < 500 && status != 429 && status != 409
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(done: bool, fp: &str) -> Record {
        Record {
            fingerprint: fp.into(),
            done,
            created_at: 1000,
            expires_at: 1000 + TTL_SECONDS,
        }
    }

    #[test]
    fn keys() {
        assert!(valid_key("a"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("has space"));
        assert!(!valid_key("é"));
    }

    #[test]
    fn fingerprints_cover_method_path_and_body() {
        let a = fingerprint("POST", "/v1/x", b"{}");
        assert_eq!(a, fingerprint("POST", "/v1/x", b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/y", b"{}"));
        assert_ne!(a, fingerprint("PUT", "/v1/x", b"{}"));
        assert_ne!(a, fingerprint("POST", "/v1/x", b"{ }"));
    }

    #[test]
    fn verdicts() {
        assert_eq!(judge(&rec(true, "f"), "f", 1001), Verdict::Replay);
        assert_eq!(judge(&rec(true, "f"), "g", 1001), Verdict::Mismatch);
        assert_eq!(judge(&rec(false, "f"), "f", 1001), Verdict::InFlight);
        assert_eq!(judge(&rec(false, "f"), "g", 1001), Verdict::Mismatch);
        assert_eq!(
            judge(&rec(false, "f"), "f", 1000 + LOCK_SECONDS),
            Verdict::Stale
        );
        assert_eq!(
            judge(&rec(true, "f"), "g", 1000 + TTL_SECONDS),
            Verdict::Stale
        );
    }

    #[test]
    fn only_the_owner_writes_and_a_takeover_needs_a_stale_record() {
        assert!(may_write(Some("a"), false, "a"));
        assert!(!may_write(Some("b"), false, "a"), "taken over by b");
        assert!(!may_write(Some("a"), true, "a"), "already stored");
        assert!(!may_write(None, false, "a"), "a record of before owners");
        // A live in-flight record is not taken over; one past the lock is.
        assert_eq!(
            judge(&rec(false, "f"), "f", 1000 + LOCK_SECONDS - 1),
            Verdict::InFlight
        );
        assert_eq!(
            judge(&rec(false, "f"), "f", 1000 + LOCK_SECONDS),
            Verdict::Stale
        );
    }

    #[test]
    fn what_is_kept() {
        assert!(keep(201) && keep(202) && keep(400) && keep(404) && keep(422));
        assert!(!keep(500) && !keep(503) && !keep(429) && !keep(409));
    }
}
