//! The audit log's hash chain: each entry's hash covers the previous entry's hash and every
//! field of the entry, so editing, deleting or reordering a stored row breaks the chain from
//! that row on. Verification names the first broken entry.

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
}

/// `sha256(prev_hash "\n" canonical JSON array of the fields)`, hex.
pub fn entry_hash(prev_hash: &str, e: &Entry) -> String {
    let canonical = serde_json::json!([
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
    ])
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
        if s.entry.seq != expected_seq
            || s.prev_hash != prev
            || entry_hash(&prev, &s.entry) != s.hash
        {
            return Err(s.entry.seq);
        }
        prev = s.hash.clone();
    }
    Ok(())
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
}
