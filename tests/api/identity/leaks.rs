//! The scan every identity reply passes: no password hash, no refresh token or API key (nor
//! their SHA-256) ever shown again after its one allowed appearance, no secret-named member.
//! [`send`] and its two variants for the responses allowed to show one secret once.

use edge_tests::reqwest::RequestBuilder;
use edge_tests::{Reply, SendExt};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// Strings no response may ever contain: the SHA-256 (hex) of every refresh token and API key
/// handed out so far, and every API key once its create response has been read.
static NEVER: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn never() -> MutexGuard<'static, BTreeSet<String>> {
    NEVER.lock().unwrap_or_else(|e| e.into_inner())
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn base64url_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_'
}

/// Every `prefix` + 43 base64url characters (256 bits, the shape of the worker's secrets) in
/// `text` that starts a token: not a key's display prefix (8 characters), nor `sk_` inside
/// the random part of another token (a refresh token, a JWT segment, a cursor). Secrets the
/// tests have seen are also matched exactly, through [`NEVER`].
fn secrets_in(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(prefix).map(|i| i + from) {
        let start = i + prefix.len();
        let n = bytes[start..]
            .iter()
            .take_while(|c| base64url_char(**c))
            .count();
        let at_boundary = i == 0 || !(base64url_char(bytes[i - 1]) || bytes[i - 1] == b'.');
        if at_boundary && n == 43 {
            out.push(format!("{prefix}{}", &text[start..start + n]));
        }
        from = start;
    }
    out
}

/// Object members that would hold a stored secret, anywhere in `v`. (A problem naming a
/// field the client sent, such as `password_hash`, names it as a value, not as a member.)
fn secret_keys(v: &Value, found: &mut Vec<String>) {
    const SECRET_KEYS: [&str; 7] = [
        "password_hash",
        "password",
        "refresh_token_hash",
        "token_hash",
        "key_hash",
        "secret_hash",
        "secret",
    ];
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                if SECRET_KEYS.contains(&k.as_str()) {
                    found.push(k.clone());
                }
                secret_keys(item, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|i| secret_keys(i, found)),
        _ => {}
    }
}

/// Panics if the reply (body or headers) shows a password hash, a stored token hash, a
/// password-reset token, or an API key other than `allowed_key`.
fn check_no_secrets(r: &Reply, allowed_key: Option<&str>) {
    let mut text = r.text();
    for (name, value) in &r.headers {
        text.push('\n');
        text.push_str(name.as_str());
        text.push_str(": ");
        text.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    for needle in ["$argon2", "argon2id", "$pbkdf2"] {
        assert!(
            !text.contains(needle),
            "a response shows {needle:?} (status {}): {text}",
            r.status
        );
    }
    if let Ok(body) = serde_json::from_slice::<Value>(&r.body) {
        let mut found = Vec::new();
        secret_keys(&body, &mut found);
        assert!(
            found.is_empty(),
            "a response has member(s) {found:?} (status {}): {text}",
            r.status
        );
    }
    let reset_tokens = secrets_in(&text, "pr_");
    assert!(
        reset_tokens.is_empty(),
        "a response shows a password-reset token: {text}"
    );
    let keys = secrets_in(&text, "sk_");
    let shown: Vec<&String> = keys
        .iter()
        .filter(|k| Some(k.as_str()) != allowed_key)
        .collect();
    assert!(
        shown.is_empty(),
        "a response shows an API key secret {shown:?} (status {}): {text}",
        r.status
    );
    if let Some(key) = allowed_key {
        assert_eq!(
            keys.iter().filter(|k| *k == key).count(),
            1,
            "the create response must show its key exactly once: {text}"
        );
    }
    let leaked: Vec<String> = never()
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .cloned()
        .collect();
    assert!(
        leaked.is_empty(),
        "a response shows a stored secret or its hash {leaked:?} (status {}): {text}",
        r.status
    );
}

/// Sends the request and checks the reply for leaked secrets; remembers the hash of any
/// refresh token it hands out.
pub async fn send(req: RequestBuilder) -> Reply {
    let r = req.reply().await;
    check_no_secrets(&r, None);
    if let Ok(body) = serde_json::from_slice::<Value>(&r.body) {
        if let Some(rt) = body["refresh_token"].as_str() {
            never().insert(sha256_hex(rt));
        }
    }
    r
}

/// Like [`send`] for `POST /v1/me/mfa/totp`: the one response allowed to show a TOTP secret
/// (in `secret` and inside `otpauth_uri`, once). From then on the secret may appear nowhere.
pub async fn send_totp_enroll(req: RequestBuilder) -> Reply {
    let r = req.reply().await;
    let mut body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    let secret = body["secret"].as_str().map(str::to_owned);
    if let Some(map) = body.as_object_mut() {
        map.remove("secret");
        map.remove("otpauth_uri");
    }
    let rest = Reply {
        status: r.status,
        headers: r.headers.clone(),
        body: serde_json::to_vec(&body).unwrap_or_default().into(),
    };
    check_no_secrets(&rest, None);
    if let Some(secret) = secret {
        never().insert(secret);
    }
    r
}

/// Like [`send`] for `POST …/api-keys`: the one response allowed to show a key (in `key`,
/// once). From then on neither the key nor its hash may appear anywhere.
pub async fn send_key_create(req: RequestBuilder) -> Reply {
    let r = req.reply().await;
    let key = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|b| b["key"].as_str().map(str::to_owned));
    check_no_secrets(&r, key.as_deref());
    if let Some(key) = key {
        let mut never = never();
        never.insert(sha256_hex(&key));
        never.insert(key);
    }
    r
}
