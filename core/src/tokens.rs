//! Credentials: EdDSA access JWTs with a key ring (the first key signs, all verify), and the
//! opaque secrets (refresh tokens, API keys, one-time tokens) that are stored only as hashes.

use crate::encoding::{base64url, hex, unbase64url};
use crate::mfa::Authn;
use crate::signature::sha256;
use chrono::{DateTime, Duration, Utc};
use ed25519_compact::{KeyPair, PublicKey, SecretKey, Seed};
use jwt_compact::alg::Ed25519;
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, UntrustedToken};
use serde::{Deserialize, Serialize};

/// Access tokens live 15 minutes.
pub const ACCESS_TTL_SECONDS: i64 = 15 * 60;
/// Refresh tokens live 30 days.
pub const REFRESH_TTL_SECONDS: i64 = 30 * 24 * 3600;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECONDS: i64 = 30;

/// The claims of an access token besides `exp`, `nbf` and `iat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub jti: String,
    pub typ: String,
    pub sid: String,
    /// How the user authenticated (RFC 8176 values); absent on tokens from before MFA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// When (unix s): the sign-in or the latest step-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
}

impl AccessClaims {
    /// The authentication the token records (a token without `amr` was a password sign-in).
    pub fn authn(&self) -> Authn {
        if self.amr.is_empty() {
            return Authn::password(self.auth_time.unwrap_or(0));
        }
        Authn {
            amr: self.amr.clone(),
            auth_time: self.auth_time.unwrap_or(0),
        }
    }
}

/// One signing key: its id and Ed25519 key pair.
pub struct SigningKey {
    pub kid: String,
    secret: SecretKey,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, [redacted])", self.kid)
    }
}

/// The configured keys. The first signs; every key verifies (rotation: add the new key first,
/// keep the old one for at least one access-token lifetime, then remove it).
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Malformed,
    UnknownKey,
    BadSignature,
    WrongType,
    WrongIssuer,
    WrongAudience,
    Expired,
    NotYetValid,
    MissingClaim,
}

impl KeyRing {
    /// Parses `kid:base64url(32-byte seed)[,kid:seed…]`.
    pub fn parse(spec: &str, issuer: &str, audience: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (kid, seed) = entry
                .split_once(':')
                .ok_or("each key must be `kid:base64url-seed`")?;
            let kid = kid.trim();
            if kid.is_empty()
                || kid.len() > 64
                || !kid
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            {
                return Err("a key id must be 1..64 characters of [A-Za-z0-9_-]".into());
            }
            let seed = unbase64url(seed.trim()).ok_or("a key seed is not base64url")?;
            let seed: [u8; 32] = seed.try_into().map_err(|_| "a key seed must be 32 bytes")?;
            let pair = KeyPair::try_from_seed(Seed::new(seed))
                .map_err(|_| "a key seed must not be all zeros")?;
            if keys.iter().any(|k: &SigningKey| k.kid == kid) {
                return Err(format!("duplicate key id {kid}"));
            }
            keys.push(SigningKey {
                kid: kid.to_owned(),
                secret: pair.sk,
                public: pair.pk,
            });
        }
        if keys.is_empty() {
            return Err("at least one key is required".into());
        }
        Ok(Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        })
    }

    /// A signed access token for `user_id` in session `session_id`, signed in by password now.
    pub fn issue_access(
        &self,
        user_id: &str,
        session_id: &str,
        jti: &str,
        now: DateTime<Utc>,
    ) -> Result<String, String> {
        self.issue_access_as(
            user_id,
            session_id,
            jti,
            now,
            &Authn::password(now.timestamp()),
        )
    }

    /// A signed access token recording how the session's user authenticated (`amr`,
    /// `auth_time`).
    pub fn issue_access_as(
        &self,
        user_id: &str,
        session_id: &str,
        jti: &str,
        now: DateTime<Utc>,
        authn: &Authn,
    ) -> Result<String, String> {
        let key = &self.keys[0];
        let mut claims = Claims::new(AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            jti: jti.to_owned(),
            typ: "access".to_owned(),
            sid: session_id.to_owned(),
            amr: authn.amr.clone(),
            auth_time: Some(authn.auth_time),
        });
        claims.expiration = Some(now + Duration::seconds(ACCESS_TTL_SECONDS));
        claims.not_before = Some(now);
        claims.issued_at = Some(now);
        let header = Header::empty().with_key_id(&key.kid).with_token_type("JWT");
        Ed25519
            .token(&header, &claims, &key.secret)
            .map_err(|e| e.to_string())
    }

    /// Verifies algorithm (EdDSA only: `none` and HMAC are refused), `kid`, signature, `typ`,
    /// `iss`, `aud`, `exp` and `nbf` (with leeway). Returns the claims and the expiry.
    pub fn verify_access(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(AccessClaims, DateTime<Utc>), TokenError> {
        let untrusted = UntrustedToken::new(token).map_err(|_| TokenError::Malformed)?;
        let kid = untrusted
            .header()
            .key_id
            .as_deref()
            .ok_or(TokenError::UnknownKey)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::UnknownKey)?;
        let verified = Ed25519
            .validator::<AccessClaims>(&key.public)
            .validate(&untrusted)
            .map_err(|_| TokenError::BadSignature)?;
        let claims = verified.claims();
        let time = TimeOptions::new(Duration::seconds(LEEWAY_SECONDS), move || now);
        let exp = claims.expiration.ok_or(TokenError::MissingClaim)?;
        claims
            .validate_expiration(&time)
            .map_err(|_| TokenError::Expired)?;
        if claims.not_before.is_some() {
            claims
                .validate_maturity(&time)
                .map_err(|_| TokenError::NotYetValid)?;
        }
        let c = &claims.custom;
        if c.typ != "access" {
            return Err(TokenError::WrongType);
        }
        if c.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if c.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        if c.sub.is_empty() || c.sid.is_empty() {
            return Err(TokenError::MissingClaim);
        }
        Ok((c.clone(), exp))
    }

    /// The public keys as a JWKS document (RFC 7517, OKP/Ed25519 per RFC 8037).
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<_> = self
            .keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": "EdDSA",
                    "kid": k.kid, "x": base64url(k.public.as_ref()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    pub fn signing_kid(&self) -> &str {
        &self.keys[0].kid
    }
}

/// The kinds of opaque secret, each with its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    Refresh,
    ApiKey,
    PasswordReset,
    /// A login awaiting its second factor.
    MfaChallenge,
    /// A browser session's cookie (an opaque reference to the session row).
    SessionCookie,
    /// Restores an account during its deletion grace period.
    AccountRestore,
    /// Confirms a change of email address.
    EmailChange,
}

impl SecretKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            SecretKind::Refresh => "rt_",
            SecretKind::ApiKey => "sk_",
            SecretKind::PasswordReset => "pr_",
            SecretKind::MfaChallenge => "mc_",
            SecretKind::SessionCookie => "sc_",
            SecretKind::AccountRestore => "ar_",
            SecretKind::EmailChange => "ec_",
        }
    }
}

/// A new opaque secret: prefix + base64url of 32 random bytes (256 bits).
pub fn new_secret(kind: SecretKind, random: [u8; 32]) -> String {
    format!("{}{}", kind.prefix(), base64url(&random))
}

/// Whether `s` has the shape of a secret of `kind` (checked before any lookup).
pub fn is_secret(kind: SecretKind, s: &str) -> bool {
    s.strip_prefix(kind.prefix()).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    })
}

/// What is stored for a secret: SHA-256, hex. The secrets carry 256 bits of entropy, so a fast
/// hash is safe (no dictionary to try) and keeps per-request lookups cheap.
pub fn secret_hash(secret: &str) -> String {
    hex(&sha256(secret.as_bytes()))
}

/// The part of an API key shown in lists: prefix plus the first 8 characters.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(11).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn seed(b: u8) -> String {
        base64url(&[b; 32])
    }

    fn ring(spec: &str) -> KeyRing {
        KeyRing::parse(spec, "https://iss", "aud").unwrap()
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn the_token_records_how_the_user_authenticated() {
        let r = ring(&format!("k1:{}", seed(1)));
        let mfa = Authn::password_and_otp(t(-5).timestamp());
        let tok = r.issue_access_as("u", "s", "j", t(0), &mfa).unwrap();
        let (c, _) = r.verify_access(&tok, t(1)).unwrap();
        assert_eq!(c.authn(), mfa);
        let plain = r.issue_access("u", "s", "j", t(0)).unwrap();
        let (c, _) = r.verify_access(&plain, t(1)).unwrap();
        assert_eq!(c.authn(), Authn::password(t(0).timestamp()));
        assert!(!c.authn().has_second_factor());
    }

    #[test]
    fn issue_then_verify() {
        let r = ring(&format!("k1:{}", seed(1)));
        let tok = r.issue_access("usr_1", "ses_1", "jti1", t(0)).unwrap();
        let (c, exp) = r.verify_access(&tok, t(60)).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.sid.as_str(), c.typ.as_str()),
            ("usr_1", "ses_1", "access")
        );
        assert_eq!(exp, t(ACCESS_TTL_SECONDS));
        let header = UntrustedToken::new(&tok).unwrap();
        assert_eq!(header.algorithm(), "EdDSA");
        assert_eq!(header.header().key_id.as_deref(), Some("k1"));
    }

    #[test]
    fn expiry_and_maturity_with_leeway() {
        let r = ring(&format!("k1:{}", seed(1)));
        let tok = r.issue_access("u", "s", "j", t(0)).unwrap();
        assert!(r.verify_access(&tok, t(ACCESS_TTL_SECONDS + 29)).is_ok());
        assert_eq!(
            r.verify_access(&tok, t(ACCESS_TTL_SECONDS + 31))
                .unwrap_err(),
            TokenError::Expired
        );
        assert!(r.verify_access(&tok, t(-29)).is_ok());
        assert_eq!(
            r.verify_access(&tok, t(-31)).unwrap_err(),
            TokenError::NotYetValid
        );
    }

    #[test]
    fn rotation_previous_key_verifies_until_removed() {
        let old = ring(&format!("k1:{}", seed(1)));
        let tok = old.issue_access("u", "s", "j", t(0)).unwrap();
        let rotated = ring(&format!("k2:{},k1:{}", seed(2), seed(1)));
        assert!(rotated.verify_access(&tok, t(1)).is_ok());
        assert_eq!(rotated.signing_kid(), "k2");
        let removed = ring(&format!("k2:{}", seed(2)));
        assert_eq!(
            removed.verify_access(&tok, t(1)).unwrap_err(),
            TokenError::UnknownKey
        );
    }

    #[test]
    fn wrong_key_same_kid_is_a_bad_signature() {
        let a = ring(&format!("k1:{}", seed(1)));
        let b = ring(&format!("k1:{}", seed(9)));
        let tok = a.issue_access("u", "s", "j", t(0)).unwrap();
        assert_eq!(
            b.verify_access(&tok, t(1)).unwrap_err(),
            TokenError::BadSignature
        );
    }

    #[test]
    fn alg_none_and_tampering_are_refused() {
        let r = ring(&format!("k1:{}", seed(1)));
        let tok = r.issue_access("u", "s", "j", t(0)).unwrap();
        let parts: Vec<&str> = tok.split('.').collect();
        let none_header = base64url(br#"{"alg":"none","kid":"k1","typ":"JWT"}"#);
        let none = format!("{none_header}.{}.", parts[1]);
        assert!(r.verify_access(&none, t(1)).is_err());
        let payload = String::from_utf8(unbase64url(parts[1]).unwrap())
            .unwrap()
            .replace("\"u\"", "\"x\"");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            base64url(payload.as_bytes()),
            parts[2]
        );
        assert_eq!(
            r.verify_access(&tampered, t(1)).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(
            r.verify_access("a.b", t(1)).unwrap_err(),
            TokenError::Malformed
        );
    }

    #[test]
    fn issuer_and_audience_must_match() {
        let r = ring(&format!("k1:{}", seed(1)));
        let tok = r.issue_access("u", "s", "j", t(0)).unwrap();
        let other_aud = KeyRing::parse(&format!("k1:{}", seed(1)), "https://iss", "other").unwrap();
        assert_eq!(
            other_aud.verify_access(&tok, t(1)).unwrap_err(),
            TokenError::WrongAudience
        );
        let other_iss = KeyRing::parse(&format!("k1:{}", seed(1)), "https://evil", "aud").unwrap();
        assert_eq!(
            other_iss.verify_access(&tok, t(1)).unwrap_err(),
            TokenError::WrongIssuer
        );
    }

    #[test]
    fn key_ring_parse_errors() {
        assert!(KeyRing::parse("", "i", "a").is_err());
        assert!(KeyRing::parse("k1", "i", "a").is_err());
        assert!(KeyRing::parse("k1:AAAA", "i", "a").is_err());
        assert!(KeyRing::parse(&format!("k1:{}", base64url(&[0; 32])), "i", "a").is_err());
        assert!(KeyRing::parse(&format!("k1:{0},k1:{0}", seed(1)), "i", "a").is_err());
        assert!(KeyRing::parse(&format!("bad kid:{}", seed(1)), "i", "a").is_err());
    }

    #[test]
    fn jwks_lists_every_public_key() {
        let r = ring(&format!("k2:{},k1:{}", seed(2), seed(1)));
        let jwks = r.jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert_eq!(jwks["keys"][0]["kid"], "k2");
        assert_eq!(jwks["keys"][0]["x"].as_str().unwrap().len(), 43);
        assert!(jwks.to_string().find("\"d\"").is_none());
    }

    #[test]
    fn secrets_have_prefix_entropy_and_hash() {
        let s = new_secret(SecretKind::ApiKey, [7; 32]);
        assert!(s.starts_with("sk_") && is_secret(SecretKind::ApiKey, &s));
        assert!(!is_secret(SecretKind::Refresh, &s));
        assert!(!is_secret(SecretKind::ApiKey, "sk_short"));
        assert_eq!(secret_hash(&s).len(), 64);
        assert_eq!(display_prefix(&s).len(), 11);
    }
}
