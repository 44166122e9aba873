//! Every credential the suite sends or is handed (passwords, access and refresh tokens, `sk_`
//! keys, reset, invitation and verification tokens, room tickets, signed-URL signatures,
//! signature headers), collected as the trials run, and a scan of each worker's whole log for
//! them and for their patterns when the worker stops. The run fails if any is found
//! ([`violations`]).
//!
//! Left out of the scan are the dev server's own access-log lines (`[wrangler:info] PUT
//! /path?query 201 Created`): wrangler prints each request URL, so a signed URL's query shows
//! there as it would in any access log; the worker's own output is scanned whole.

use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// Values shorter than this are not credentials the worker hands out (and would match by
/// chance).
const MIN_LEN: usize = 12;

/// JSON members whose string values are credentials, in requests and in answers.
const SECRET_KEYS: &[&str] = &[
    "password",
    "new_password",
    "current_password",
    "access_token",
    "refresh_token",
    "token",
    "ticket",
    "secret",
    "signature",
];

/// Query parameters that are credentials.
const SECRET_PARAMS: &[&str] = &["ticket", "signature", "token"];

/// Headers whose values are credentials.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "stripe-signature",
    "x-signature",
    "webhook-signature",
    "cookie",
];

static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
static FOUND: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn lock<T>(m: &'static Mutex<T>) -> MutexGuard<'static, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Remembers one credential value (a bearer header is remembered without its scheme).
pub fn note(value: &str) {
    let v = value.trim();
    let v = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .unwrap_or(v);
    if v.len() >= MIN_LEN {
        lock(&SEEN).insert(v.to_owned());
    }
    // Signature headers: every `v1=` value (Stripe's and the edge's `t=…,v1=…`).
    for part in v.split(',') {
        if let Some(sig) = part.trim().strip_prefix("v1=") {
            if sig.len() >= MIN_LEN {
                lock(&SEEN).insert(sig.to_owned());
            }
        }
    }
}

/// Remembers the credentials in a header map.
pub fn note_headers(headers: &reqwest::header::HeaderMap) {
    for name in SECRET_HEADERS {
        for v in headers.get_all(*name) {
            if let Ok(v) = v.to_str() {
                note(v);
            }
        }
    }
}

/// Remembers the credentials in a URL's query.
pub fn note_url(url: &str) {
    let Some((_, query)) = url.split_once('?') else {
        return;
    };
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            if SECRET_PARAMS.contains(&k) {
                note(v);
            }
        }
    }
}

/// Remembers the credentials anywhere in a JSON value: members named like secrets, strings
/// that look like our credentials, and URLs with signed queries.
pub fn note_json(v: &Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if let (true, Value::String(s)) = (SECRET_KEYS.contains(&k.as_str()), v) {
                    note(s);
                }
                note_json(v);
            }
        }
        Value::Array(items) => items.iter().for_each(note_json),
        Value::String(s) => {
            if looks_like_credential(s) {
                note(s);
            }
            if s.starts_with("http://") || s.starts_with("https://") {
                note_url(s);
            }
        }
        _ => {}
    }
}

/// Remembers the credentials in a body, if it is JSON.
pub fn note_body(body: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        note_json(&v);
    }
}

fn looks_like_credential(s: &str) -> bool {
    pattern_at(s, 0).is_some()
}

/// Whether a credential *pattern* starts at byte `i` of `s`: an API key (`sk_`), a refresh
/// token (`rt_`), a webhook secret (`whsec_`) with at least 20 token characters, or a JWT
/// (`eyJ….eyJ….`). Returns the pattern's name.
fn pattern_at(s: &str, i: usize) -> Option<&'static str> {
    let rest = &s.as_bytes()[i..];
    let token = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_';
    let run = |from: usize| {
        rest[from.min(rest.len())..]
            .iter()
            .take_while(|b| token(b))
            .count()
    };
    for (prefix, name) in [
        (&b"sk_"[..], "an API key"),
        (b"rt_", "a refresh token"),
        (b"whsec_", "a webhook secret"),
    ] {
        if rest.starts_with(prefix) && run(prefix.len()) >= 20 {
            return Some(name);
        }
    }
    if rest.starts_with(b"eyJ") {
        let first = run(0);
        if rest.get(first) == Some(&b'.') && rest[first + 1..].starts_with(b"eyJ") {
            return Some("a JWT");
        }
    }
    None
}

/// Scans a log for every credential seen so far and for credential patterns; what it finds
/// is kept for [`violations`]. `what` names the log in the report.
pub fn scan_log(what: &str, log: &str) {
    let kept: Vec<&str> = log.lines().filter(|l| !is_access_line(l)).collect();
    let log = kept.join("\n");
    let log = log.as_str();
    let seen: Vec<String> = lock(&SEEN).iter().cloned().collect();
    let mut found = Vec::new();
    for secret in &seen {
        if let Some(at) = log.find(secret.as_str()) {
            found.push(format!(
                "{what}: a credential the suite used is in the log: {}",
                context(log, at)
            ));
        }
    }
    let bytes = log.as_bytes();
    for i in 0..bytes.len() {
        // Only at the start of a token, so `task_…` is not an `sk_` key.
        let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if boundary && log.is_char_boundary(i) {
            if let Some(name) = pattern_at(log, i) {
                found.push(format!("{what}: {name} is in the log: {}", context(log, i)));
            }
        }
    }
    lock(&FOUND).extend(found);
}

/// `[wrangler:info] GET /path 200 OK (3ms)`: the dev server's access log, not the worker's.
fn is_access_line(line: &str) -> bool {
    let plain: String = strip_ansi(line);
    let Some(rest) = plain.trim_start().strip_prefix("[wrangler:info] ") else {
        return false;
    };
    let method = rest.split(' ').next().unwrap_or("");
    !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase())
}

fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What stands before byte `at` of `log` on its line (up to 80 characters), then a marker
/// in place of the credential itself.
fn context(log: &str, at: usize) -> String {
    let line_start = log[..at].rfind('\n').map_or(0, |n| n + 1);
    let before: Vec<char> = log[line_start..at].chars().collect();
    let tail: String = before[before.len().saturating_sub(80)..].iter().collect();
    format!("{tail:?} + <credential>")
}

/// What the scans found so far (empty on a clean run).
pub fn violations() -> Vec<String> {
    lock(&FOUND).clone()
}

/// How many credentials were collected (a scan over nothing proves nothing).
pub fn collected() -> usize {
    lock(&SEEN).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(
            pattern_at("sk_abcdefghijklmnopqrstuvwx", 0),
            Some("an API key")
        );
        assert_eq!(pattern_at("sk_short", 0), None);
        assert_eq!(pattern_at("eyJhbGciOi.eyJzdWIi.sig", 0), Some("a JWT"));
        assert_eq!(pattern_at("eyJhbGciOi", 0), None);
        assert!(pattern_at("rt_0123456789abcdefghijkl", 0).is_some());
        assert!(is_access_line(
            "\u{1b}[32m[wrangler:info] PUT /v1/x?signature=ab 201 Created\u{1b}[0m"
        ));
        assert!(!is_access_line(
            "[wrangler:info] Ready on http://127.0.0.1:8787"
        ));
        assert!(!is_access_line(r#"{"msg":"request","path":"/v1"}"#));
    }
}
