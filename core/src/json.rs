//! Request bodies: size limit, media type, and JSON decoding into typed requests with errors
//! that name the field. Unknown members are rejected by `#[serde(deny_unknown_fields)]` on
//! every request type; this module turns serde's messages into the contract's codes.

use crate::problem::{ApiError, FieldError};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// JSON bodies over this size are refused with 413 before parsing.
pub const MAX_JSON_BODY: usize = 1024 * 1024;

/// Whether a `Content-Type` denotes JSON (`application/json`, `application/*+json`, any params).
pub fn is_json_media_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// 413 for a body whose declared or actual size exceeds `limit`.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::payload_too_large(format!(
        "The request body exceeds the limit of {limit} bytes."
    ))
}

/// 415 for a body that is not JSON.
pub fn not_json() -> ApiError {
    ApiError::unsupported_media_type("This endpoint accepts `application/json` bodies.")
}

/// Decodes a JSON body into `T`, mapping failures to `malformed_json`, `unknown_field` or
/// `validation_failed` (with the offending field's path).
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::malformed_json(
            "The request body is empty; a JSON object is expected.",
        ));
    }
    // serde's derived structs also deserialize from a JSON array (their fields in order), so
    // `[null, null]` would pass as an empty patch: every request body is an object.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(body) {
            return Err(classify(".", &e));
        }
        return Err(
            ApiError::validation_failed("The request body must be a JSON object.")
                .with_errors(vec![FieldError::new("", "expected a JSON object")]),
        );
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut *de) {
        Ok(v) => {
            de.end().map_err(|e| classify(".", &e))?;
            Ok(v)
        }
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            Err(classify(&path, &inner))
        }
    }
}

fn classify(path: &str, err: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    let msg = err.to_string();
    // serde's text ends with " at line L column C": useful only for syntax errors.
    let text = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    match err.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::malformed_json(format!("The request body is not valid JSON ({msg})."))
        }
        Category::Data => {
            if let Some(name) = backticked(&text, "unknown field `") {
                // The path already ends at the unknown member.
                let field = if path == "." {
                    name.to_owned()
                } else {
                    path.to_owned()
                };
                return ApiError::unknown_field(&field);
            }
            let field = match backticked(&text, "missing field `") {
                Some(name) => join(path, name),
                None if path == "." => String::new(),
                None => path.to_owned(),
            };
            let message = humanize(&text);
            ApiError::validation_failed(if field.is_empty() {
                format!("The request body is invalid: {message}.")
            } else {
                format!("The field `{field}` is invalid: {message}.")
            })
            .with_errors(vec![FieldError::new(field, message)])
        }
    }
}

fn backticked<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?.split('`').next()
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() || path == "." {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn humanize(text: &str) -> String {
    // serde says "invalid type: map, expected a string"; clients read "expected a string but
    // got map".
    let reworded = ["invalid type: ", "invalid value: ", "invalid length "]
        .iter()
        .find_map(|p| text.strip_prefix(p))
        .and_then(|rest| rest.split_once(", expected "))
        .map(|(got, expected)| format!("expected {expected} but got {got}"));
    reworded
        .unwrap_or_else(|| text.to_owned())
        .chars()
        .take(200)
        .collect()
}

/// `#[serde(deserialize_with = "whole_number")]` for a byte count: JSON Schema's `integer`
/// includes numbers written with a zero fraction (`1024.0`), and so do serde_json's floats of
/// integers beyond `u64` (`1e30`); the latter saturate to `u64::MAX`, which every limit
/// refuses as too large. Negative, fractional and non-numeric values stay errors.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    use serde::de::{Error, Unexpected};
    let n = serde_json::Number::deserialize(de)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 => Ok(f as u64),
        Some(f) if n.is_f64() => Err(D::Error::invalid_value(Unexpected::Float(f), &"u64")),
        _ => Err(D::Error::invalid_value(
            Unexpected::Signed(n.as_i64().unwrap_or(-1)),
            &"u64",
        )),
    }
}

/// `#[serde(default, deserialize_with = "optional_integer")]` for a signed count: like
/// [`whole_number`], `2375.0` is the integer 2375 (JSON Schema's `integer`), values beyond
/// `i64` saturate (every range check refuses them), and a fraction is an error.
pub fn optional_integer<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    use serde::de::{Error, Unexpected};
    let Some(n) = Option::<serde_json::Number>::deserialize(de)? else {
        return Ok(None);
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 => Ok(Some(f as i64)),
        Some(f) => Err(D::Error::invalid_value(Unexpected::Float(f), &"an integer")),
        None => Err(D::Error::custom("expected an integer")),
    }
}

/// `#[serde(default, deserialize_with = "present")]` for an optional member that may be left
/// out but not sent as `null` (the schema gives it one type): absent is `None`, a value is
/// `Some`, `null` is an error.
pub fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    de: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(de).map(Some)
}

/// Collects field errors of a typed request, then yields one `validation_failed`.
#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `message` for `field` unless `ok`.
    pub fn check(&mut self, ok: bool, field: &str, message: impl Into<String>) -> &mut Self {
        if !ok {
            self.0.push(FieldError::new(field, message));
        }
        self
    }

    /// A string whose length in characters lies in `min..=max`.
    pub fn length(&mut self, field: &str, value: &str, min: usize, max: usize) -> &mut Self {
        let n = value.chars().count();
        self.check(
            (min..=max).contains(&n),
            field,
            format!("must be {min} to {max} characters long"),
        )
    }

    pub fn finish(&mut self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let fields: Vec<&str> = self.0.iter().map(|e| e.field.as_str()).collect();
        Err(
            ApiError::validation_failed(format!("Invalid fields: {}.", fields.join(", ")))
                .with_errors(std::mem::take(&mut self.0)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Patch {
        #[serde(default, deserialize_with = "present")]
        flag: Option<bool>,
    }

    #[test]
    fn present_members_may_be_absent_but_not_null() {
        assert_eq!(decode::<Patch>(b"{}").map(|p| p.flag), Ok(None));
        assert_eq!(
            decode::<Patch>(br#"{"flag":true}"#).map(|p| p.flag),
            Ok(Some(true))
        );
        let e = decode::<Patch>(br#"{"flag":null}"#).expect_err("null refused");
        assert_eq!(e.status, 400, "{e:?}");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Req {
        name: String,
        count: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        flag: bool,
    }

    #[derive(Debug, Deserialize)]
    struct Sized {
        #[serde(deserialize_with = "whole_number")]
        size: u64,
    }

    #[test]
    fn whole_numbers_with_a_zero_fraction_are_integers() {
        let size = |body: &str| decode::<Sized>(body.as_bytes()).map(|s| s.size);
        assert_eq!(size(r#"{"size": 1024}"#).unwrap(), 1024);
        assert_eq!(size(r#"{"size": 1024.0}"#).unwrap(), 1024);
        assert_eq!(size(r#"{"size": 1e40}"#).unwrap(), u64::MAX);
        assert_eq!(
            size(r#"{"size": 25793159715387409859493440677478400}"#).unwrap(),
            u64::MAX
        );
        for bad in [
            r#"{"size": 1.5}"#,
            r#"{"size": -1}"#,
            r#"{"size": -1.0}"#,
            r#"{"size": "1"}"#,
        ] {
            assert_eq!(size(bad).unwrap_err().code, "validation_failed", "{bad}");
        }
    }

    #[test]
    fn bodies_are_objects() {
        let err = decode::<Req>(b" [\"a\", null, null]").unwrap_err();
        assert_eq!(err.code, "validation_failed");
        assert_eq!(decode::<Req>(b"[1,").unwrap_err().code, "malformed_json");
        assert_eq!(
            decode::<Req>(b"null").unwrap_err().code,
            "validation_failed"
        );
    }

    #[test]
    fn media_types() {
        assert!(is_json_media_type(Some("application/json")));
        assert!(is_json_media_type(Some("Application/JSON; charset=utf-8")));
        assert!(is_json_media_type(Some("application/merge-patch+json")));
        assert!(!is_json_media_type(Some("text/plain")));
        assert!(!is_json_media_type(None));
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for body in [
            &b"{"[..],
            b"{\"name\":}",
            b"nope",
            b"  ",
            b"",
            b"{\"name\":\"a\"} x",
        ] {
            let e = decode::<Req>(body).unwrap_err();
            assert_eq!(
                e.code,
                "malformed_json",
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = decode::<Req>(br#"{"name":"a","role":"owner"}"#).unwrap_err();
        assert_eq!((e.status, e.code), (400, "unknown_field"));
        assert_eq!(e.errors()[0].field, "role");
        let e = decode::<Req>(br#"{"name":"a","inner":{"flag":true,"x":1}}"#).unwrap_err();
        assert_eq!(e.errors()[0].field, "inner.x");
    }

    #[test]
    fn type_errors_and_missing_fields_name_the_field() {
        let e = decode::<Req>(br#"{"name":"a","count":"x"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.errors()[0].field.as_str()),
            ("validation_failed", "count")
        );
        let e = decode::<Req>(br#"{"count":1}"#).unwrap_err();
        assert_eq!(e.errors()[0].field, "name");
        let e = decode::<Req>(br#"{"name":"a","count":-1}"#).unwrap_err();
        assert_eq!(e.errors()[0].field, "count");
        let e = decode::<Req>(br#"[1]"#).unwrap_err();
        assert_eq!(e.code, "validation_failed");
    }

    #[test]
    fn checks_collect_every_field() {
        let e = Checks::new()
            .length("name", "", 1, 10)
            .length("title", "ééé", 1, 3)
            .check(false, "count", "too big")
            .finish()
            .unwrap_err();
        let fields: Vec<_> = e.errors().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["name", "count"]);
    }
}
