//! Passkeys (WebAuthn Level 3): the options of both ceremonies, and every check of what the
//! browser sends back (client data, authenticator data, attestation object, COSE keys, the
//! signature's form, the counter rule). Pure: the glue stores challenges and credentials,
//! looks them up by what these functions return, and verifies the signature with WebCrypto.
//!
//! Attestation is `none`: a statement in another format is accepted and ignored (we do not
//! vouch for authenticator models). User verification is required in both ceremonies.

pub mod cbor;
pub mod cose;
pub mod data;
pub mod der;

use crate::encoding::{base64url, unbase64url};
use crate::problem::ApiError;
use crate::signature::sha256;
use cose::PublicKey;
use data::{AuthData, ClientData};
use serde_json::{json, Value as Json};

/// Random bytes in a challenge.
pub const CHALLENGE_BYTES: usize = 32;
/// How long a challenge can be answered.
pub const CHALLENGE_TTL_SECONDS: i64 = 5 * 60;
/// The `timeout` the browser is given (ms): the challenge's lifetime.
pub const TIMEOUT_MS: i64 = CHALLENGE_TTL_SECONDS * 1000;
/// Passkeys one user may hold.
pub const MAX_PER_USER: usize = 20;
/// Longest passkey name.
pub const MAX_NAME: usize = 64;

/// What a challenge was issued for: it answers only that ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Adding a passkey to the signed-in user.
    Register,
    /// Signing in with a passkey.
    Authenticate,
    /// A signed-in session proving a passkey again.
    StepUp,
}

impl Ceremony {
    pub fn as_str(self) -> &'static str {
        match self {
            Ceremony::Register => "register",
            Ceremony::Authenticate => "authenticate",
            Ceremony::StepUp => "step_up",
        }
    }

    /// The `type` its client data must carry.
    pub fn client_type(self) -> &'static str {
        match self {
            Ceremony::Register => "webauthn.create",
            Ceremony::Authenticate | Ceremony::StepUp => "webauthn.get",
        }
    }
}

/// The relying party: its id (a registrable domain, `localhost` in development), its name and
/// the exact origins pages may run the ceremonies from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// From `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME` and `WEBAUTHN_ORIGINS` (comma separated).
    pub fn parse(id: &str, name: &str, origins: &str) -> Result<RelyingParty, &'static str> {
        let id = id.trim().to_ascii_lowercase();
        let host_like = !id.is_empty()
            && id.len() <= 253
            && id.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        let ip = id.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit()));
        if !host_like || ip {
            return Err("must be a domain name (an IP address cannot be an RP id)");
        }
        let origins: Vec<String> = origins
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins
            .iter()
            .any(|o| !(o.starts_with("https://") || o.starts_with("http://localhost")))
        {
            return Err("origins must be https:// (or http://localhost for development)");
        }
        let name = name.trim();
        Ok(RelyingParty {
            id,
            name: if name.is_empty() {
                "Edge API".into()
            } else {
                name.to_owned()
            },
            origins,
        })
    }

    fn rp_id_hash(&self) -> [u8; 32] {
        sha256(self.id.as_bytes())
    }
}

/// Why a ceremony's answer was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A part does not parse (its name).
    Malformed(&'static str),
    /// A key of a type or algorithm we do not accept.
    UnsupportedKey,
    /// `clientDataJSON.type` is not this ceremony's.
    Type,
    /// The challenge is not a live one of this ceremony (unknown, expired, used).
    Challenge,
    /// The page's origin is not an allowed one (or the call was cross-origin).
    Origin,
    /// The authenticator data is for another RP id.
    RpId,
    UserPresence,
    UserVerification,
    /// The credential is not registered (or not the user's).
    UnknownCredential,
    Signature,
    /// The counter did not increase: a cloned authenticator.
    SignCount,
    /// `userHandle` names another user than the credential's.
    UserHandle,
}

impl Failure {
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::Malformed(_) => "malformed",
            Failure::UnsupportedKey => "unsupported_key",
            Failure::Type => "type",
            Failure::Challenge => "challenge",
            Failure::Origin => "origin",
            Failure::RpId => "rp_id",
            Failure::UserPresence => "user_presence",
            Failure::UserVerification => "user_verification",
            Failure::UnknownCredential => "unknown_credential",
            Failure::Signature => "signature",
            Failure::SignCount => "sign_count",
            Failure::UserHandle => "user_handle",
        }
    }

    fn detail(&self) -> String {
        match self {
            Failure::Malformed(part) => format!("The {part} does not parse."),
            Failure::UnsupportedKey => {
                "The credential's key is not ES256 (P-256), EdDSA (Ed25519) or RS256.".into()
            }
            Failure::Type => "The client data is not of this ceremony.".into(),
            Failure::Challenge => {
                "The challenge is unknown, expired or already used: ask for new options.".into()
            }
            Failure::Origin => "The ceremony ran on an origin this API does not allow.".into(),
            Failure::RpId => "The authenticator data is for another relying party.".into(),
            Failure::UserPresence => "The authenticator did not test user presence.".into(),
            Failure::UserVerification => "The authenticator did not verify the user.".into(),
            Failure::UnknownCredential => "This passkey is not registered here.".into(),
            Failure::Signature => "The signature does not verify.".into(),
            Failure::SignCount => "The signature counter did not increase: this passkey may \
                                   have been cloned, so it is refused."
                .into(),
            Failure::UserHandle => "The user handle does not belong to this passkey.".into(),
        }
    }

    /// 400 for what does not parse, 403 for what does not verify; code `webauthn_failed`
    /// with the reason in `reason`.
    pub fn problem(&self) -> ApiError {
        let status = match self {
            Failure::Malformed(_) | Failure::UnsupportedKey => 400,
            _ => 403,
        };
        ApiError::new(status, "webauthn_failed", "Passkey refused", self.detail())
            .with_extension("reason", json!(self.reason()))
    }
}

/// The client data checked against the ceremony and the allowed origins; returns the
/// challenge it answers (the glue takes it once, for this ceremony).
pub fn check_client_data(
    bytes: &[u8],
    ceremony: Ceremony,
    rp: &RelyingParty,
) -> Result<Vec<u8>, Failure> {
    let c = ClientData::parse(bytes)?;
    if c.kind != ceremony.client_type() {
        return Err(Failure::Type);
    }
    if c.cross_origin == Some(true) || !rp.origins.contains(&c.origin) {
        return Err(Failure::Origin);
    }
    let challenge = unbase64url(&c.challenge)
        .filter(|b| b.len() == CHALLENGE_BYTES && base64url(b) == c.challenge)
        .ok_or(Failure::Challenge)?;
    Ok(challenge)
}

/// RP id hash, user presence and user verification.
fn check_auth_data(ad: &AuthData, rp: &RelyingParty) -> Result<(), Failure> {
    if ad.rp_id_hash != rp.rp_id_hash() {
        return Err(Failure::RpId);
    }
    if !ad.has(data::UP) {
        return Err(Failure::UserPresence);
    }
    if !ad.has(data::UV) {
        return Err(Failure::UserVerification);
    }
    Ok(())
}

/// A verified registration: what to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub challenge: Vec<u8>,
    pub credential: data::AttestedCredential,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// Checks a `RegistrationResponseJSON`'s parts. `raw_id` is the credential id the browser
/// reported: it must be the attested one.
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    raw_id: &[u8],
    rp: &RelyingParty,
) -> Result<Registration, Failure> {
    let challenge = check_client_data(client_data_json, Ceremony::Register, rp)?;
    let ad = AuthData::parse(&data::attestation_auth_data(attestation_object)?)?;
    check_auth_data(&ad, rp)?;
    let credential = ad
        .credential
        .clone()
        .ok_or(Failure::Malformed("attested credential data"))?;
    if credential.id != raw_id {
        return Err(Failure::Malformed("credential id"));
    }
    Ok(Registration {
        challenge,
        credential,
        sign_count: ad.sign_count,
        backup_eligible: ad.has(data::BE),
        backed_up: ad.has(data::BS),
    })
}

/// An assertion whose parts passed every check but the signature, which the glue verifies
/// with WebCrypto: `key`'s algorithm over `signed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    pub challenge: Vec<u8>,
    pub sign_count: u32,
    pub backed_up: bool,
    /// `authenticatorData ‖ SHA-256(clientDataJSON)`.
    pub signed: Vec<u8>,
    /// The signature in the form WebCrypto verifies.
    pub signature: Vec<u8>,
}

/// Checks an `AuthenticationResponseJSON`'s parts against the stored key and counter.
pub fn check_assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    ceremony: Ceremony,
    key: &PublicKey,
    rp: &RelyingParty,
) -> Result<Assertion, Failure> {
    let challenge = check_client_data(client_data_json, ceremony, rp)?;
    let ad = AuthData::parse(authenticator_data)?;
    check_auth_data(&ad, rp)?;
    let signature = key
        .webcrypto_signature(signature)
        .ok_or(Failure::Signature)?;
    let mut signed = authenticator_data.to_vec();
    signed.extend_from_slice(&sha256(client_data_json));
    Ok(Assertion {
        challenge,
        sign_count: ad.sign_count,
        backed_up: ad.has(data::BS),
        signed,
        signature,
    })
}

/// The counter rule (WebAuthn §7.2 step 22): when either count is non-zero the new one must be
/// greater; authenticators without a counter send zero every time.
pub fn counter(stored: u32, new: u32) -> Result<(), Failure> {
    if (stored == 0 && new == 0) || new > stored {
        Ok(())
    } else {
        Err(Failure::SignCount)
    }
}

/// The transports a browser reported, kept only if known (at most 8).
pub fn transports(given: &[String]) -> Vec<String> {
    const KNOWN: [&str; 6] = ["usb", "nfc", "ble", "smart-card", "hybrid", "internal"];
    let mut out: Vec<String> = Vec::new();
    for t in given {
        if KNOWN.contains(&t.as_str()) && !out.contains(t) && out.len() < 8 {
            out.push(t.clone());
        }
    }
    out
}

/// A credential a list of options names: its id (base64url) and transports.
pub struct Descriptor<'a> {
    pub id: &'a str,
    pub transports: Vec<String>,
}

fn descriptors(list: &[Descriptor<'_>]) -> Json {
    Json::Array(
        list.iter()
            .map(|d| json!({"type": "public-key", "id": d.id, "transports": d.transports}))
            .collect(),
    )
}

/// `PublicKeyCredentialCreationOptionsJSON` for the user's opaque `handle`.
pub fn creation_options(
    rp: &RelyingParty,
    handle: &[u8],
    name: &str,
    display_name: &str,
    challenge: &[u8],
    exclude: &[Descriptor<'_>],
) -> Json {
    json!({
        "challenge": base64url(challenge),
        "rp": {"id": rp.id, "name": rp.name},
        "user": {"id": base64url(handle), "name": name, "displayName": display_name},
        "pubKeyCredParams": cose::ALGORITHMS
            .iter()
            .map(|alg| json!({"type": "public-key", "alg": alg}))
            .collect::<Vec<_>>(),
        "timeout": TIMEOUT_MS,
        "excludeCredentials": descriptors(exclude),
        "authenticatorSelection": {
            "residentKey": "required", "requireResidentKey": true, "userVerification": "required",
        },
        "attestation": "none",
        "hints": [],
        "extensions": {"credProps": true},
    })
}

/// `PublicKeyCredentialRequestOptionsJSON`: an empty `allow` lets the browser offer any
/// discoverable passkey of the RP.
pub fn request_options(rp: &RelyingParty, challenge: &[u8], allow: &[Descriptor<'_>]) -> Json {
    json!({
        "challenge": base64url(challenge),
        "rpId": rp.id,
        "timeout": TIMEOUT_MS,
        "allowCredentials": descriptors(allow),
        "userVerification": "required",
        "hints": [],
    })
}

/// A passkey name: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub fn name(given: &str) -> Result<String, &'static str> {
    let n = given.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        Err("must be 1 to 64 characters, none of them control characters")
    } else {
        Ok(n.to_owned())
    }
}

#[cfg(test)]
mod tests;
