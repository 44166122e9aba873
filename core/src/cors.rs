//! CORS: only origins listed in `CORS_ORIGINS` get CORS headers; preflights are answered.

/// Methods a browser may use cross-origin.
pub const ALLOW_METHODS: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers a browser may send cross-origin.
pub const ALLOW_HEADERS: &str =
    "authorization, content-type, idempotency-key, if-match, if-none-match, range, x-csrf-token, \
     x-request-id";
/// Response headers a browser script may read.
pub const EXPOSE_HEADERS: &str = "x-request-id, etag, location, retry-after, ratelimit, \
     ratelimit-policy, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, \
     idempotent-replayed, content-range, content-disposition";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE: &str = "600";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    origins: Vec<String>,
}

impl CorsPolicy {
    /// Parses a comma-separated origin list (`https://app.example.com,http://localhost:5173`).
    /// Entries are compared exactly, without a trailing slash; blanks are ignored.
    pub fn parse(list: &str) -> Self {
        let origins = list
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        Self { origins }
    }

    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }

    /// Headers for an actual (non-preflight) response to a request with `Origin`.
    pub fn response_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        match origin {
            Some(o) if self.allows(o) => vec![
                ("Access-Control-Allow-Origin", o.to_owned()),
                // Listed origins may send the session cookie (`credentials: "include"`).
                ("Access-Control-Allow-Credentials", "true".to_owned()),
                ("Access-Control-Expose-Headers", EXPOSE_HEADERS.to_owned()),
            ],
            _ => Vec::new(),
        }
    }

    /// Headers for a preflight (`OPTIONS` with `Access-Control-Request-Method`); empty for an
    /// origin that is not listed, so the browser refuses the call.
    pub fn preflight_headers(&self, origin: Option<&str>) -> Vec<(&'static str, String)> {
        match origin {
            Some(o) if self.allows(o) => vec![
                ("Access-Control-Allow-Origin", o.to_owned()),
                ("Access-Control-Allow-Credentials", "true".to_owned()),
                ("Access-Control-Allow-Methods", ALLOW_METHODS.to_owned()),
                ("Access-Control-Allow-Headers", ALLOW_HEADERS.to_owned()),
                ("Access-Control-Max-Age", MAX_AGE.to_owned()),
            ],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_origins_get_headers() {
        let p = CorsPolicy::parse(" https://a.example/ , http://localhost:5173,,");
        assert!(p.allows("https://a.example"));
        assert!(p.allows("http://localhost:5173"));
        assert!(!p.allows("https://a.example.evil"));
        assert!(!p.allows("null"));
        assert_eq!(
            p.response_headers(Some("https://a.example"))[0],
            (
                "Access-Control-Allow-Origin",
                "https://a.example".to_owned()
            )
        );
        assert!(p.response_headers(Some("https://b.example")).is_empty());
        assert!(p.response_headers(None).is_empty());
        assert!(p.preflight_headers(Some("https://b.example")).is_empty());
        assert_eq!(p.preflight_headers(Some("https://a.example")).len(), 5);
    }

    #[test]
    fn empty_list_allows_nothing() {
        assert!(!CorsPolicy::parse("").allows(""));
    }
}
