//! The audit hash chain against values computed outside this crate (Python's `hashlib` and
//! `json.dumps(…, separators=(",", ":"))` over the documented canonical array), and tampering
//! with every field of an entry in turn.

use edge_core::audit::{entry_hash, verify_chain, Entry, StoredEntry, GENESIS};

fn first() -> Entry {
    Entry {
        org_id: "org_kat".into(),
        seq: 1,
        action: "org.created".into(),
        actor_type: "user".into(),
        actor_id: Some("usr_kat".into()),
        target_type: Some("org".into()),
        target_id: Some("org_kat".into()),
        ip: Some("203.0.113.7".into()),
        request_id: "req-1".into(),
        details: r#"{"name":"Acme"}"#.into(),
        created_at: "2026-01-02T03:04:05.678Z".into(),
        pii_digest: None,
        pii_salt: None,
    }
}

fn second() -> Entry {
    Entry {
        org_id: "org_kat".into(),
        seq: 2,
        action: "member.removed".into(),
        actor_type: "api_key".into(),
        actor_id: None,
        target_type: None,
        target_id: None,
        ip: None,
        request_id: "req-2".into(),
        details: "{}".into(),
        created_at: "2026-01-02T03:04:06.000Z".into(),
        pii_digest: None,
        pii_salt: None,
    }
}

const FIRST_HASH: &str = "8681980122a3021098675456dbf453a204634fae52f5247ac1146ebaac4c584e";
const SECOND_HASH: &str = "4e2ece063c82bcc41f6f106d9e4df35c698aa362e937ba0fd952f1a35b29c350";

fn chain() -> Vec<StoredEntry> {
    vec![
        StoredEntry {
            entry: first(),
            prev_hash: GENESIS.into(),
            hash: FIRST_HASH.into(),
        },
        StoredEntry {
            entry: second(),
            prev_hash: FIRST_HASH.into(),
            hash: SECOND_HASH.into(),
        },
    ]
}

#[test]
fn known_answer_vectors() {
    assert_eq!(GENESIS, "0".repeat(64));
    assert_eq!(entry_hash(GENESIS, &first()), FIRST_HASH);
    assert_eq!(entry_hash(FIRST_HASH, &second()), SECOND_HASH);
    assert_eq!(verify_chain(&chain()), Ok(()));
}

/// Every field of an entry is covered: changing any one of them (and nothing else) breaks
/// the chain at that entry.
#[test]
fn every_field_is_covered_by_the_hash() {
    type Tamper = fn(&mut Entry);
    let tampers: [(&str, Tamper); 11] = [
        ("org_id", |e| e.org_id = "org_other".into()),
        ("seq", |e| e.seq += 10),
        ("action", |e| e.action = "member.added".into()),
        ("actor_type", |e| e.actor_type = "anonymous".into()),
        ("actor_id", |e| e.actor_id = Some("usr_evil".into())),
        ("target_type", |e| e.target_type = Some("user".into())),
        ("target_id", |e| e.target_id = Some("usr_evil".into())),
        ("ip", |e| e.ip = Some("198.51.100.1".into())),
        ("request_id", |e| e.request_id = "req-x".into()),
        ("details", |e| e.details = r#"{"name":"Evil"}"#.into()),
        ("created_at", |e| {
            e.created_at = "2026-01-02T03:04:05.679Z".into()
        }),
    ];
    for (field, tamper) in tampers {
        let mut e = second();
        tamper(&mut e);
        assert_ne!(e, second(), "{field}: the tamper changed nothing");
        assert_ne!(
            entry_hash(FIRST_HASH, &e),
            SECOND_HASH,
            "{field} is not covered by the hash"
        );
        let mut c = chain();
        c[1].entry = e;
        assert_eq!(verify_chain(&c), Err(c[1].entry.seq), "{field}");
    }
    // An absent optional field differs from an empty one.
    let mut e = second();
    e.actor_id = Some(String::new());
    assert_ne!(entry_hash(FIRST_HASH, &e), SECOND_HASH);
    // The link itself is covered too.
    let mut c = chain();
    c[1].prev_hash = "f".repeat(64);
    assert_eq!(verify_chain(&c), Err(2));
}
