//! The `Authorization` header as presented, classified before anything is verified: the
//! worker's door reads it once; `auth` verifies what it holds.

/// The longest bearer value considered at all (a longer one is refused as malformed).
pub const MAX_BEARER: usize = 4096;

/// The `Authorization` header as presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    /// No `Authorization` header.
    Nothing,
    /// `Bearer <value>`, trimmed.
    Bearer(String),
    /// Some other scheme, an empty value, or one too long.
    Malformed,
}

pub fn presented(header: Option<&str>) -> Presented {
    let Some(header) = header else {
        return Presented::Nothing;
    };
    let Some((scheme, value)) = header.trim().split_once(' ') else {
        return Presented::Malformed;
    };
    let value = value.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || value.is_empty() || value.len() > MAX_BEARER {
        return Presented::Malformed;
    }
    Presented::Bearer(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_forms() {
        assert_eq!(presented(None), Presented::Nothing);
        assert_eq!(
            presented(Some("Bearer abc")),
            Presented::Bearer("abc".into())
        );
        assert_eq!(
            presented(Some("bearer  abc ")),
            Presented::Bearer("abc".into())
        );
        assert_eq!(presented(Some("Basic abc")), Presented::Malformed);
        assert_eq!(presented(Some("Bearer ")), Presented::Malformed);
        assert_eq!(presented(Some("Bearer")), Presented::Malformed);
        let long = format!("Bearer {}", "a".repeat(MAX_BEARER + 1));
        assert_eq!(presented(Some(&long)), Presented::Malformed);
    }
}
