//! `X-Request-Id`: echo a sane client token, otherwise the caller generates one.

/// The client's id if it is a sane token (`[A-Za-z0-9._:-]{1,128}`), else `None`.
pub fn sanitize(given: Option<&str>) -> Option<&str> {
    let id = given?;
    let sane = (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b':' | b'-'));
    sane.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoes_sane_tokens_only() {
        assert_eq!(sanitize(Some("abc-123_x.y:z")), Some("abc-123_x.y:z"));
        assert_eq!(sanitize(Some(&"a".repeat(128))).map(str::len), Some(128));
        assert_eq!(sanitize(Some(&"a".repeat(129))), None);
        assert_eq!(sanitize(Some("")), None);
        assert_eq!(sanitize(Some("has space")), None);
        assert_eq!(sanitize(Some("naïve")), None);
        assert_eq!(sanitize(Some("a\r\nSet-Cookie: x")), None);
        assert_eq!(sanitize(None), None);
    }
}
