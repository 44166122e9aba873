//! Sealed tokens: a JSON payload with an HMAC-SHA256 tag bound to a purpose, as
//! `base64url(payload).base64url(tag)`. Used for everything the server hands out and must get
//! back unaltered: pagination cursors, invitation and email-verification links, signed URLs.
//! A token sealed for one purpose never opens for another.

use crate::encoding::{base64url, constant_time_eq, unbase64url};
use crate::signature::hmac_sha256;
use serde::de::DeserializeOwned;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealError {
    Malformed,
    BadTag,
    Expired,
}

pub fn seal<T: Serialize>(secret: &[u8], purpose: &str, payload: &T) -> String {
    let json = serde_json::to_vec(payload).unwrap_or_default();
    let body = base64url(&json);
    let tag = hmac_sha256(secret, &[purpose.as_bytes(), b".", body.as_bytes()]);
    format!("{body}.{}", base64url(&tag))
}

pub fn open<T: DeserializeOwned>(
    secret: &[u8],
    purpose: &str,
    token: &str,
) -> Result<T, SealError> {
    if token.len() > 4096 {
        return Err(SealError::Malformed);
    }
    let (body, tag) = token.split_once('.').ok_or(SealError::Malformed)?;
    let tag = unbase64url(tag).ok_or(SealError::Malformed)?;
    let expected = hmac_sha256(secret, &[purpose.as_bytes(), b".", body.as_bytes()]);
    if !constant_time_eq(&tag, &expected) {
        return Err(SealError::BadTag);
    }
    let json = unbase64url(body).ok_or(SealError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| SealError::Malformed)
}

/// Opens a token whose payload carries `exp` (unix seconds) and checks it against `now`.
pub fn open_expiring<T: DeserializeOwned + Expiring>(
    secret: &[u8],
    purpose: &str,
    token: &str,
    now: i64,
) -> Result<T, SealError> {
    let payload: T = open(secret, purpose, token)?;
    if payload.exp() < now {
        return Err(SealError::Expired);
    }
    Ok(payload)
}

pub trait Expiring {
    fn exp(&self) -> i64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct P {
        id: String,
        exp: i64,
    }
    impl Expiring for P {
        fn exp(&self) -> i64 {
            self.exp
        }
    }

    #[test]
    fn round_trip_and_purpose_binding() {
        let p = P {
            id: "x".into(),
            exp: 100,
        };
        let t = seal(b"k", "cursor", &p);
        assert_eq!(open::<P>(b"k", "cursor", &t), Ok(p));
        assert_eq!(open::<P>(b"k", "invite", &t), Err(SealError::BadTag));
        assert_eq!(open::<P>(b"other", "cursor", &t), Err(SealError::BadTag));
    }

    #[test]
    fn tampering_and_garbage() {
        let t = seal(
            b"k",
            "c",
            &P {
                id: "x".into(),
                exp: 1,
            },
        );
        let (body, tag) = t.split_once('.').unwrap();
        let forged = seal(
            b"wrong",
            "c",
            &P {
                id: "y".into(),
                exp: 1,
            },
        );
        let forged_body = forged.split_once('.').unwrap().0;
        assert_eq!(
            open::<P>(b"k", "c", &format!("{forged_body}.{tag}")),
            Err(SealError::BadTag)
        );
        assert_eq!(open::<P>(b"k", "c", body), Err(SealError::Malformed));
        assert_eq!(open::<P>(b"k", "c", "!!.??"), Err(SealError::Malformed));
        assert_eq!(open::<P>(b"k", "c", ""), Err(SealError::Malformed));
    }

    #[test]
    fn expiry() {
        let t = seal(
            b"k",
            "c",
            &P {
                id: "x".into(),
                exp: 100,
            },
        );
        assert!(open_expiring::<P>(b"k", "c", &t, 100).is_ok());
        assert_eq!(
            open_expiring::<P>(b"k", "c", &t, 101),
            Err(SealError::Expired)
        );
    }
}
