//! The matcher: resolves `method path` against the route table (`table.rs`) segment by
//! segment. A path that matches no pattern is a 404; one that matches with another method a
//! 405 that names the allowed methods. Pure: it may not know what a route does.

mod route;
mod table;

pub use table::{Route, RouteDef, ROUTES};

/// Path parameters of a match, percent-decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Matched {
    Found {
        route: Route,
        pattern: &'static str,
        params: Params,
    },
    NotFound,
    MethodNotAllowed {
        allowed: Vec<&'static str>,
    },
}

/// Resolves `method path` against the table. `HEAD` is served by `GET` routes.
pub fn resolve(method: &str, path: &str, with_test_routes: bool) -> Matched {
    let segments: Vec<&str> = split(path);
    let mut allowed: Vec<&'static str> = Vec::new();
    for def in ROUTES.iter().filter(|d| with_test_routes || !d.test_only) {
        let Some(params) = match_pattern(def.pattern, &segments) else {
            continue;
        };
        if def.method == method || (method == "HEAD" && def.method == "GET") {
            return Matched::Found {
                route: def.route,
                pattern: def.pattern,
                params,
            };
        }
        allowed.push(def.method);
        if def.method == "GET" {
            allowed.push("HEAD");
        }
    }
    if allowed.is_empty() {
        Matched::NotFound
    } else {
        allowed.push("OPTIONS");
        allowed.dedup();
        Matched::MethodNotAllowed { allowed }
    }
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

fn match_pattern(pattern: &'static str, segments: &[&str]) -> Option<Params> {
    let parts: Vec<&'static str> = split(pattern);
    // A final `{name*}` takes the rest of the path (zero or more segments), kept encoded.
    let tail = parts
        .last()
        .and_then(|p| p.strip_prefix('{'))
        .and_then(|p| p.strip_suffix("*}"));
    let fixed = if tail.is_some() {
        parts.len() - 1
    } else {
        parts.len()
    };
    if segments.len() < fixed || (tail.is_none() && segments.len() != fixed) {
        return None;
    }
    let mut params = Vec::new();
    if let Some(name) = tail {
        params.push((name, segments[fixed..].join("/")));
    }
    for (part, seg) in parts[..fixed].iter().zip(segments) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.push((name, percent_decode(seg)?));
        } else if part != seg {
            return None;
        }
    }
    Some(Params(params))
}

/// Decodes `%XX` escapes; `None` for a broken escape or a result that is not UTF-8.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_static_and_param_routes() {
        assert_eq!(
            resolve("GET", "/health", false),
            Matched::Found {
                route: Route::Health,
                pattern: "/health",
                params: Params::default()
            }
        );
        match resolve("GET", "/__test/jobs/job_a%20b", true) {
            Matched::Found { route, params, .. } => {
                assert_eq!(route, Route::TestJobGet);
                assert_eq!(params.get("id"), Some("job_a b"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn head_is_served_by_get() {
        assert!(matches!(
            resolve("HEAD", "/health", false),
            Matched::Found { .. }
        ));
    }

    #[test]
    fn wrong_method_names_the_allowed_ones() {
        assert_eq!(
            resolve("POST", "/health", false),
            Matched::MethodNotAllowed {
                allowed: vec!["GET", "HEAD", "OPTIONS"]
            }
        );
    }

    #[test]
    fn unknown_paths_and_hidden_test_routes_are_not_found() {
        assert_eq!(resolve("GET", "/nope", true), Matched::NotFound);
        assert_eq!(resolve("GET", "/health/ready/x", true), Matched::NotFound);
        assert_eq!(resolve("GET", "/__test/panic", false), Matched::NotFound);
        assert_eq!(resolve("GET", "/__test/jobs/%zz", true), Matched::NotFound);
    }

    #[test]
    fn trailing_and_double_slashes_are_ignored() {
        assert!(matches!(
            resolve("GET", "/health/", false),
            Matched::Found { .. }
        ));
        assert!(matches!(
            resolve("GET", "//health//ready", false),
            Matched::Found { .. }
        ));
    }

    #[test]
    fn a_tail_parameter_takes_the_rest_of_the_path() {
        match resolve("PUT", "/v1/orgs/org_1/origin/a/b%20c/d", false) {
            Matched::Found { route, params, .. } => {
                assert_eq!(route, Route::OriginProxy);
                assert_eq!(params.get("path"), Some("a/b%20c/d"));
                assert_eq!(params.get("org"), Some("org_1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve("GET", "/v1/orgs/org_1/origin", false),
            Matched::Found { .. }
        ));
    }
}
