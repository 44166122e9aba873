//! Files in R2: every rule that does not need the runtime. Object keys (derived from ids only,
//! so no file name can ever leave `orgs/{org_id}/`), names and media types, the upload size
//! checks made before a byte is stored, multipart part sizes, signed capability URLs, single
//! byte ranges, and a `Content-Disposition` that no file name can inject into.

use crate::encoding::{constant_time_eq, hex, unhex};
use crate::ids::{self, IdKind};
use crate::signature::hmac_sha256;
use crate::ApiError;

pub const MIB: u64 = 1024 * 1024;
/// The default cap of one file (`MAX_UPLOAD_BYTES`).
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * MIB;
/// File names: at most this many characters.
pub const NAME_MAX_CHARS: usize = 255;
/// Signed URLs live at most this long.
pub const SIGNED_URL_MAX_TTL_S: i64 = 15 * 60;
/// Signed URLs handed out by the API live this long.
pub const SIGNED_URL_TTL_S: i64 = 10 * 60;
/// An unfinished multipart upload is aborted (and its reserved storage given back) after this.
pub const MULTIPART_TTL_S: i64 = 24 * 3600;
/// R2's smallest part (all but the last part must be at least this large).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The part size the API asks for, unless the file needs bigger parts to fit the part limit.
pub const DEFAULT_PART_SIZE: u64 = 8 * MIB;
/// R2's largest part number.
pub const MAX_PARTS: u64 = 10_000;

/// The R2 key of a file: only ids, which are checked to be ids, go into it.
pub fn object_key(org_id: &str, file_id: &str) -> Option<String> {
    (ids::is_id(IdKind::Org, org_id) && ids::is_id(IdKind::File, file_id))
        .then(|| format!("orgs/{org_id}/files/{file_id}"))
}

/// A file's display name: 1..255 characters, no control characters (they would end up in
/// headers and logs), not only whitespace. Slashes and dots are allowed — the name is never
/// part of a storage key or a path.
pub fn name(raw: &str) -> Result<String, &'static str> {
    let n = raw.chars().count();
    if n == 0 || raw.trim().is_empty() {
        return Err("must not be empty");
    }
    if n > NAME_MAX_CHARS {
        return Err("must be at most 255 characters");
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(raw.to_owned())
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// A media type `type/subtype` with optional `; name=value` parameters (RFC 9110 §8.3.1),
/// at most 255 characters, printable ASCII only. The type and subtype are lower-cased.
pub fn content_type(raw: &str) -> Result<String, &'static str> {
    const WHAT: &str = "must be a media type like `image/png` (printable ASCII, at most 255)";
    if raw.is_empty() || raw.len() > 255 || !raw.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(WHAT);
    }
    let (essence, params) = match raw.split_once(';') {
        Some((e, p)) => (e.trim(), Some(p)),
        None => (raw.trim(), None),
    };
    let Some((t, s)) = essence.split_once('/') else {
        return Err(WHAT);
    };
    if t.is_empty() || s.is_empty() || !t.chars().chain(s.chars()).all(is_token_char) {
        return Err(WHAT);
    }
    let mut out = format!("{}/{}", t.to_ascii_lowercase(), s.to_ascii_lowercase());
    if let Some(params) = params {
        for p in params.split(';') {
            let p = p.trim();
            // RFC 9110 §8.3.1: `parameters = *( OWS ";" OWS [ parameter ] )`, so an empty
            // parameter (`text/plain;`, `a/b ; ;`) is allowed and means nothing.
            if p.is_empty() {
                continue;
            }
            let Some((k, v)) = p.split_once('=') else {
                return Err(WHAT);
            };
            let quoted = v.len() >= 2 && v.starts_with('"') && v.ends_with('"');
            if k.is_empty() || !k.chars().all(is_token_char) {
                return Err(WHAT);
            }
            if !quoted && (v.is_empty() || !v.chars().all(is_token_char)) {
                return Err(WHAT);
            }
            out.push_str("; ");
            out.push_str(&k.to_ascii_lowercase());
            out.push('=');
            out.push_str(v);
        }
    }
    Ok(out)
}

/// The declared length of an upload body, checked before anything is stored: missing → 411,
/// not a number → 400, more than `max` → 413.
pub fn declared_length(header: Option<&str>, max: u64) -> Result<u64, ApiError> {
    let Some(raw) = header else {
        return Err(ApiError::length_required(
            "Uploads need a Content-Length header (chunked bodies are not accepted).",
        ));
    };
    let n: u64 = raw
        .trim()
        .parse()
        .map_err(|_| ApiError::bad_request("Content-Length is not a number."))?;
    check_size(n, max)?;
    Ok(n)
}

/// 413 when a file of `size` bytes is larger than `max`.
pub fn check_size(size: u64, max: u64) -> Result<(), ApiError> {
    if size > max {
        return Err(ApiError::payload_too_large(format!(
            "The file is {size} bytes; at most {max} bytes are accepted per file."
        ))
        .with_extension("max_upload_bytes", serde_json::json!(max)));
    }
    Ok(())
}

/// The part size for a multipart upload of `size` bytes: 8 MiB, or more if the file would
/// otherwise need more than 10,000 parts.
pub fn part_size(size: u64) -> u64 {
    DEFAULT_PART_SIZE.max(size.div_ceil(MAX_PARTS))
}

/// How many parts a file of `size` bytes has with parts of `part` bytes (at least one).
pub fn part_count(size: u64, part: u64) -> u64 {
    size.div_ceil(part.max(1)).max(1)
}

/// The exact length part `n` (1-based) must have, or `None` if there is no such part.
pub fn part_length(size: u64, part: u64, n: u64) -> Option<u64> {
    let count = part_count(size, part);
    if n == 0 || n > count {
        return None;
    }
    Some(if n < count {
        part
    } else {
        size - part * (count - 1)
    })
}

/// What a signed URL grants: one method on one path for one file of one organization, with
/// the size and type it must have, until `expires` (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub org_id: &'a str,
    pub file_id: &'a str,
    pub size: u64,
    pub content_type: &'a str,
    pub expires: i64,
}

impl Grant<'_> {
    fn canonical(&self) -> String {
        format!(
            "edge-api signed url v1\n{}\n{}\n{}\n{}\n{}\n{}\n{}",
            self.method,
            self.path,
            self.org_id,
            self.file_id,
            self.size,
            self.content_type,
            self.expires
        )
    }

    /// The lowercase hex HMAC-SHA256 of the grant.
    pub fn sign(&self, secret: &[u8]) -> String {
        hex(&hmac_sha256(secret, &[self.canonical().as_bytes()]))
    }

    /// Checks `signature` (constant time) and the expiry. Every refusal is the same 403 to
    /// the client; the reason is for logs.
    pub fn verify(&self, secret: &[u8], signature: &str, now: i64) -> Result<(), &'static str> {
        let given = unhex(signature).ok_or("signature is not hex")?;
        let expected = hmac_sha256(secret, &[self.canonical().as_bytes()]);
        if !constant_time_eq(&given, &expected) {
            return Err("signature does not match");
        }
        if self.expires < now {
            return Err("expired");
        }
        if self.expires > now + SIGNED_URL_MAX_TTL_S + 60 {
            return Err("expiry too far ahead");
        }
        Ok(())
    }
}

/// The answer to a `Range` request for a body of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAnswer {
    /// No (usable) range: the whole body, 200.
    Full,
    /// Bytes `start..=end`, 206.
    Partial { start: u64, end: u64 },
    /// 416 with `Content-Range: bytes */size`.
    Unsatisfiable,
}

/// One byte range (RFC 9110 §14): `bytes=a-b`, `bytes=a-`, `bytes=-n`. A syntactically
/// invalid header, another unit, or several ranges are ignored (the full body is a valid
/// answer to those); a valid range that starts past the end is unsatisfiable.
pub fn range(header: Option<&str>, size: u64) -> RangeAnswer {
    let Some(h) = header else {
        return RangeAnswer::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return RangeAnswer::Full;
    };
    if spec.contains(',') {
        return RangeAnswer::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeAnswer::Full;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.trim(), b.trim()) {
        ("", suffix) => match num(suffix) {
            None => RangeAnswer::Full,
            Some(0) => RangeAnswer::Unsatisfiable,
            Some(_) if size == 0 => RangeAnswer::Unsatisfiable,
            Some(n) => RangeAnswer::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        },
        (first, last) => {
            let Some(start) = num(first) else {
                return RangeAnswer::Full;
            };
            let end = if last.is_empty() {
                None
            } else {
                match num(last) {
                    Some(e) if e >= start => Some(e),
                    _ => return RangeAnswer::Full,
                }
            };
            if start >= size {
                return RangeAnswer::Unsatisfiable;
            }
            RangeAnswer::Partial {
                start,
                end: end.map_or(size - 1, |e| e.min(size - 1)),
            }
        }
    }
}

/// `Content-Disposition: attachment` with an ASCII fallback `filename` (anything outside
/// printable ASCII, quotes, backslashes and `%` replaced by `_`) and the exact name as
/// RFC 8187 `filename*`. Neither can carry CR/LF or end the parameter early.
pub fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if (' '..='~').contains(&c) && !matches!(c, '"' | '\\' | '%' | ';') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// The strong entity tag of a file's bytes.
pub fn etag(sha256_hex: &str) -> String {
    format!("\"{sha256_hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "org_aaaaaaaaaaaaaaaaaaaaaaaaaa";
    const FIL: &str = "fil_bbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn keys_come_from_ids_only() {
        let org = crate::ids::new_id(IdKind::Org, [1; 16]);
        let fil = crate::ids::new_id(IdKind::File, [2; 16]);
        let key = object_key(&org, &fil).expect("ids");
        assert_eq!(key, format!("orgs/{org}/files/{fil}"));
        assert_eq!(object_key(&org, "../../x"), None);
        assert_eq!(object_key("org_../x", &fil), None);
        assert_eq!(object_key(&org, "fil_%2e%2e"), None);
    }

    #[test]
    fn names() {
        assert_eq!(name("../../x").as_deref(), Ok("../../x"));
        assert_eq!(name("%2e%2e/").as_deref(), Ok("%2e%2e/"));
        assert_eq!(name("résumé.pdf").as_deref(), Ok("résumé.pdf"));
        assert!(name("").is_err());
        assert!(name("   ").is_err());
        assert!(name("a\r\nSet-Cookie: x").is_err());
        assert!(name("a\0b").is_err());
        assert!(name("a\u{85}b").is_err());
        assert!(name(&"x".repeat(255)).is_ok());
        assert!(name(&"x".repeat(256)).is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("Image/PNG").as_deref(), Ok("image/png"));
        // Empty parameters are allowed (RFC 9110) and dropped; schemathesis found the refusal.
        assert_eq!(content_type("lMRM/Y   ;").as_deref(), Ok("lmrm/y"));
        assert_eq!(content_type("a/b ; ; c=d;").as_deref(), Ok("a/b; c=d"));
        assert_eq!(
            content_type("text/plain;charset=utf-8").as_deref(),
            Ok("text/plain; charset=utf-8")
        );
        assert_eq!(
            content_type("multipart/form-data; boundary=\"a b\"").as_deref(),
            Ok("multipart/form-data; boundary=\"a b\"")
        );
        for bad in [
            "",
            "text",
            "/plain",
            "text/",
            "text/plain\r\nX: y",
            "text/pl ain",
            "text/plain; =x",
            "tëxt/plain",
        ] {
            assert!(content_type(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn declared_lengths() {
        assert_eq!(declared_length(None, 10).unwrap_err().status, 411);
        assert_eq!(declared_length(Some("x"), 10).unwrap_err().status, 400);
        assert_eq!(declared_length(Some("-1"), 10).unwrap_err().status, 400);
        assert_eq!(declared_length(Some("11"), 10).unwrap_err().status, 413);
        assert_eq!(declared_length(Some(" 10 "), 10).ok(), Some(10));
        assert_eq!(declared_length(Some("0"), 10).ok(), Some(0));
    }

    #[test]
    fn parts() {
        assert_eq!(part_size(20 * MIB), 8 * MIB);
        assert_eq!(part_count(20 * MIB, 8 * MIB), 3);
        assert_eq!(part_length(20 * MIB, 8 * MIB, 1), Some(8 * MIB));
        assert_eq!(part_length(20 * MIB, 8 * MIB, 3), Some(4 * MIB));
        assert_eq!(part_length(20 * MIB, 8 * MIB, 4), None);
        assert_eq!(part_length(20 * MIB, 8 * MIB, 0), None);
        assert_eq!(part_length(16 * MIB, 8 * MIB, 2), Some(8 * MIB));
        assert_eq!(part_count(0, 8 * MIB), 1);
        assert_eq!(part_length(0, 8 * MIB, 1), Some(0));
        // Huge files get bigger parts so that 10,000 parts always suffice.
        let huge = 200_000 * MIB;
        assert!(part_count(huge, part_size(huge)) <= MAX_PARTS);
        assert!(part_size(huge) >= MIN_PART_SIZE);
    }

    fn grant() -> Grant<'static> {
        Grant {
            method: "PUT",
            path: "/v1/orgs/org_a/files/fil_b/content",
            org_id: ORG,
            file_id: FIL,
            size: 10,
            content_type: "text/plain",
            expires: 1_000,
        }
    }

    #[test]
    fn signed_urls() {
        let secret = b"0123456789abcdef0123456789abcdef";
        let sig = grant().sign(secret);
        assert_eq!(grant().verify(secret, &sig, 900), Ok(()));
        assert_eq!(grant().verify(secret, &sig, 1_001), Err("expired"));
        assert!(grant().verify(b"another secret", &sig, 900).is_err());
        assert!(grant().verify(secret, "zz", 900).is_err());
        let altered = [
            Grant {
                method: "GET",
                ..grant()
            },
            Grant {
                path: "/v1/orgs/org_a/files/fil_c/content",
                ..grant()
            },
            Grant {
                org_id: "org_cccccccccccccccccccccccccc",
                ..grant()
            },
            Grant {
                file_id: "fil_cccccccccccccccccccccccccc",
                ..grant()
            },
            Grant {
                size: 11,
                ..grant()
            },
            Grant {
                content_type: "text/html",
                ..grant()
            },
            Grant {
                expires: 1_001,
                ..grant()
            },
        ];
        for g in altered {
            assert_eq!(g.verify(secret, &sig, 900), Err("signature does not match"));
        }
        // A grant far in the future was not made by this server's rules.
        let long = Grant {
            expires: 100_000,
            ..grant()
        };
        assert_eq!(
            long.verify(secret, &long.sign(secret), 0),
            Err("expiry too far ahead")
        );
    }

    #[test]
    fn ranges() {
        use RangeAnswer::*;
        assert_eq!(range(None, 10), Full);
        assert_eq!(range(Some("bytes=0-4"), 10), Partial { start: 0, end: 4 });
        assert_eq!(range(Some("bytes=5-"), 10), Partial { start: 5, end: 9 });
        assert_eq!(range(Some("bytes=-3"), 10), Partial { start: 7, end: 9 });
        assert_eq!(range(Some("bytes=-30"), 10), Partial { start: 0, end: 9 });
        assert_eq!(range(Some("bytes=8-100"), 10), Partial { start: 8, end: 9 });
        assert_eq!(range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=10-20"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(range(Some("bytes=-5"), 0), Unsatisfiable);
        // Ignored: invalid syntax, other units, several ranges.
        assert_eq!(range(Some("bytes=5-2"), 10), Full);
        assert_eq!(range(Some("bytes=a-b"), 10), Full);
        assert_eq!(range(Some("bytes=+1-2"), 10), Full);
        assert_eq!(range(Some("items=0-1"), 10), Full);
        assert_eq!(range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(range(Some("bytes=-"), 10), Full);
        assert_eq!(range(Some("bytes=0-99999999999999999999999"), 10), Full);
    }

    #[test]
    fn dispositions_cannot_inject() {
        let d = content_disposition("a\"b\r\nSet-Cookie: x;.txt");
        assert!(!d.contains('\r') && !d.contains('\n'));
        assert_eq!(
            d,
            "attachment; filename=\"a_b__Set-Cookie: x_.txt\"; filename*=UTF-8''a%22b%0D%0ASet-Cookie%3A%20x%3B.txt"
        );
        let d = content_disposition("résumé.pdf");
        assert!(d.starts_with("attachment; filename=\"r_sum_.pdf\""));
        assert!(d.ends_with("filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"));
    }

    #[test]
    fn etags() {
        assert_eq!(etag("ab"), "\"ab\"");
    }
}
