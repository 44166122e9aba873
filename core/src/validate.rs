//! Domain values parsed from requests: an unchecked string never reaches a query.

/// A normalized (trimmed, lower-cased) email address of plausible shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let s = raw.trim().to_lowercase();
        if s.is_empty() || s.len() > 254 {
            return Err("must be an email address of at most 254 characters");
        }
        let (local, domain) = s.rsplit_once('@').ok_or("must be an email address")?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains('@')
            && local
                .chars()
                .all(|c| c.is_ascii_graphic() && !"()<>[]\\,;:\"".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Self(s))
        } else {
            Err("must be an email address")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1..=max characters after trimming, no control characters anywhere (not
/// even in the whitespace trimmed off, as for document titles and file names: the OpenAPI
/// document's pattern says so).
pub fn name(raw: &str, max: usize) -> Result<String, String> {
    let s = raw.trim();
    let n = s.chars().count();
    if n == 0 || n > max {
        return Err(format!("must be 1 to {max} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(Email::parse("a.b+c@sub.example.co").is_ok());
        for bad in [
            "", "a", "a@", "@b.c", "a@b", "a@@b.c", "a b@c.d", "a@-b.c", "a@b..c", "a\n@b.c",
            "é@b.c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(65))).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(name("  Ada ", 10).unwrap(), "Ada");
        assert!(name("", 10).is_err());
        assert!(name("   ", 10).is_err());
        assert!(name(&"x".repeat(11), 10).is_err());
        assert!(name("a\u{0}b", 10).is_err());
        assert!(
            name("\tAda", 10).is_err(),
            "a control character trimmed off is still refused"
        );
    }
}
