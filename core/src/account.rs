//! The account lifecycle's rules: when an account may be deleted (never leaving an
//! organization with other members and no owner), what happens to the organizations it alone
//! belongs to, the grace period's states, and the stable pseudonym that replaces the user's
//! id in what outlives the account (audit entries, documents kept as organization data).

use crate::encoding::hex;
use crate::signature::hmac_sha256;

/// `ACCOUNT_DELETION_GRACE_SECONDS` unless set: 30 days.
pub const GRACE_DEFAULT_SECONDS: u32 = 30 * 86_400;
/// The longest grace period the variable accepts: a year.
pub const GRACE_MAX_SECONDS: u32 = 365 * 86_400;
/// How long the restore token of an `account_pending_deletion` answer lives.
pub const RESTORE_TTL_SECONDS: i64 = 15 * 60;

/// One of the user's memberships, with the organization's head counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub org_id: String,
    pub is_owner: bool,
    /// Members of the organization, the user included.
    pub members: i64,
    /// Owners of the organization, the user included if they are one.
    pub owners: i64,
}

/// What deleting the account does to its organizations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Organizations the user is the only member of: deleted with the account at the hard
    /// delete (nobody else could ever use them again).
    pub sole: Vec<String>,
    /// Organizations that live on without the user.
    pub kept: Vec<String>,
}

/// The deletion plan, or the organizations the user is the last owner of while others are
/// members (`last_owner`: they must hand ownership over first).
pub fn plan(memberships: &[Membership]) -> Result<Plan, Vec<String>> {
    let blocked: Vec<String> = memberships
        .iter()
        .filter(|m| m.is_owner && m.owners <= 1 && m.members > 1)
        .map(|m| m.org_id.clone())
        .collect();
    if !blocked.is_empty() {
        return Err(blocked);
    }
    let (sole, kept): (Vec<&Membership>, Vec<&Membership>) =
        memberships.iter().partition(|m| m.members <= 1);
    Ok(Plan {
        sole: sole.into_iter().map(|m| m.org_id.clone()).collect(),
        kept: kept.into_iter().map(|m| m.org_id.clone()).collect(),
    })
}

/// Where an account stands at `now` (unix s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    /// Deleted, restorable until `purge_at`.
    PendingDeletion {
        purge_at: i64,
    },
    /// Past its purge time (the sweep has not removed it yet): as if it did not exist.
    Gone,
}

pub fn standing(purge_at: Option<i64>, now: i64) -> Standing {
    match purge_at {
        None => Standing::Active,
        Some(p) if now < p => Standing::PendingDeletion { purge_at: p },
        Some(_) => Standing::Gone,
    }
}

/// The purge time of an account deleted at `now`.
pub fn purge_at(now: i64, grace_seconds: u32) -> i64 {
    now + i64::from(grace_seconds)
}

/// `deleted-user-<16 hex>`: an HMAC of the user id under a server key, so the same user
/// always gets the same pseudonym (entries stay linkable to each other) while nobody without
/// the key can test a guessed id against it.
pub fn pseudonym(key: &[u8], user_id: &str) -> String {
    let mac = hmac_sha256(key, &[b"deleted-user\n", user_id.as_bytes()]);
    format!("deleted-user-{}", &hex(&mac)[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(org: &str, is_owner: bool, members: i64, owners: i64) -> Membership {
        Membership {
            org_id: org.into(),
            is_owner,
            members,
            owners,
        }
    }

    #[test]
    fn the_last_owner_of_an_org_with_others_is_refused() {
        assert_eq!(
            plan(&[m("a", true, 3, 1), m("b", true, 2, 2), m("c", false, 2, 1)]),
            Err(vec!["a".to_owned()])
        );
    }

    #[test]
    fn sole_orgs_go_with_the_account_and_shared_ones_stay() {
        let p = plan(&[
            m("solo", true, 1, 1),
            m("team", true, 4, 2),
            m("x", false, 5, 1),
        ])
        .unwrap();
        assert_eq!(p.sole, vec!["solo".to_owned()]);
        assert_eq!(p.kept, vec!["team".to_owned(), "x".to_owned()]);
        assert_eq!(
            plan(&[]),
            Ok(Plan {
                sole: vec![],
                kept: vec![]
            })
        );
    }

    #[test]
    fn standing_through_the_grace_period() {
        assert_eq!(standing(None, 10), Standing::Active);
        assert_eq!(
            standing(Some(20), 19),
            Standing::PendingDeletion { purge_at: 20 }
        );
        assert_eq!(standing(Some(20), 20), Standing::Gone);
        assert_eq!(purge_at(100, 30), 130);
    }

    #[test]
    fn pseudonyms_are_stable_keyed_and_distinct() {
        let a = pseudonym(b"k1", "usr_a");
        assert_eq!(a, pseudonym(b"k1", "usr_a"));
        assert!(a.starts_with("deleted-user-") && a.len() == 13 + 16);
        assert_ne!(a, pseudonym(b"k2", "usr_a"));
        assert_ne!(a, pseudonym(b"k1", "usr_b"));
        assert!(!a.contains("usr_a"));
    }
}
