//! Removing stored data for good: the rules of an R2 purge (everything under one prefix: a
//! deleted organization's `orgs/{org_id}/` or a removed account's `users/{user_id}/`), which
//! is recorded in D1 in the same batch as the deletion and then worked off — by the deleting
//! request, then by the sweep — until R2 has nothing left under the prefix.
//!
//! A purge is done only when a listing of the prefix came back empty, no open multipart
//! upload of it is left to abort, and it is older than [`GRACE_S`]: an upload that was
//! already streaming when the organization went can still land its object after the first
//! empty listing, so the prefix is listed again on later sweeps until no request that
//! started before the deletion can still be writing.

use crate::ids::{self, IdKind};

/// How long after the deletion the prefix is still re-listed. Uploads in flight are bounded
/// by the upload lease (2 h, after which the sweep treats them as abandoned).
pub const GRACE_S: i64 = 2 * 3600 + 600;
/// Objects deleted per listing page (R2 lists and deletes at most 1,000 keys per call).
pub const PAGE: u32 = 1000;
/// Listing pages one run works through before leaving the rest to the next run, so a huge
/// prefix never holds one request or one sweep for long.
pub const PAGES_PER_RUN: u32 = 20;
/// Failed aborts of one multipart upload before it is forgotten (R2's default lifecycle rule
/// aborts incomplete uploads after 7 days anyway).
pub const MAX_ABORT_ATTEMPTS: i64 = 50;

/// The R2 prefix of an organization's data, `orgs/{org_id}/` (only for a real org id, so no
/// value can widen the prefix to other tenants).
pub fn org_prefix(org_id: &str) -> Option<String> {
    ids::is_id(IdKind::Org, org_id).then(|| format!("orgs/{org_id}/"))
}

/// Whether `prefix` is one this module purges: one organization's `orgs/{org_id}/` or one
/// user's `users/{user_id}/` (their account exports), for a real id, never wider.
pub fn is_purgeable(prefix: &str) -> bool {
    let one = |root: &str, kind: IdKind| {
        prefix
            .strip_prefix(root)
            .and_then(|p| p.strip_suffix('/'))
            .is_some_and(|id| ids::is_id(kind, id))
    };
    one("orgs/", IdKind::Org) || one("users/", IdKind::User)
}

/// Whether a key lies under a prefix this module would purge (a guard before any delete).
pub fn is_under(prefix: &str, key: &str) -> bool {
    is_purgeable(prefix) && key.starts_with(prefix)
}

/// What to do with one recorded open multipart upload after an abort attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortOutcome {
    /// Aborted now, or R2 no longer knows it (aborted or completed earlier): forget it.
    Forget,
    /// R2 failed: keep it and try again on the next run.
    Retry,
}

/// The outcome of aborting an upload: `error` is R2's error text (`None` on success),
/// `attempts` the failed attempts so far including this one.
pub fn abort_outcome(error: Option<&str>, attempts: i64) -> AbortOutcome {
    let Some(text) = error else {
        return AbortOutcome::Forget;
    };
    let t = text.to_ascii_lowercase();
    let unknown = [
        "nosuchupload",
        "does not exist",
        "not found",
        "no such upload",
    ]
    .iter()
    .any(|s| t.contains(s));
    if unknown || attempts >= MAX_ABORT_ATTEMPTS {
        AbortOutcome::Forget
    } else {
        AbortOutcome::Retry
    }
}

/// Whether a purge is finished: the last listing was empty, no upload is left to abort, and
/// the grace period for uploads in flight has passed.
pub fn is_done(listed_empty: bool, uploads_left: usize, age_s: i64) -> bool {
    listed_empty && uploads_left == 0 && age_s >= GRACE_S
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_only_for_real_org_ids() {
        let org = crate::ids::new_id(IdKind::Org, [7u8; 16]);
        assert_eq!(org_prefix(&org), Some(format!("orgs/{org}/")));
        for bad in [
            "",
            "org_",
            "../x",
            "org_a/b",
            "usr_0123456789abcdef0123456789",
            "*",
        ] {
            assert_eq!(org_prefix(bad), None, "{bad}");
        }
    }

    #[test]
    fn keys_outside_the_prefix_are_never_purged() {
        let org = crate::ids::new_id(IdKind::Org, [7u8; 16]);
        let p = org_prefix(&org).unwrap_or_default();
        assert!(is_under(&p, &format!("{p}files/fil_b")));
        assert!(!is_under(&p, &format!("orgs/{org}x/files/fil_b")));
        assert!(!is_under(&p, "bench/x"));
        for wide in ["", "orgs/", "orgs", "bench/", &format!("orgs/{org}")] {
            assert!(!is_under(wide, &format!("{p}files/fil_b")), "{wide}");
        }
        let user = crate::ids::new_id(IdKind::User, [8u8; 16]);
        let u = crate::account_export::user_prefix(&user).unwrap_or_default();
        assert!(is_purgeable(&u));
        assert!(is_under(&u, &format!("{u}exports/exp_x.json")));
        for wide in [
            "users/",
            "users//",
            &format!("users/{org}/"),
            &format!("orgs/{user}/"),
        ] {
            assert!(!is_purgeable(wide), "{wide}");
        }
    }

    #[test]
    fn aborts_are_retried_until_r2_forgets_the_upload() {
        assert_eq!(abort_outcome(None, 0), AbortOutcome::Forget);
        assert_eq!(
            abort_outcome(
                Some("NoSuchUpload: The specified multipart upload does not exist"),
                1
            ),
            AbortOutcome::Forget
        );
        assert_eq!(
            abort_outcome(Some("internal error (10001)"), 1),
            AbortOutcome::Retry
        );
        assert_eq!(
            abort_outcome(Some("internal error"), MAX_ABORT_ATTEMPTS),
            AbortOutcome::Forget
        );
    }

    #[test]
    fn a_purge_ends_only_when_empty_and_past_the_grace_period() {
        assert!(is_done(true, 0, GRACE_S));
        assert!(!is_done(true, 0, GRACE_S - 1), "uploads may still land");
        assert!(!is_done(false, 0, GRACE_S * 10), "objects left");
        assert!(!is_done(true, 1, GRACE_S * 10), "an upload is still open");
    }
}
