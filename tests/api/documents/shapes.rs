//! The documents contract's shapes: the strong entity tag of a version, field getters, and
//! checks that a document, a list item or a document answer has exactly the contract's fields,
//! well-formed.

use edge_tests::Reply;
use serde_json::Value;
use std::collections::BTreeSet;

/// `"<id>.v<version>"`: the strong entity tag the contract gives a document version.
pub fn etag_of(id: &str, version: u64) -> String {
    format!("\"{id}.v{version}\"")
}

pub fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string: {v}"))
}

pub fn version_of(v: &Value) -> u64 {
    v["version"]
        .as_u64()
        .unwrap_or_else(|| panic!("`version` is not a number: {v}"))
}

fn assert_rfc3339(v: &Value, key: &str) {
    let at = str_of(v, key);
    assert!(
        chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
        "`{key}` is not an RFC 3339 UTC time: {v}"
    );
}

/// The keys of a JSON object.
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

pub(super) fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|k| (*k).to_owned()).collect()
}

/// A full document: exactly the contract's fields, well-formed.
pub fn assert_document(d: &Value) {
    assert_eq!(
        keys(d),
        key_set(&[
            "id",
            "org_id",
            "title",
            "content",
            "status",
            "version",
            "owner_id",
            "created_at",
            "updated_at"
        ]),
        "document fields: {d}"
    );
    assert_summary_values(d);
    assert!(d["content"].is_string(), "content: {d}");
}

/// A list or search item: the document without its content.
pub fn assert_summary(d: &Value) {
    assert_eq!(
        keys(d),
        key_set(&[
            "id",
            "org_id",
            "title",
            "status",
            "version",
            "owner_id",
            "created_at",
            "updated_at"
        ]),
        "list item fields: {d}"
    );
    assert_summary_values(d);
}

fn assert_summary_values(d: &Value) {
    let id = str_of(d, "id");
    assert!(
        id.starts_with("doc_") && id.len() >= 4 + 16,
        "document id {id:?} lacks the doc_ prefix or 96 random bits"
    );
    assert!(str_of(d, "org_id").starts_with("org_"), "org_id: {d}");
    assert!(!str_of(d, "title").is_empty(), "title: {d}");
    assert!(
        ["draft", "published", "archived"].contains(&str_of(d, "status")),
        "status: {d}"
    );
    assert!(version_of(d) >= 1, "version: {d}");
    let owner = str_of(d, "owner_id");
    assert!(
        owner.starts_with("usr_") || owner.starts_with("key_"),
        "owner_id: {d}"
    );
    assert_rfc3339(d, "created_at");
    assert_rfc3339(d, "updated_at");
}

/// A document answer (201/200): the body is a document and `ETag` names its version.
pub fn assert_doc_reply(r: &Reply) -> Value {
    let d = r.json();
    assert_document(&d);
    assert_eq!(
        r.header("etag"),
        Some(etag_of(str_of(&d, "id"), version_of(&d)).as_str()),
        "ETag of {d}"
    );
    d
}
