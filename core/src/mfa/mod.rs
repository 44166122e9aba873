//! Second factors and what they unlock: TOTP codes ([`totp`]), single-use recovery codes, the
//! authentication methods an access token carries (`amr`, RFC 8176, with `auth_time`), the
//! step-up rule for sensitive actions and an organization's `require_mfa` gate. All pure: the
//! glue stores secrets and hands the facts in.

pub mod totp;
pub mod vault;

use crate::encoding::{base32 as crockford, hex};
use crate::problem::ApiError;
use crate::signature::sha256;
use serde::{Deserialize, Serialize};

/// How recent a second factor must be for a sensitive action.
pub const STEP_UP_SECONDS: i64 = 10 * 60;
/// How long the challenge of a login awaiting its second factor lives.
pub const CHALLENGE_TTL_SECONDS: i64 = 5 * 60;
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;
/// Second-factor attempts allowed per user per [`ATTEMPT_WINDOW_SECONDS`] by default (exact,
/// counted in the user's limiter object), whatever the route: login, step-up, disabling.
/// `PLAN_LIMITS`' `mfa_attempts_per_5_minutes` changes it.
pub const ATTEMPTS: u32 = 10;
pub const ATTEMPT_WINDOW_SECONDS: u32 = 300;

/// RFC 8176 method references.
pub const AMR_PASSWORD: &str = "pwd";
pub const AMR_OTP: &str = "otp";
pub const AMR_MFA: &str = "mfa";
/// A passkey: proof of possession of a key (RFC 8176 `hwk`), user verified; a full second
/// factor on its own.
pub const AMR_PASSKEY: &str = "hwk";

/// How a session's user last proved who they are: what the access token carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authn {
    /// Methods used (RFC 8176 values), e.g. `["pwd"]` or `["pwd", "otp", "mfa"]`.
    pub amr: Vec<String>,
    /// Unix seconds of that authentication: the sign-in, or the latest step-up.
    pub auth_time: i64,
}

impl Authn {
    pub fn password(at: i64) -> Self {
        Self {
            amr: vec![AMR_PASSWORD.into()],
            auth_time: at,
        }
    }

    pub fn password_and_otp(at: i64) -> Self {
        Self {
            amr: vec![AMR_PASSWORD.into(), AMR_OTP.into(), AMR_MFA.into()],
            auth_time: at,
        }
    }

    /// A passkey sign-in or step-up.
    pub fn passkey(at: i64) -> Self {
        Self {
            amr: vec![AMR_PASSKEY.into(), AMR_MFA.into()],
            auth_time: at,
        }
    }

    /// Parses the stored form (`"pwd otp mfa"`).
    pub fn from_stored(amr: &str, auth_time: i64) -> Self {
        Self {
            amr: amr.split_whitespace().map(str::to_owned).collect(),
            auth_time,
        }
    }

    pub fn stored_amr(&self) -> String {
        self.amr.join(" ")
    }

    pub fn has_second_factor(&self) -> bool {
        self.amr.iter().any(|m| m == AMR_MFA)
    }

    /// A second factor within [`STEP_UP_SECONDS`] of `now`.
    pub fn recent_second_factor(&self, now: i64) -> bool {
        self.has_second_factor()
            && now - self.auth_time <= STEP_UP_SECONDS
            && self.auth_time <= now + 60
    }

    /// The sign-in method shown in the session list.
    pub fn method(&self) -> &'static str {
        if self.amr.iter().any(|m| m == AMR_PASSKEY) {
            "passkey"
        } else if self.has_second_factor() {
            "mfa"
        } else {
            "password"
        }
    }
}

/// Why a user is held back before an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Prove the second factor again (`POST /v1/auth/step-up`).
    StepUp,
    /// The organization requires a second factor and the user has none: enroll first.
    Enroll,
}

impl Hold {
    /// The problem a held request gets (403, with its own code).
    pub fn problem(self) -> ApiError {
        match self {
            Hold::StepUp => ApiError::new(
                403,
                "step_up_required",
                "Step-up required",
                "This needs a recent second factor: POST /v1/auth/step-up with a code from your \
                 authenticator app (or a recovery code), or POST /v1/auth/step-up/passkey with a \
                 passkey, then retry with the access token it returns.",
            ),
            Hold::Enroll => ApiError::new(
                403,
                "mfa_enrollment_required",
                "Second factor required",
                "This organization requires a second factor: enroll one (POST /v1/me/mfa/totp, \
                 then /v1/me/mfa/totp/confirm) and use the access token the confirmation returns.",
            ),
        }
    }
}

/// A sensitive action (keys, roles, removals, deleting the organization, billing, MFA and
/// credential changes) by a user with a second factor needs a recent one. Users without a
/// factor are not held here (an organization that wants them to have one sets `require_mfa`).
pub fn sensitive(enrolled: bool, authn: &Authn, now: i64) -> Result<(), Hold> {
    if !enrolled || authn.recent_second_factor(now) {
        Ok(())
    } else {
        Err(Hold::StepUp)
    }
}

/// An organization with `require_mfa` admits users whose session used a second factor; the
/// others are told to step up (they have a factor) or to enroll (they have none).
pub fn organization(require_mfa: bool, authn: &Authn, enrolled: bool) -> Result<(), Hold> {
    if !require_mfa || authn.has_second_factor() {
        Ok(())
    } else if enrolled {
        Err(Hold::StepUp)
    } else {
        Err(Hold::Enroll)
    }
}

/// A recovery code from 7 random bytes: 10 Crockford base32 characters, shown `xxxxx-xxxxx`.
pub fn recovery_code(random: [u8; 7]) -> String {
    let s = crockford(&random);
    let s = &s[..10];
    format!("{}-{}", &s[..5], &s[5..])
}

/// What is stored for a recovery code: the SHA-256 of its normalized form, so a code typed
/// with or without the hyphen, in either case, or with Crockford's look-alikes (`o` for 0,
/// `i`/`l` for 1) is the same code. `None` if it cannot be one.
pub fn recovery_hash(code: &str) -> Option<String> {
    let mut norm = String::with_capacity(10);
    for c in code.chars() {
        match c.to_ascii_lowercase() {
            '-' | ' ' => {}
            'o' => norm.push('0'),
            'i' | 'l' => norm.push('1'),
            c if c.is_ascii_digit() || "abcdefghjkmnpqrstvwxyz".contains(c) => norm.push(c),
            _ => return None,
        }
    }
    (norm.len() == 10).then(|| hex(&sha256(norm.as_bytes())))
}

/// What a presented second factor is: a 6-digit TOTP code or a recovery code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Factor {
    Code(String),
    Recovery(String),
}

impl Factor {
    /// From the `code` / `recovery_code` fields of a body: exactly one must be given.
    pub fn from_fields(code: Option<&str>, recovery: Option<&str>) -> Result<Self, &'static str> {
        match (code, recovery) {
            (Some(c), None) => Ok(Factor::Code(c.to_owned())),
            (None, Some(r)) => Ok(Factor::Recovery(r.to_owned())),
            (None, None) => Err("give `code` (from the authenticator app) or `recovery_code`"),
            (Some(_), Some(_)) => Err("give `code` or `recovery_code`, not both"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_up_holds_enrolled_users_without_a_recent_factor() {
        let now = 1_000_000;
        let pwd = Authn::password(now);
        assert_eq!(sensitive(false, &pwd, now), Ok(()), "no factor, not held");
        assert_eq!(sensitive(true, &pwd, now), Err(Hold::StepUp));
        let fresh = Authn::password_and_otp(now - STEP_UP_SECONDS);
        assert_eq!(sensitive(true, &fresh, now), Ok(()));
        let stale = Authn::password_and_otp(now - STEP_UP_SECONDS - 1);
        assert_eq!(sensitive(true, &stale, now), Err(Hold::StepUp));
        let future = Authn::password_and_otp(now + 3600);
        assert_eq!(
            sensitive(true, &future, now),
            Err(Hold::StepUp),
            "a time from the future"
        );
    }

    #[test]
    fn require_mfa_tells_step_up_from_enroll() {
        let now = 5;
        let pwd = Authn::password(now);
        assert_eq!(organization(false, &pwd, false), Ok(()));
        assert_eq!(organization(true, &pwd, false), Err(Hold::Enroll));
        assert_eq!(organization(true, &pwd, true), Err(Hold::StepUp));
        // The organization's gate does not expire: the session used a factor.
        assert_eq!(
            organization(true, &Authn::password_and_otp(0), true),
            Ok(())
        );
    }

    #[test]
    fn amr_round_trips_through_storage() {
        let a = Authn::password_and_otp(42);
        assert_eq!(Authn::from_stored(&a.stored_amr(), 42), a);
        assert_eq!(a.method(), "mfa");
        assert_eq!(Authn::password(1).method(), "password");
        let p = Authn::passkey(7);
        assert_eq!((p.method(), p.has_second_factor()), ("passkey", true));
        assert_eq!(Authn::from_stored(&p.stored_amr(), 7), p);
        assert!(!Authn::from_stored("", 0).has_second_factor());
    }

    #[test]
    fn recovery_codes_normalize() {
        let code = recovery_code([0xA5; 7]);
        assert_eq!(code.len(), 11);
        assert_eq!(&code[5..6], "-");
        let h = recovery_hash(&code).expect("a code");
        assert_eq!(recovery_hash(&code.to_uppercase()), Some(h.clone()));
        assert_eq!(recovery_hash(&code.replace('-', "")), Some(h.clone()));
        assert_eq!(recovery_hash("0000000001"), recovery_hash("OOOOO-OOOOI"));
        assert_eq!(recovery_hash("short"), None);
        assert_eq!(recovery_hash("uuuuuuuuuu"), None, "u is not Crockford");
        assert_ne!(recovery_code([1; 7]), recovery_code([2; 7]));
    }

    #[test]
    fn exactly_one_factor_field() {
        assert_eq!(
            Factor::from_fields(Some("1"), None),
            Ok(Factor::Code("1".into()))
        );
        assert_eq!(
            Factor::from_fields(None, Some("r")),
            Ok(Factor::Recovery("r".into()))
        );
        assert!(Factor::from_fields(None, None).is_err());
        assert!(Factor::from_fields(Some("1"), Some("r")).is_err());
    }
}
