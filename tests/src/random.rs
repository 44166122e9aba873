//! Random values so tests never share data: keys, ids, emails, secrets.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// `n` random bytes from the OS.
pub fn bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).expect("OS randomness");
    buf
}

/// `n` random bytes, lowercase hex (safe in headers, paths, request ids and JSON).
pub fn hex(n: usize) -> String {
    hex::encode(bytes(n))
}

/// `n` random bytes, base64url without padding (the secrets' format).
pub fn base64url(n: usize) -> String {
    URL_SAFE_NO_PAD.encode(bytes(n))
}

/// `prefix-<16 hex chars>`: a unique test key or request id.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", hex(8))
}

/// A unique address in a reserved test domain.
pub fn email() -> String {
    format!("user-{}@test.example", hex(8))
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_fresh_and_well_formed() {
        assert_ne!(super::unique("k"), super::unique("k"));
        assert!(super::unique("k").starts_with("k-"));
        assert_eq!(super::base64url(32).len(), 43);
        assert!(super::email().ends_with("@test.example"));
    }
}
