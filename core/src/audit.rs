//! The audit log's hash chain: each entry's hash covers the previous entry's hash and every
//! field of the entry, so editing, deleting or reordering a stored row breaks the chain from
//! that row on. Verification names the first broken entry.
//!
//! Two formats share one chain. A v1 entry (before migration 0014) hashes every field as
//! stored. A v2 entry (`pii_digest` set) hashes its personal fields (actor id, target id, IP,
//! details) only through `pii_digest = sha256(pii_salt "\n" canonical personal fields)`: the
//! chain commits to the personal data, and while the salt is kept the fields are checked
//! against the digest. Anonymising an entry (an account's hard delete) rewrites the personal
//! fields and drops the salt: the digest, and so the chain, stay as they were, and without the
//! salt the digest reveals nothing guessable (ids and emails are low-entropy). A v1 entry that
//! has to be anonymised is marked [`V1_ANONYMISED`]: its link is still checked (its stored hash
//! and the next entry's `prev_hash`) but no longer its content.

use crate::encoding::hex;
use crate::signature::sha256;
use serde::{Deserialize, Serialize};

/// The hash the first entry of a chain links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry as stored (without its own hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub org_id: String,
    pub seq: i64,
    pub action: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub ip: Option<String>,
    pub request_id: String,
    pub details: String,
    pub created_at: String,
    /// v2: the salted digest of the personal fields; `None` for a v1 entry.
    #[serde(default)]
    pub pii_digest: Option<String>,
    /// v2: the salt of `pii_digest` (hex); `None` once anonymised.
    #[serde(default)]
    pub pii_salt: Option<String>,
}

/// The `pii_digest` of a v1 entry that was anonymised: only its link is verifiable.
pub const V1_ANONYMISED: &str = "v1-anonymised";

/// `sha256(salt "\n" canonical [actor_id, target_id, ip, details])`, hex.
pub fn personal_digest(salt: &str, e: &Entry) -> String {
    let canonical = serde_json::json!([e.actor_id, e.target_id, e.ip, e.details]).to_string();
    let mut data = Vec::with_capacity(salt.len() + 1 + canonical.len());
    data.extend_from_slice(salt.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(canonical.as_bytes());
    hex(&sha256(&data))
}

impl Entry {
    /// Makes this a v2 entry committing to its personal fields through `salt` (16 random
    /// bytes or more, as hex).
    pub fn sealed(mut self, salt: String) -> Self {
        self.pii_digest = Some(personal_digest(&salt, &self));
        self.pii_salt = Some(salt);
        self
    }

    /// Whether the personal fields still match the digest (always for v1: they are hashed
    /// directly; never checkable once anonymised).
    fn personal_fields_hold(&self) -> bool {
        match (&self.pii_digest, &self.pii_salt) {
            (Some(d), Some(salt)) => personal_digest(salt, self) == *d,
            _ => true,
        }
    }

    /// Rewrites what identifies `user_id` / `email`: the actor or target id becomes
    /// `pseudonym`, the IP of the user's own actions goes, and any string in the details that
    /// mentions the id or the email is replaced. `None` if the entry does not mention them.
    /// A v2 entry loses its salt; a v1 entry becomes [`V1_ANONYMISED`].
    pub fn anonymised(&self, user_id: &str, emails: &[&str], pseudonym: &str) -> Option<Self> {
        let mut e = self.clone();
        let mut changed = false;
        if e.actor_id.as_deref() == Some(user_id) {
            e.actor_id = Some(pseudonym.to_owned());
            e.ip = None;
            changed = true;
        }
        if e.target_id.as_deref() == Some(user_id) {
            e.target_id = Some(pseudonym.to_owned());
            changed = true;
        }
        if let Ok(mut details) = serde_json::from_str::<serde_json::Value>(&e.details) {
            if scrub(&mut details, user_id, emails, pseudonym) {
                e.details = details.to_string();
                changed = true;
            }
        }
        if !changed {
            return None;
        }
        e.pii_salt = None;
        if e.pii_digest.is_none() {
            e.pii_digest = Some(V1_ANONYMISED.to_owned());
        }
        Some(e)
    }
}

/// Replaces strings naming the user (id, or any address they had, case-insensitively) in a
/// JSON value.
fn scrub(v: &mut serde_json::Value, user_id: &str, emails: &[&str], pseudonym: &str) -> bool {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            let lower = s.to_lowercase();
            let hit_email = emails
                .iter()
                .any(|e| !e.is_empty() && lower.contains(&e.to_lowercase()));
            if hit_email {
                *s = "[deleted]".to_owned();
                true
            } else if s.contains(user_id) {
                *s = s.replace(user_id, pseudonym);
                true
            } else {
                false
            }
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |acc, x| scrub(x, user_id, emails, pseudonym) | acc),
        Value::Object(o) => o
            .values_mut()
            .fold(false, |acc, x| scrub(x, user_id, emails, pseudonym) | acc),
        _ => false,
    }
}

/// Whether a stored entry verifies after `prev`: it links, and its hash (and while its salt
/// is kept, its personal fields) match its content.
fn entry_verifies(prev: &str, s: &StoredEntry) -> bool {
    if s.prev_hash != prev {
        return false;
    }
    if s.entry.pii_digest.as_deref() == Some(V1_ANONYMISED) {
        return true;
    }
    entry_hash(prev, &s.entry) == s.hash && s.entry.personal_fields_hold()
}

/// `sha256(prev_hash "\n" canonical JSON array of the fields)`, hex. A v2 entry's array is
/// `["v2", org_id, seq, action, actor_type, target_type, request_id, created_at, pii_digest]`.
pub fn entry_hash(prev_hash: &str, e: &Entry) -> String {
    let canonical = match &e.pii_digest {
        Some(digest) => serde_json::json!([
            "v2",
            e.org_id,
            e.seq,
            e.action,
            e.actor_type,
            e.target_type,
            e.request_id,
            e.created_at,
            digest
        ]),
        None => serde_json::json!([
            e.org_id,
            e.seq,
            e.action,
            e.actor_type,
            e.actor_id,
            e.target_type,
            e.target_id,
            e.ip,
            e.request_id,
            e.details,
            e.created_at
        ]),
    }
    .to_string();
    let mut data = Vec::with_capacity(prev_hash.len() + 1 + canonical.len());
    data.extend_from_slice(prev_hash.as_bytes());
    data.push(b'\n');
    data.extend_from_slice(canonical.as_bytes());
    hex(&sha256(&data))
}

/// A stored row: the entry plus its chain fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEntry {
    #[serde(flatten)]
    pub entry: Entry,
    pub prev_hash: String,
    pub hash: String,
}

/// Checks a chain given oldest first (seq 1, 2, …). `Err(seq)` names the first entry that does
/// not link or whose hash does not match its content.
pub fn verify_chain(entries: &[StoredEntry]) -> Result<(), i64> {
    let mut prev = GENESIS.to_owned();
    for (expected_seq, s) in (1..).zip(entries) {
        if s.entry.seq != expected_seq || !entry_verifies(&prev, s) {
            return Err(s.entry.seq);
        }
        prev = s.hash.clone();
    }
    Ok(())
}

/// Entries read per page by `…/audit-log/verify` unless `AUDIT_VERIFY_PAGE_SIZE` says
/// otherwise (1 to [`VERIFY_PAGE_MAX`]).
pub const VERIFY_PAGE: usize = 500;
pub const VERIFY_PAGE_MAX: usize = 1_000;

/// The verification page size from its variable (default, or clamped to 1..=max).
pub fn verify_page_size(raw: Option<&str>) -> usize {
    raw.and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(VERIFY_PAGE, |n| n.clamp(1, VERIFY_PAGE_MAX))
}

/// [`verify_chain`] one keyset page at a time (pages of `seq > after_seq()`, oldest first),
/// carrying the previous entry's hash and the expected `seq` across pages, so a chain of any
/// length is verified in bounded memory with the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagedVerify {
    prev: String,
    next_seq: i64,
    last_seq: Option<i64>,
    /// Entries read so far.
    pub entries: u64,
    /// The hash of the last entry read.
    pub head: Option<String>,
    /// The first entry that did not verify.
    pub broken: Option<i64>,
}

impl Default for PagedVerify {
    fn default() -> Self {
        Self {
            prev: GENESIS.to_owned(),
            next_seq: 1,
            last_seq: None,
            entries: 0,
            head: None,
            broken: None,
        }
    }
}

impl PagedVerify {
    /// The keyset position of the next page: entries with a greater `seq` than the last one
    /// read (`i64::MIN` before the first page, so a stray `seq` 0 or below is read too).
    pub fn after_seq(&self) -> i64 {
        self.last_seq.unwrap_or(i64::MIN)
    }

    /// Checks the next page. `true` if another page must be read: this one was full
    /// (`page_size` entries) and the chain is intact so far.
    pub fn feed(&mut self, page: &[StoredEntry], page_size: usize) -> bool {
        for s in page {
            self.entries += 1;
            self.head = Some(s.hash.clone());
            self.last_seq = Some(s.entry.seq);
            if self.broken.is_some() {
                continue;
            }
            if s.entry.seq != self.next_seq || !entry_verifies(&self.prev, s) {
                self.broken = Some(s.entry.seq);
                continue;
            }
            self.prev = s.hash.clone();
            self.next_seq += 1;
        }
        self.broken.is_none() && page.len() >= page_size
    }

    pub fn result(&self) -> Result<(), i64> {
        self.broken.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<StoredEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let entry = Entry {
                    org_id: "org_1".into(),
                    seq,
                    action: format!("action.{seq}"),
                    actor_type: "user".into(),
                    actor_id: Some("usr_1".into()),
                    target_type: None,
                    target_id: None,
                    ip: Some("127.0.0.1".into()),
                    request_id: "r".into(),
                    details: "{}".into(),
                    created_at: "2026-01-01T00:00:00.000Z".into(),
                    pii_digest: None,
                    pii_salt: None,
                };
                let entry = if seq % 2 == 0 {
                    entry.sealed(format!("salt{seq}"))
                } else {
                    entry
                };
                let hash = entry_hash(&prev, &entry);
                let s = StoredEntry {
                    entry,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                s
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(()));
        assert_eq!(verify_chain(&[]), Ok(()));
    }

    #[test]
    fn an_edited_field_is_found() {
        let mut c = chain(5);
        c[2].entry.actor_id = Some("usr_evil".into());
        assert_eq!(verify_chain(&c), Err(3));
    }

    #[test]
    fn a_deleted_or_reordered_row_is_found() {
        let mut c = chain(5);
        c.remove(1);
        assert_eq!(verify_chain(&c), Err(3));
        let mut c = chain(3);
        c.swap(0, 1);
        assert_eq!(verify_chain(&c), Err(2));
    }

    #[test]
    fn recomputing_one_hash_still_breaks_the_next_link() {
        let mut c = chain(4);
        c[1].entry.action = "edited".into();
        c[1].hash = entry_hash(&c[1].prev_hash, &c[1].entry);
        assert_eq!(verify_chain(&c), Err(3));
    }

    /// Verifies `c` in pages of `n` the way the handler reads them (keyset on `seq`).
    fn paged(c: &[StoredEntry], n: usize) -> (PagedVerify, usize) {
        let mut v = PagedVerify::default();
        let mut pages = 0;
        loop {
            let page: Vec<StoredEntry> = c
                .iter()
                .filter(|s| s.entry.seq > v.after_seq())
                .take(n)
                .cloned()
                .collect();
            pages += 1;
            if !v.feed(&page, n) {
                return (v, pages);
            }
        }
    }

    #[test]
    fn paged_verification_gives_the_whole_chain_answer() {
        for n in [1, 2, 3, 5, 7, 500] {
            let c = chain(7);
            let (v, pages) = paged(&c, n);
            assert_eq!(v.result(), verify_chain(&c), "page {n}");
            assert_eq!(v.entries, 7);
            assert_eq!(v.head.as_deref(), Some(c[6].hash.as_str()));
            // Full pages, then one short (possibly empty) page.
            assert_eq!(pages, 7 / n + 1, "page {n}");
        }
        let (v, _) = paged(&[], 3);
        assert_eq!((v.result(), v.entries, v.head), (Ok(()), 0, None));
        // A stray row before seq 1 is read (and refused) like the whole-chain check does.
        let mut c = chain(3);
        c[0].entry.seq = 0;
        assert_eq!(paged(&c, 2).0.result(), verify_chain(&c));
    }

    #[test]
    fn paged_verification_carries_the_link_across_pages() {
        // A broken link exactly at a page boundary (seq 3 opens the second page of 2).
        let mut c = chain(6);
        c[2].prev_hash = GENESIS.to_owned();
        c[2].hash = entry_hash(GENESIS, &c[2].entry);
        let (v, _) = paged(&c, 2);
        assert_eq!(v.result(), Err(3));
        assert_eq!(v.result(), verify_chain(&c));
        // An edit on a later page, and a deleted row.
        let mut c = chain(6);
        c[4].entry.action = "edited".into();
        assert_eq!(paged(&c, 2).0.result(), Err(5));
        let mut c = chain(6);
        c.remove(3);
        assert_eq!(paged(&c, 2).0.result(), verify_chain(&c));
        assert_eq!(paged(&c, 2).0.result(), Err(5));
    }

    #[test]
    fn anonymising_keeps_the_chain_verifiable() {
        let mut c = chain(6);
        for s in &mut c {
            s.entry.details = r#"{"email":"Ann@Example.com","note":["by usr_1"]}"#.into();
            if s.entry.pii_digest.is_some() {
                s.entry = s.entry.clone().sealed("salt".into());
            }
        }
        // Rehash the chain with the new details.
        let mut prev = GENESIS.to_owned();
        for s in &mut c {
            s.prev_hash = prev.clone();
            s.hash = entry_hash(&prev, &s.entry);
            prev = s.hash.clone();
        }
        assert_eq!(verify_chain(&c), Ok(()));
        for s in &mut c {
            s.entry = s
                .entry
                .anonymised("usr_1", &["ann@example.com"], "deleted-user-x")
                .unwrap();
            assert_eq!(s.entry.actor_id.as_deref(), Some("deleted-user-x"));
            assert_eq!(s.entry.ip, None);
            assert!(!s.entry.details.contains("usr_1"), "{}", s.entry.details);
            assert!(!s.entry.details.to_lowercase().contains("ann@"));
            assert_eq!(s.entry.pii_salt, None);
        }
        assert_eq!(c[0].entry.pii_digest.as_deref(), Some(V1_ANONYMISED));
        assert_eq!(verify_chain(&c), Ok(()));
        assert_eq!(paged(&c, 2).0.result(), Ok(()));
        // Not about the user: left alone.
        assert_eq!(
            c[1].entry.anonymised("usr_2", &["bob@example.com"], "p"),
            None
        );
        // Anonymised entries still link: a removed one is found.
        let mut d = c.clone();
        d.remove(2);
        assert_eq!(verify_chain(&d), Err(4));
        // A v2 entry's non-personal fields are still hashed.
        let mut d = c.clone();
        d[1].entry.action = "edited".into();
        assert_eq!(verify_chain(&d), Err(2));
    }

    #[test]
    fn a_v2_entry_with_its_salt_checks_its_personal_fields() {
        let mut c = chain(4);
        assert_eq!(verify_chain(&c), Ok(()));
        c[1].entry.actor_id = Some("usr_evil".into());
        assert_eq!(verify_chain(&c), Err(2));
        let mut c = chain(4);
        c[3].entry.details = r#"{"x":1}"#.into();
        assert_eq!(verify_chain(&c), Err(4));
    }

    #[test]
    fn page_size_variable() {
        assert_eq!(verify_page_size(None), VERIFY_PAGE);
        assert_eq!(verify_page_size(Some(" 3 ")), 3);
        assert_eq!(verify_page_size(Some("0")), 1);
        assert_eq!(verify_page_size(Some("99999")), VERIFY_PAGE_MAX);
        assert_eq!(verify_page_size(Some("x")), VERIFY_PAGE);
    }
}
