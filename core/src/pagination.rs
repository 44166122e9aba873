//! List pagination: `?limit=` (1..=100, default 20) and opaque, tamper-proof `?cursor=`s that
//! are sealed and bound to the list and the organization they came from, so a forged cursor or
//! one from another organization's list is a 400, never someone else's rows.

use crate::problem::{ApiError, FieldError};
use crate::sealed;
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: usize = 20;
pub const MAX_LIMIT: usize = 100;

/// The position after the last row of a page in a list ordered by `(sort key, id)` descending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// Which list (e.g. "members"), so a cursor cannot be replayed against another list.
    pub l: String,
    /// The scope of the list (organization or user id).
    pub s: String,
    /// The sort key of the last row.
    pub k: String,
    /// The id of the last row (tie-breaker).
    pub i: String,
}

pub fn parse_limit(raw: Option<&str>) -> Result<usize, ApiError> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    match raw.parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(
            ApiError::validation_failed("`limit` must be a whole number from 1 to 100.")
                .with_errors(vec![FieldError::new("limit", "must be 1 to 100")]),
        ),
    }
}

pub fn encode(secret: &[u8], pos: &Position) -> String {
    sealed::seal(secret, "cursor", pos)
}

/// Opens a cursor for list `list` in scope `scope`; anything else is a 400.
pub fn decode(
    secret: &[u8],
    raw: Option<&str>,
    list: &str,
    scope: &str,
) -> Result<Option<Position>, ApiError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let bad = || {
        ApiError::validation_failed("`cursor` is not a cursor this list handed out.")
            .with_errors(vec![FieldError::new("cursor", "invalid cursor")])
    };
    let pos: Position = sealed::open(secret, "cursor", raw).map_err(|_| bad())?;
    if pos.l != list || pos.s != scope {
        return Err(bad());
    }
    Ok(Some(pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(parse_limit(None).unwrap(), 20);
        assert_eq!(parse_limit(Some("1")).unwrap(), 1);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "x", "", "1.5"] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().status, 400, "{bad}");
        }
    }

    #[test]
    fn cursors_are_bound_to_list_and_scope() {
        let pos = Position {
            l: "members".into(),
            s: "org_a".into(),
            k: "t".into(),
            i: "x".into(),
        };
        let c = encode(b"k", &pos);
        assert_eq!(
            decode(b"k", Some(&c), "members", "org_a").unwrap(),
            Some(pos)
        );
        assert!(decode(b"k", Some(&c), "members", "org_b").is_err());
        assert!(decode(b"k", Some(&c), "keys", "org_a").is_err());
        assert!(decode(b"other", Some(&c), "members", "org_a").is_err());
        assert!(decode(b"k", Some("garbage"), "members", "org_a").is_err());
        assert_eq!(decode(b"k", None, "members", "org_a").unwrap(), None);
    }
}
