//! Where a request aimed at an organization is counted, so that every authenticated request
//! counts against its caller's own limit wherever it is aimed, and an organization's `TENANT`
//! object only ever hears of its own members' (and its own keys') requests.
//!
//! - A user known (from this isolate's recent answers) to be a member: the membership read and
//!   the count in the organization's object run in parallel, as the hot path always did.
//! - A user not known to be a member: the membership read comes first; a member is then
//!   counted in the organization's object (one round trip more, once per isolate, user and
//!   organization per [`MEMBER_TTL_MS`]); anyone else is counted in their own per-user bucket
//!   and gets 404 (429 over its limit), and the organization's object is never touched.
//! - An API key aimed at another organization (or at an id that is not one): counted in its
//!   own organization's object under its own key, then 404 (429 over its limit).

use std::collections::HashMap;

/// How long a confirmed membership is trusted for choosing the parallel path. Only the path:
/// the membership itself is read on every request, so a removed member is refused at once
/// (and that answer forgets the entry).
pub const MEMBER_TTL_MS: i64 = 10 * 60 * 1000;
/// At most this many memberships remembered per isolate (then the cache starts over).
pub const MEMBER_CACHE_MAX: usize = 10_000;

/// How a request aimed at an organization is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counting {
    /// Membership read and count in the organization's object at the same time.
    Parallel,
    /// Membership read first; the organization's object only for a member.
    MembershipFirst,
    /// Not this organization's caller (a key of another one, or not an organization id):
    /// counted in the caller's own bucket, answered 404 (or 429).
    OwnBucket,
}

/// The caller as the counting decision sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    /// An API key of organization `org`.
    Key { org: &'a str },
    /// A user, `known_member` of the target from a recent answer.
    User { known_member: bool },
}

/// How to count a request of `caller` aimed at `target` (`target_is_org_id`: it has the
/// shape of an organization id).
pub fn counting(caller: Caller<'_>, target: &str, target_is_org_id: bool) -> Counting {
    if !target_is_org_id {
        return Counting::OwnBucket;
    }
    match caller {
        Caller::Key { org } if org == target => Counting::Parallel,
        Caller::Key { .. } => Counting::OwnBucket,
        Caller::User { known_member: true } => Counting::Parallel,
        Caller::User {
            known_member: false,
        } => Counting::MembershipFirst,
    }
}

/// Memberships confirmed recently: `(user, org)` → when confirmed (ms).
#[derive(Debug, Default)]
pub struct MemberCache {
    seen: HashMap<(String, String), i64>,
}

impl MemberCache {
    pub fn is_known(&self, user: &str, org: &str, now_ms: i64) -> bool {
        self.seen
            .get(&(user.to_owned(), org.to_owned()))
            .is_some_and(|at| now_ms >= *at && now_ms - at < MEMBER_TTL_MS)
    }

    pub fn remember(&mut self, user: &str, org: &str, now_ms: i64) {
        if self.seen.len() >= MEMBER_CACHE_MAX {
            self.seen.clear();
        }
        self.seen.insert((user.to_owned(), org.to_owned()), now_ms);
    }

    pub fn forget(&mut self, user: &str, org: &str) {
        self.seen.remove(&(user.to_owned(), org.to_owned()));
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_and_own_keys_reach_the_organization_in_parallel() {
        let org = "org_b";
        assert_eq!(
            counting(Caller::Key { org: "org_b" }, org, true),
            Counting::Parallel
        );
        assert_eq!(
            counting(Caller::Key { org: "org_a" }, org, true),
            Counting::OwnBucket
        );
        assert_eq!(
            counting(Caller::User { known_member: true }, org, true),
            Counting::Parallel
        );
        assert_eq!(
            counting(
                Caller::User {
                    known_member: false
                },
                org,
                true
            ),
            Counting::MembershipFirst
        );
        // Not an organization id: nobody's object is touched, whoever asks.
        for caller in [
            Caller::Key { org: "x" },
            Caller::User { known_member: true },
            Caller::User {
                known_member: false,
            },
        ] {
            assert_eq!(counting(caller, "x", false), Counting::OwnBucket);
        }
    }

    #[test]
    fn memberships_are_remembered_for_a_while_and_forgotten_on_refusal() {
        let mut c = MemberCache::default();
        assert!(!c.is_known("u", "o", 0));
        c.remember("u", "o", 1_000);
        assert!(c.is_known("u", "o", 1_000));
        assert!(c.is_known("u", "o", 1_000 + MEMBER_TTL_MS - 1));
        assert!(!c.is_known("u", "o", 1_000 + MEMBER_TTL_MS));
        assert!(!c.is_known("u", "other", 1_000));
        assert!(!c.is_known("v", "o", 1_000));
        // A clock that went backwards trusts nothing.
        assert!(!c.is_known("u", "o", 999));
        c.forget("u", "o");
        assert!(!c.is_known("u", "o", 1_000));
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = MemberCache::default();
        for i in 0..MEMBER_CACHE_MAX {
            c.remember(&format!("u{i}"), "o", 0);
        }
        assert_eq!(c.len(), MEMBER_CACHE_MAX);
        c.remember("one-more", "o", 0);
        assert_eq!(c.len(), 1);
        assert!(c.is_known("one-more", "o", 0));
    }
}
