//! Secrets at rest (TOTP seeds): XChaCha20-Poly1305 under a key derived from the deployment's
//! secret for this purpose alone, with a random 192-bit nonce and the owner's id as associated
//! data, so a sealed value copied onto another user's row does not open. Stored as
//! `v1.<base64url nonce>.<base64url ciphertext+tag>`; the version names the key derivation, so
//! a later key can be introduced beside it.

use crate::encoding::{base64url, unbase64url};
use crate::signature::hmac_sha256;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

const VERSION: &str = "v1";

fn cipher(deployment_secret: &[u8]) -> XChaCha20Poly1305 {
    let key = hmac_sha256(deployment_secret, &[b"edge-api/vault/v1/totp-secret"]);
    XChaCha20Poly1305::new(&key.into())
}

/// Seals `plaintext` for `owner`.
pub fn seal(deployment_secret: &[u8], owner: &str, plaintext: &[u8], nonce: [u8; 24]) -> String {
    let sealed = cipher(deployment_secret)
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: owner.as_bytes(),
            },
        )
        .unwrap_or_default();
    format!("{VERSION}.{}.{}", base64url(&nonce), base64url(&sealed))
}

/// Opens what [`seal`] made for `owner`; `None` if it was altered, is another owner's, or was
/// sealed under another key.
pub fn open(deployment_secret: &[u8], owner: &str, stored: &str) -> Option<Vec<u8>> {
    let mut parts = stored.split('.');
    let (Some(VERSION), Some(nonce), Some(body), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let nonce = unbase64url(nonce).filter(|n| n.len() == 24)?;
    let body = unbase64url(body)?;
    cipher(deployment_secret)
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &body,
                aad: owner.as_bytes(),
            },
        )
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_for_its_owner_only() {
        let s = seal(KEY, "usr_a", b"seed bytes", [7; 24]);
        assert!(s.starts_with("v1."));
        assert!(!s.contains("seed"));
        assert_eq!(open(KEY, "usr_a", &s).as_deref(), Some(&b"seed bytes"[..]));
        assert_eq!(open(KEY, "usr_b", &s), None, "another owner");
        assert_eq!(open(b"another deployment secret.......", "usr_a", &s), None);
    }

    #[test]
    fn tampering_is_refused() {
        let s = seal(KEY, "usr_a", b"seed", [1; 24]);
        let mut flipped = s.clone().into_bytes();
        let last = flipped.len() - 2;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).expect("ascii");
        assert_eq!(open(KEY, "usr_a", &flipped), None);
        assert_eq!(open(KEY, "usr_a", &s.replacen("v1", "v2", 1)), None);
        assert_eq!(open(KEY, "usr_a", "v1.abc"), None);
        assert_eq!(open(KEY, "usr_a", ""), None);
        assert_ne!(seal(KEY, "usr_a", b"seed", [2; 24]), s, "nonces differ");
    }
}
