//! Opaque, prefixed, never-sequential ids: `usr_…`, `org_…`, `job_…`, … with 128 random bits.
//! Randomness comes in as an argument so ids are deterministic under test.

use crate::encoding::base32;

/// The kinds of id the API hands out, each with its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    User,
    Org,
    Document,
    File,
    ApiKey,
    Job,
    Generation,
    Invitation,
    Session,
    Request,
    Event,
    WebhookEndpoint,
    Passkey,
    Export,
}

impl IdKind {
    pub const fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "usr",
            IdKind::Org => "org",
            IdKind::Document => "doc",
            IdKind::File => "fil",
            IdKind::ApiKey => "key",
            IdKind::Job => "job",
            IdKind::Generation => "gen",
            IdKind::Invitation => "inv",
            IdKind::Session => "ses",
            IdKind::Request => "req",
            IdKind::Event => "evt",
            IdKind::WebhookEndpoint => "whe",
            IdKind::Passkey => "pky",
            IdKind::Export => "exp",
        }
    }
}

/// A new id of `kind` from 16 random bytes (128 bits: well over the 96 the contract asks).
pub fn new_id(kind: IdKind, random: [u8; 16]) -> String {
    format!("{}_{}", kind.prefix(), base32(&random))
}

/// Whether `s` has the shape of an id of `kind`; a cheap filter before any query.
pub fn is_id(kind: IdKind, s: &str) -> bool {
    let Some(rest) = s
        .strip_prefix(kind.prefix())
        .and_then(|r| r.strip_prefix('_'))
    else {
        return false;
    };
    rest.len() == 26
        && rest
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_prefixed_and_recognised() {
        let id = new_id(IdKind::Job, [7; 16]);
        assert!(id.starts_with("job_"));
        assert!(is_id(IdKind::Job, &id));
        assert!(!is_id(IdKind::Org, &id));
        assert!(!is_id(IdKind::Job, "job_../../etc"));
        assert!(!is_id(IdKind::Job, "job_"));
    }

    #[test]
    fn different_randomness_gives_different_ids() {
        assert_ne!(new_id(IdKind::Org, [1; 16]), new_id(IdKind::Org, [2; 16]));
    }
}
