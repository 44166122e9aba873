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
    /// No `Authorization` header, and the browser session cookie (`cookies::SESSION_COOKIE`)
    /// of the right shape. A bearer always wins over a cookie.
    Cookie(String),
}

/// The credential of a request with these `Authorization` and `Cookie` headers.
pub fn presented_with_cookie(authorization: Option<&str>, cookie: Option<&str>) -> Presented {
    match presented(authorization) {
        Presented::Nothing => crate::cookies::session_cookie(cookie)
            .map_or(Presented::Nothing, |c| Presented::Cookie(c.to_owned())),
        other => other,
    }
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

    #[test]
    fn a_bearer_wins_over_the_cookie() {
        let c = crate::tokens::new_secret(crate::tokens::SecretKind::SessionCookie, [1; 32]);
        let jar = format!("{}={c}", crate::cookies::SESSION_COOKIE);
        assert_eq!(
            presented_with_cookie(None, Some(&jar)),
            Presented::Cookie(c.clone())
        );
        assert_eq!(
            presented_with_cookie(Some("Bearer abc"), Some(&jar)),
            Presented::Bearer("abc".into())
        );
        assert_eq!(
            presented_with_cookie(Some("Basic x"), Some(&jar)),
            Presented::Malformed
        );
        assert_eq!(presented_with_cookie(None, Some("a=b")), Presented::Nothing);
    }
}
