//! Browser cookie sessions: the session cookie (an opaque reference, never the JWT), its
//! `Set-Cookie` forms, and the CSRF rules every state-changing request authenticated by it
//! must pass: the `Origin` (or, without one, `Sec-Fetch-Site`) must be the API's own origin or
//! one of `CORS_ORIGINS`, and `X-CSRF-Token` must carry the token bound to that very cookie
//! (an HMAC of it under a server key: a signed double submit that needs no storage).

use crate::cors::CorsPolicy;
use crate::encoding::{base64url, constant_time_eq};
use crate::signature::hmac_sha256;
use crate::tokens::{is_secret, SecretKind};

/// `__Host-`: the browser keeps it only if `Secure`, `Path=/` and without `Domain`, so no
/// sibling subdomain can set or shadow it.
pub const SESSION_COOKIE: &str = "__Host-edge_session";
/// The request header carrying the CSRF token.
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// How a sign-in hands over its session: a token pair in the body (the default), or the
/// session cookie and a CSRF token (first-party browser apps).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    #[default]
    Tokens,
    Cookie,
}

impl SessionMode {
    pub fn name(self) -> &'static str {
        match self {
            SessionMode::Tokens => "tokens",
            SessionMode::Cookie => "cookie",
        }
    }
}

/// The session cookie's value in a `Cookie` header, if one of the right shape is there.
pub fn session_cookie(header: Option<&str>) -> Option<&str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .find(|value| is_secret(SecretKind::SessionCookie, value))
}

/// The `Set-Cookie` value that stores `value` for `max_age` seconds.
pub fn set_cookie(value: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; Secure; HttpOnly; SameSite=Lax")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie() -> String {
    set_cookie("", 0)
}

/// The CSRF token bound to `cookie` (43 base64url characters).
pub fn csrf_token(key: &[u8], cookie: &str) -> String {
    base64url(&hmac_sha256(key, &[b"edge-csrf-v1\0", cookie.as_bytes()]))
}

/// What a request authenticated by cookie presents to the CSRF check.
pub struct Request<'a> {
    pub method: &'a str,
    /// The API's own origin (`scheme://host[:port]` of the request URL).
    pub own_origin: &'a str,
    pub origin: Option<&'a str>,
    pub sec_fetch_site: Option<&'a str>,
    pub token: Option<&'a str>,
}

/// Why a request failed the CSRF check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `Origin` is neither the API's nor listed in `CORS_ORIGINS`.
    Origin,
    /// No `Origin`, and `Sec-Fetch-Site` says the request came from another site.
    FetchSite,
    /// `X-CSRF-Token` missing or not the one bound to this cookie.
    Token,
}

impl Refusal {
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::Origin => {
                "The request's Origin is not allowed to act with this session cookie."
            }
            Refusal::FetchSite => {
                "The request came from another site (Sec-Fetch-Site) without an allowed Origin."
            }
            Refusal::Token => {
                "A state-changing request authenticated by the session cookie needs the \
                 X-CSRF-Token header given at sign-in (or by GET /v1/auth/session)."
            }
        }
    }
}

/// Whether `method` cannot change anything (and so needs no CSRF proof).
pub fn is_safe(method: &str) -> bool {
    matches!(method, "GET" | "HEAD" | "OPTIONS")
}

/// The CSRF decision for a request carrying `cookie`. Safe methods pass; others need an
/// allowed origin and the token bound to the cookie.
pub fn check(
    req: &Request<'_>,
    cors: &CorsPolicy,
    key: &[u8],
    cookie: &str,
) -> Result<(), Refusal> {
    if is_safe(req.method) {
        return Ok(());
    }
    match req.origin {
        Some(o) if o == req.own_origin || cors.allows(o) => {}
        Some(_) => return Err(Refusal::Origin),
        None => match req.sec_fetch_site {
            None | Some("same-origin") | Some("none") => {}
            Some(_) => return Err(Refusal::FetchSite),
        },
    }
    let expected = csrf_token(key, cookie);
    match req.token {
        Some(t) if constant_time_eq(t.trim().as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(Refusal::Token),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::new_secret;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn cookie() -> String {
        new_secret(SecretKind::SessionCookie, [7; 32])
    }

    fn req<'a>(method: &'a str, origin: Option<&'a str>, token: Option<&'a str>) -> Request<'a> {
        Request {
            method,
            own_origin: "https://api.example",
            origin,
            sec_fetch_site: None,
            token,
        }
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        let c = cookie();
        let header = format!("theme=dark; {SESSION_COOKIE}={c}; other=1");
        assert_eq!(session_cookie(Some(&header)), Some(c.as_str()));
        assert_eq!(session_cookie(Some("theme=dark")), None);
        assert_eq!(session_cookie(None), None);
        // The wrong shape is no cookie at all (never looked up).
        assert_eq!(
            session_cookie(Some(&format!("{SESSION_COOKIE}=rt_abc"))),
            None
        );
        assert_eq!(
            session_cookie(Some(&format!("edge_session={c}"))),
            None,
            "only the __Host- name counts"
        );
    }

    #[test]
    fn set_cookie_attributes() {
        assert_eq!(
            set_cookie("sc_x", 60),
            "__Host-edge_session=sc_x; Path=/; Max-Age=60; Secure; HttpOnly; SameSite=Lax"
        );
        assert!(clear_cookie().starts_with("__Host-edge_session=; Path=/; Max-Age=0;"));
    }

    #[test]
    fn token_is_bound_to_the_cookie_and_the_key() {
        let c = cookie();
        let t = csrf_token(KEY, &c);
        assert_eq!(t.len(), 43);
        assert_ne!(
            t,
            csrf_token(KEY, &new_secret(SecretKind::SessionCookie, [8; 32]))
        );
        assert_ne!(t, csrf_token(b"another key of thirty-two bytes!", &c));
    }

    #[test]
    fn safe_methods_pass_without_proof() {
        let cors = CorsPolicy::parse("");
        for m in ["GET", "HEAD", "OPTIONS"] {
            assert_eq!(
                check(
                    &req(m, Some("https://evil.example"), None),
                    &cors,
                    KEY,
                    &cookie()
                ),
                Ok(())
            );
        }
    }

    #[test]
    fn unsafe_methods_need_origin_and_token() {
        let cors = CorsPolicy::parse("https://app.example");
        let c = cookie();
        let good = csrf_token(KEY, &c);
        for m in ["POST", "PUT", "PATCH", "DELETE", "PROPFIND"] {
            assert_eq!(
                check(
                    &req(m, Some("https://app.example"), Some(&good)),
                    &cors,
                    KEY,
                    &c
                ),
                Ok(())
            );
            assert_eq!(
                check(
                    &req(m, Some("https://api.example"), Some(&good)),
                    &cors,
                    KEY,
                    &c
                ),
                Ok(())
            );
            assert_eq!(
                check(
                    &req(m, Some("https://evil.example"), Some(&good)),
                    &cors,
                    KEY,
                    &c
                ),
                Err(Refusal::Origin)
            );
            assert_eq!(
                check(&req(m, Some("null"), Some(&good)), &cors, KEY, &c),
                Err(Refusal::Origin)
            );
            assert_eq!(
                check(&req(m, Some("https://app.example"), None), &cors, KEY, &c),
                Err(Refusal::Token)
            );
            assert_eq!(
                check(
                    &req(m, Some("https://app.example"), Some("x")),
                    &cors,
                    KEY,
                    &c
                ),
                Err(Refusal::Token)
            );
        }
        // A token minted for another cookie does not pass.
        let other = csrf_token(KEY, &new_secret(SecretKind::SessionCookie, [9; 32]));
        assert_eq!(
            check(
                &req("POST", Some("https://app.example"), Some(&other)),
                &cors,
                KEY,
                &c
            ),
            Err(Refusal::Token)
        );
    }

    #[test]
    fn without_origin_the_fetch_site_decides() {
        let cors = CorsPolicy::parse("");
        let c = cookie();
        let good = csrf_token(KEY, &c);
        let mut r = req("POST", None, Some(&good));
        for (site, ok) in [
            (None, true),
            (Some("same-origin"), true),
            (Some("none"), true),
            (Some("same-site"), false),
            (Some("cross-site"), false),
        ] {
            r.sec_fetch_site = site;
            assert_eq!(check(&r, &cors, KEY, &c).is_ok(), ok, "{site:?}");
        }
        r.sec_fetch_site = None;
        r.token = None;
        assert_eq!(check(&r, &cors, KEY, &c), Err(Refusal::Token));
    }
}
