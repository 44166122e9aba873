//! The door: the incoming request read once into typed values, before any handler runs: the
//! [`Caller`] (credential as presented, client address, origin) and the [`Head`]
//! (method as sent, path, query, headers). Nothing here decides anything; it only reads.

use edge_core::caller::presented_with_cookie;
pub use edge_core::caller::Presented;
use worker::{Headers, Request};

/// Who is calling, as presented; verification is `auth`'s.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential: Presented,
    /// `CF-Connecting-IP`, set by the edge (a client cannot choose it in production).
    pub ip: Option<String>,
    pub origin: Option<String>,
}

impl Caller {
    pub fn read(headers: &Headers) -> Self {
        let get = |name: &str| headers.get(name).ok().flatten();
        Caller {
            credential: presented_with_cookie(
                get("Authorization").as_deref(),
                get("Cookie").as_deref(),
            ),
            ip: get("CF-Connecting-IP"),
            origin: get("Origin"),
        }
    }

    /// The bearer value, if a well-formed one was presented.
    pub fn bearer(&self) -> Option<&str> {
        match &self.credential {
            Presented::Bearer(v) => Some(v),
            _ => None,
        }
    }

    /// The client address for per-address limits (`unknown` when the edge gave none).
    pub fn ip_or_unknown(&self) -> &str {
        self.ip.as_deref().unwrap_or("unknown")
    }
}

/// Method, path, query and headers of the request.
pub struct Head {
    /// The method as sent (`worker::Method` maps unknown methods to GET).
    pub method: String,
    pub path: String,
    /// `scheme://host[:port]` the request was sent to, for the URLs the API hands out.
    pub base: String,
    /// The raw query string, without `?`.
    pub raw_query: Option<String>,
    query: Vec<(String, String)>,
    headers: Headers,
}

impl Head {
    pub fn read(req: &Request) -> Self {
        let url = req.url().ok();
        Head {
            method: req.inner().method(),
            path: req.path(),
            base: url
                .as_ref()
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
            raw_query: url.as_ref().and_then(|u| u.query().map(str::to_owned)),
            query: url
                .map(|u| u.query_pairs().map(|(k, v)| (k.into(), v.into())).collect())
                .unwrap_or_default(),
            headers: req.headers().clone(),
        }
    }

    /// A query parameter (first occurrence), percent-decoded.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).ok().flatten()
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.has(name).unwrap_or(false)
    }

    /// Every header, for the one route that forwards an allow-list of them (the origin proxy).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}
