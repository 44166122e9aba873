//! The export of a signed-in user's data (GDPR articles 15 and 20): the rules
//! `POST /v1/me/exports`, the consumer that assembles it and the signed download decide with.
//!
//! An export is a row (`account_exports`) and, once `ready`, one JSON object in R2 under the
//! user's own prefix `users/{user_id}/`. It is assembled off the request path (a queue message),
//! claimed by one delivery at a time, retried a few times, and kept [`RETENTION_SECONDS`]. The
//! download link is a signed URL that binds the user, the export and the SHA-256 of the object,
//! so it can only ever serve those bytes, and only for [`crate::files::SIGNED_URL_MAX_TTL_S`].

use crate::encoding::{constant_time_eq, hex, unhex};
use crate::ids::{self, IdKind};
use crate::signature::hmac_sha256;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The `format` field of every export document; a new shape gets a new version.
pub const FORMAT: &str = "edge-api.account-export/v1";
/// How long a ready export stays downloadable before the sweep deletes it.
pub const RETENTION_SECONDS: i64 = 7 * 24 * 3600;
/// How many exports a user may start in any 24 hours.
pub const PER_DAY: usize = 5;
/// How many deliveries may try to assemble one export before it is `failed`.
pub const MAX_ATTEMPTS: i64 = 3;
/// How long a claim protects an assembly from a second delivery.
pub const LEASE_MS: i64 = 120_000;
/// Rows read per D1 query while assembling (keyset pages).
pub const PAGE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Ready,
    Failed,
    Expired,
}

impl Status {
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Ready => "ready",
            Status::Failed => "failed",
            Status::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Ready,
            Self::Failed,
            Self::Expired,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    /// Still to be assembled: a new request reuses it instead of starting another.
    pub const fn is_pending(self) -> bool {
        matches!(self, Status::Queued | Status::Running)
    }
}

/// The R2 prefix of everything stored for user `user_id`, `users/{user_id}/` (only for a
/// real user id, so no value can widen it to other users).
pub fn user_prefix(user_id: &str) -> Option<String> {
    ids::is_id(IdKind::User, user_id).then(|| format!("users/{user_id}/"))
}

/// The object key attempt `attempt` of export `export_id` of user `user_id` writes. Each
/// attempt has its own key, so an attempt that lost its lease and finishes late can delete
/// what it wrote without touching the object of the attempt that took over; the row's
/// `attempts` names the object of a ready export.
pub fn object_key(user_id: &str, export_id: &str, attempt: i64) -> Option<String> {
    let prefix = user_prefix(user_id)?;
    (ids::is_id(IdKind::Export, export_id) && attempt > 0)
        .then(|| format!("{prefix}exports/{export_id}.{attempt}.json"))
}

/// What `POST /v1/me/exports` does, given the user's pending export (if any) and the unix
/// times of the exports they started in the last 24 hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// One is being assembled: answer with it (a double click starts nothing new).
    Reuse(String),
    /// Start a new one.
    New,
    /// [`PER_DAY`] already: try again in this many seconds.
    Refused { retry_after: i64 },
}

pub fn start(pending: Option<&str>, started: &[i64], now: i64) -> Start {
    if let Some(id) = pending {
        return Start::Reuse(id.to_owned());
    }
    let day = 24 * 3600;
    let mut recent: Vec<i64> = started.iter().copied().filter(|t| now - t < day).collect();
    if recent.len() < PER_DAY {
        return Start::New;
    }
    recent.sort_unstable();
    // The oldest of the last PER_DAY leaves the window first.
    let oldest = recent[recent.len() - PER_DAY];
    Start::Refused {
        retry_after: (oldest + day - now).max(1),
    }
}

/// What a failed assembly attempt leads to: back to `queued` (retried after `delay_seconds`)
/// or `failed` for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    Retry { delay_seconds: u32 },
    Fail,
}

pub fn after_failure(attempts: i64) -> AfterFailure {
    if attempts >= MAX_ATTEMPTS {
        return AfterFailure::Fail;
    }
    AfterFailure::Retry {
        delay_seconds: 10u32.saturating_mul(1 << attempts.clamp(0, 10)),
    }
}

/// What a download URL grants: `GET` of one path for one export of one user, as long as the
/// object is the one whose digest was signed, until `expires` (unix s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub path: &'a str,
    pub user_id: &'a str,
    pub export_id: &'a str,
    pub sha256: &'a str,
    pub expires: i64,
}

impl Grant<'_> {
    fn canonical(&self) -> String {
        format!(
            "edge-api export url v1\nGET\n{}\n{}\n{}\n{}\n{}",
            self.path, self.user_id, self.export_id, self.sha256, self.expires
        )
    }

    /// The lowercase hex HMAC-SHA256 of the grant.
    pub fn sign(&self, secret: &[u8]) -> String {
        hex(&hmac_sha256(secret, &[self.canonical().as_bytes()]))
    }

    /// Checks `signature` (constant time) and the expiry; the reason is for logs, the client
    /// gets one 403 whatever it is.
    pub fn verify(&self, secret: &[u8], signature: &str, now: i64) -> Result<(), &'static str> {
        let given = unhex(signature).ok_or("signature is not hex")?;
        let expected = hmac_sha256(secret, &[self.canonical().as_bytes()]);
        if !constant_time_eq(&given, &expected) {
            return Err("signature does not match");
        }
        if self.expires < now {
            return Err("expired");
        }
        if self.expires > now + crate::files::SIGNED_URL_MAX_TTL_S + 60 {
            return Err("expiry too far ahead");
        }
        Ok(())
    }
}

/// Field names that name a credential or its digest: an export holding one is not written
/// (the assembly fails instead), whatever a future column list lets through.
pub const FORBIDDEN_FIELDS: [&str; 12] = [
    "password",
    "password_hash",
    "secret",
    "secret_sealed",
    "token",
    "token_hash",
    "refresh_token",
    "cookie_hash",
    "key_hash",
    "hash",
    "public_key",
    "pii_salt",
];

/// The first forbidden field name found anywhere in `v` (keys compared without case).
pub fn forbidden_field(v: &Value) -> Option<String> {
    match v {
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let lower = k.to_ascii_lowercase();
            if FORBIDDEN_FIELDS.contains(&lower.as_str()) {
                Some(k.clone())
            } else {
                forbidden_field(v)
            }
        }),
        Value::Array(items) => items.iter().find_map(forbidden_field),
        _ => None,
    }
}

/// An audit entry as exported: its `details`, stored as JSON text, as a JSON value.
pub fn audit_entry(mut e: Value) -> Value {
    if let Some(Value::String(text)) = e.get("details") {
        let parsed = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.clone()));
        if let Some(obj) = e.as_object_mut() {
            obj.insert("details".into(), parsed);
        }
    }
    e
}

/// The export document, written as a stream: one JSON object whose fields are `format`, the
/// ids and time, then each section (a value or an array written item by item), then `counts`.
/// Bytes are handed out in parts of exactly `part_size` (an R2 multipart upload needs equal
/// parts but the last), so memory stays at one part whatever the user's history; the SHA-256
/// and size are of all the bytes. A value with a [`FORBIDDEN_FIELDS`] key is refused.
pub struct Writer {
    buf: Vec<u8>,
    part_size: usize,
    hasher: Sha256,
    size: u64,
    counts: Map<String, Value>,
    open: Option<(String, u64)>,
}

/// The end of a written document: the bytes not yet handed out, and what the row records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub last: Vec<u8>,
    pub size: u64,
    pub sha256: String,
    pub counts: String,
}

impl Writer {
    pub fn new(part_size: usize, user_id: &str, export_id: &str, generated_at: &str) -> Self {
        let mut w = Writer {
            buf: Vec::with_capacity(part_size.min(1 << 20)),
            part_size: part_size.max(1),
            hasher: Sha256::new(),
            size: 0,
            counts: Map::new(),
            open: None,
        };
        let head = json!({"format": FORMAT, "export_id": export_id, "user_id": user_id,
                          "generated_at": generated_at})
        .to_string();
        // Without its closing brace: the sections follow.
        w.push(&head.as_bytes()[..head.len() - 1]);
        w
    }

    fn push(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        self.buf.extend_from_slice(bytes);
    }

    fn key(&mut self, name: &str) {
        self.push(b",");
        self.push(Value::String(name.to_owned()).to_string().as_bytes());
        self.push(b":");
    }

    fn checked(v: &Value) -> Result<String, String> {
        match forbidden_field(v) {
            Some(field) => Err(format!("an export value has the field `{field}`")),
            None => Ok(v.to_string()),
        }
    }

    /// A section that is one value.
    pub fn field(&mut self, name: &str, value: &Value) -> Result<(), String> {
        self.close();
        let text = Self::checked(value)?;
        self.key(name);
        self.push(text.as_bytes());
        Ok(())
    }

    /// Opens an array section (closing the one open).
    pub fn open(&mut self, name: &str) {
        self.close();
        self.key(name);
        self.push(b"[");
        self.open = Some((name.to_owned(), 0));
    }

    /// One item of the open array section.
    pub fn item(&mut self, value: &Value) -> Result<(), String> {
        let text = Self::checked(value)?;
        let n = match &mut self.open {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => return Err("no section is open".into()),
        };
        if n > 1 {
            self.push(b",");
        }
        self.push(text.as_bytes());
        Ok(())
    }

    fn close(&mut self) {
        if let Some((name, n)) = self.open.take() {
            self.push(b"]");
            self.counts.insert(name, json!(n));
        }
    }

    /// The next full part, if the bytes written add up to one.
    pub fn take_part(&mut self) -> Option<Vec<u8>> {
        if self.buf.len() < self.part_size {
            return None;
        }
        let rest = self.buf.split_off(self.part_size);
        Some(std::mem::replace(&mut self.buf, rest))
    }

    /// Writes `counts` and the closing brace.
    pub fn finish(mut self) -> Finished {
        self.close();
        let counts = Value::Object(std::mem::take(&mut self.counts)).to_string();
        self.key("counts");
        self.push(counts.as_bytes());
        self.push(b"}");
        Finished {
            last: self.buf,
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> String {
        ids::new_id(IdKind::User, [1; 16])
    }

    fn export() -> String {
        ids::new_id(IdKind::Export, [2; 16])
    }

    #[test]
    fn keys_only_under_real_ids() {
        let (u, e) = (user(), export());
        assert_eq!(
            object_key(&u, &e, 2),
            Some(format!("users/{u}/exports/{e}.2.json"))
        );
        assert_eq!(object_key(&u, &e, 0), None);
        for bad in [
            "",
            "usr_",
            "../x",
            "org_aaaaaaaaaaaaaaaaaaaaaaaaaa",
            "usr_a/b",
        ] {
            assert_eq!(user_prefix(bad), None, "{bad}");
            assert_eq!(object_key(bad, &e, 1), None, "{bad}");
            assert_eq!(object_key(&u, bad, 1), None, "{bad}");
        }
    }

    #[test]
    fn a_pending_export_is_reused_and_five_a_day_are_allowed() {
        let now = 1_000_000;
        assert_eq!(start(Some("exp_x"), &[], now), Start::Reuse("exp_x".into()));
        assert_eq!(start(None, &[now - 10; 4], now), Start::New);
        // Older than a day does not count.
        assert_eq!(start(None, &[now - 86_400; 9], now), Start::New);
        let five = [now - 5000, now - 100, now - 200, now - 300, now - 400];
        assert_eq!(
            start(None, &five, now),
            Start::Refused {
                retry_after: 86_400 - 5000
            }
        );
    }

    #[test]
    fn failures_retry_with_backoff_then_fail() {
        assert_eq!(after_failure(1), AfterFailure::Retry { delay_seconds: 20 });
        assert_eq!(after_failure(2), AfterFailure::Retry { delay_seconds: 40 });
        assert_eq!(after_failure(MAX_ATTEMPTS), AfterFailure::Fail);
    }

    #[test]
    fn the_grant_binds_user_export_digest_and_expiry() {
        let (u, e) = (user(), export());
        let path = format!("/v1/me/exports/{e}/content");
        let g = Grant {
            path: &path,
            user_id: &u,
            export_id: &e,
            sha256: "ab",
            expires: 2000,
        };
        let sig = g.sign(b"k");
        assert_eq!(g.verify(b"k", &sig, 1900), Ok(()));
        assert_eq!(g.verify(b"k", &sig, 2001), Err("expired"));
        assert!(g.verify(b"other", &sig, 1900).is_err());
        assert!(g.verify(b"k", "zz", 1900).is_err());
        let other_user = ids::new_id(IdKind::User, [3; 16]);
        for changed in [
            Grant {
                user_id: &other_user,
                ..g.clone()
            },
            Grant {
                sha256: "cd",
                ..g.clone()
            },
            Grant {
                expires: 2100,
                ..g.clone()
            },
            Grant {
                path: "/v1/me/exports/exp_other/content",
                ..g.clone()
            },
        ] {
            assert!(changed.verify(b"k", &sig, 1900).is_err(), "{changed:?}");
        }
        let far = Grant {
            expires: 1900 + 3600,
            ..g.clone()
        };
        assert_eq!(
            far.verify(b"k", &far.sign(b"k"), 1900),
            Err("expiry too far ahead")
        );
    }

    #[test]
    fn forbidden_fields_are_found_at_any_depth() {
        assert_eq!(forbidden_field(&json!({"a": [{"b": 1}]})), None);
        assert_eq!(
            forbidden_field(&json!({"a": [{"b": {"Password_Hash": "x"}}]})),
            Some("Password_Hash".into())
        );
        assert_eq!(
            forbidden_field(&json!([{"secret": 1}])),
            Some("secret".into())
        );
    }

    fn write(part: usize) -> (Vec<Vec<u8>>, Finished) {
        let mut w = Writer::new(part, "usr_1", "exp_1", "2026-12-07T00:00:00Z");
        let mut parts = Vec::new();
        w.field("profile", &json!({"email": "a@example.com"}))
            .unwrap();
        w.open("documents");
        for i in 0..50 {
            w.item(&json!({"id": format!("doc_{i}"), "content": "x".repeat(i)}))
                .unwrap();
            parts.extend(w.take_part());
        }
        w.open("sessions");
        w.open("audit_entries");
        w.item(&audit_entry(
            json!({"action": "user.login", "details": "{\"method\":\"password\"}"}),
        ))
        .unwrap();
        w.item(&audit_entry(
            json!({"action": "odd", "details": "not json"}),
        ))
        .unwrap();
        parts.extend(w.take_part());
        (parts, w.finish())
    }

    #[test]
    fn the_streamed_document_is_one_json_object_in_equal_parts() {
        for part in [7, 64, 1000, 1 << 20] {
            let (parts, done) = write(part);
            assert!(parts.iter().all(|p| p.len() == part), "{part}");
            let mut all: Vec<u8> = parts.concat();
            all.extend_from_slice(&done.last);
            assert_eq!(all.len() as u64, done.size);
            assert_eq!(done.sha256, hex(&crate::signature::sha256(&all)));
            let d: Value = serde_json::from_slice(&all).unwrap();
            assert_eq!(d["format"], FORMAT);
            assert_eq!(d["export_id"], "exp_1");
            assert_eq!(d["profile"]["email"], "a@example.com");
            assert_eq!(d["documents"].as_array().map(Vec::len), Some(50));
            assert_eq!(d["documents"][49]["content"], "x".repeat(49));
            assert_eq!(d["sessions"], json!([]));
            assert_eq!(d["counts"]["documents"], 50);
            assert_eq!(d["counts"]["sessions"], 0);
            assert_eq!(d["counts"]["audit_entries"], 2);
            assert_eq!(d["audit_entries"][0]["details"]["method"], "password");
            assert_eq!(d["audit_entries"][1]["details"], "not json");
            assert_eq!(done.counts, d["counts"].to_string());
        }
    }

    #[test]
    fn a_credential_field_is_refused_not_written() {
        let mut w = Writer::new(1 << 20, "usr_1", "exp_1", "t");
        assert!(w
            .field("profile", &json!({"password_hash": "$argon2"}))
            .is_err());
        w.open("sessions");
        assert!(w
            .item(&json!({"id": "ses_1", "cookie_hash": "ab"}))
            .is_err());
        assert!(w.item(&json!({"id": "ses_1"})).is_ok());
        let done = w.finish();
        let d: Value = serde_json::from_slice(&done.last).unwrap();
        assert_eq!(d["sessions"], json!([{"id": "ses_1"}]));
        assert!(!String::from_utf8_lossy(&done.last).contains("argon2"));
    }
}
