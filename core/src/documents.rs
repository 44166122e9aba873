//! Documents: field rules, who may edit, entity tags, and turning a user's search text into a
//! safe FTS5 query.

use crate::policy::{self, Action, Principal};

pub const TITLE_MAX: usize = 200;
pub const CONTENT_MAX_BYTES: usize = 512 * 1024;
pub const STATUSES: [&str; 3] = ["draft", "published", "archived"];

/// Sharing permission of a user on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    View,
    Edit,
}

impl Share {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "view" => Some(Share::View),
            "edit" => Some(Share::Edit),
            _ => None,
        }
    }
}

/// Whether `principal` may change a document: admins and owners any; members (and API keys
/// with `documents:write`) their own and those shared with them for editing.
pub fn can_edit(
    principal: Principal<'_>,
    is_owner: bool,
    share: Option<Share>,
) -> Result<(), policy::Denied> {
    policy::authorize(principal, Action::DocumentsWrite)?;
    if is_owner
        || share == Some(Share::Edit)
        || policy::authorize(principal, Action::DocumentsAdmin).is_ok()
    {
        Ok(())
    } else {
        Err(policy::Denied(
            "only the document's owner, editors it is shared with, and admins may change it",
        ))
    }
}

/// The strong entity tag of a document version.
pub fn etag(doc_id: &str, version: i64) -> String {
    format!("\"{doc_id}.v{version}\"")
}

/// `If-Match`: strong comparison (RFC 9110 §13.1.1) — `*`, or one of a comma-separated list
/// equal to `current`; a weak tag never matches.
pub fn matches(header: &str, current: &str) -> bool {
    header
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current)
}

/// `If-None-Match`: weak comparison (RFC 9110 §13.1.2) — `W/` prefixes are ignored, which
/// matters behind Cloudflare, where compression turns strong tags into weak ones.
pub fn matches_weak(header: &str, current: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let current = bare(current);
    header
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == current)
}

/// A user's search text as an FTS5 query: words only, each a quoted term, all required. FTS5
/// syntax in the input (quotes, `*`, `NEAR`, `OR`, column filters) is neutralised into plain
/// words. `None` when no word is left.
pub fn fts_query(q: &str) -> Option<String> {
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Role, Scope};

    #[test]
    fn editing_rights() {
        let member = Principal::User(Role::Member);
        assert!(can_edit(member, true, None).is_ok());
        assert!(can_edit(member, false, Some(Share::Edit)).is_ok());
        assert!(can_edit(member, false, Some(Share::View)).is_err());
        assert!(can_edit(member, false, None).is_err());
        assert!(can_edit(Principal::User(Role::Admin), false, None).is_ok());
        assert!(can_edit(Principal::User(Role::Viewer), true, Some(Share::Edit)).is_err());
        let key = [Scope::DocumentsWrite];
        assert!(can_edit(Principal::ApiKey(&key), true, None).is_ok());
        assert!(can_edit(Principal::ApiKey(&key), false, None).is_err());
        assert!(can_edit(Principal::ApiKey(&[Scope::DocumentsRead]), true, None).is_err());
    }

    #[test]
    fn etags() {
        let t = etag("doc_1", 3);
        assert_eq!(t, "\"doc_1.v3\"");
        assert!(matches(&t, &t));
        assert!(matches("*", &t));
        assert!(matches("\"x\", \"doc_1.v3\"", &t));
        assert!(!matches("W/\"doc_1.v3\"", &t));
        assert!(!matches("\"doc_1.v2\"", &t));
        assert!(matches_weak("W/\"doc_1.v3\"", &t));
        assert!(matches_weak("\"x\", W/\"doc_1.v3\"", &t));
        assert!(matches_weak("*", &t));
        assert!(!matches_weak("W/\"doc_1.v2\"", &t));
        assert!(matches_weak("W/\"doc_1.v3\"", &t));
        assert!(matches_weak("\"x\", W/\"doc_1.v3\"", &t));
        assert!(matches_weak("*", &t));
        assert!(!matches_weak("W/\"doc_1.v2\"", &t));
    }

    #[test]
    fn search_text_cannot_inject_fts_syntax() {
        assert_eq!(
            fts_query("Hello world").as_deref(),
            Some("\"hello\" \"world\"")
        );
        assert_eq!(
            fts_query("a\" OR \"b").as_deref(),
            Some("\"a\" \"or\" \"b\"")
        );
        assert_eq!(
            fts_query("pre* NEAR(x y)").as_deref(),
            Some("\"pre\" \"near\" \"x\" \"y\"")
        );
        assert_eq!(
            fts_query("title:secret").as_deref(),
            Some("\"title\" \"secret\"")
        );
        assert_eq!(fts_query("\"*()^:-"), None);
        assert_eq!(fts_query(""), None);
        assert_eq!(fts_query("café über").as_deref(), Some("\"café\" \"über\""));
    }
}
