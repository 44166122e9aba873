//! The change of a signed-in user's email address: the rules `POST /v1/me/email` (the
//! request) and `POST /v1/auth/email/confirm` (redeeming the token mailed to the new address)
//! decide with. A request's token is single use, lives [`TTL_SECONDS`], and a newer request of
//! the same user supersedes it.

use crate::validate::Email;

/// How long the token mailed to the new address is valid.
pub const TTL_SECONDS: i64 = 24 * 3600;

/// What a request asks for, refused before anything is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The address is the account's own already.
    Unchanged,
}

/// The new address, if it is a change of `current` (both normalized like [`Email::parse`]).
pub fn requested(current: &str, new: Email) -> Result<Email, Refusal> {
    if Email::parse(current).is_ok_and(|c| c == new) {
        return Err(Refusal::Unchanged);
    }
    Ok(new)
}

/// A stored request as the confirmation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub used: bool,
    pub superseded: bool,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Whether the token of `p` may still be redeemed at `now` (unix s): unused, not superseded
/// by a newer request, not expired.
pub fn redeemable(p: &Pending, now: i64) -> bool {
    !p.used && !p.superseded && now <= p.expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Email {
        Email::parse(s).unwrap()
    }

    #[test]
    fn the_same_address_in_any_case_is_no_change() {
        assert_eq!(
            requested("a@example.com", email(" A@Example.COM ")),
            Err(Refusal::Unchanged)
        );
        assert_eq!(
            requested("a@example.com", email("b@example.com")).map(|e| e.as_str().to_owned()),
            Ok("b@example.com".to_owned())
        );
    }

    #[test]
    fn a_token_is_redeemable_once_while_fresh_and_current() {
        let live = Pending {
            used: false,
            superseded: false,
            expires_at: 1_000 + TTL_SECONDS,
        };
        assert!(redeemable(&live, 1_000));
        assert!(redeemable(&live, 1_000 + TTL_SECONDS));
        assert!(!redeemable(&live, 1_001 + TTL_SECONDS));
        let used = Pending {
            used: true,
            ..live.clone()
        };
        assert!(!redeemable(&used, 1_000));
        let superseded = Pending {
            superseded: true,
            ..live
        };
        assert!(!redeemable(&superseded, 1_000));
    }
}
