//! The route table: one list of `(method, pattern, route)`, matched segment by segment.
//! A path that matches no pattern is a 404; one that matches with another method a 405 that
//! names the allowed methods. The table is also what the OpenAPI consistency test reads.

/// Every endpoint of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    Health,
    HealthReady,
    Jwks,
    OpenApi,
    Signup,
    Login,
    Refresh,
    Logout,
    VerifyEmail,
    PasswordReset,
    PasswordResetConfirm,
    MeGet,
    MePatch,
    OrgsList,
    OrgsCreate,
    OrgGet,
    OrgPatch,
    OrgDelete,
    MembersList,
    MemberPatch,
    MemberDelete,
    InvitationsCreate,
    InvitationsList,
    InvitationDelete,
    InvitationAccept,
    ApiKeysCreate,
    ApiKeysList,
    ApiKeyDelete,
    AuditLog,
    AuditLogVerify,
    WebhookSecretGet,
    WebhookSecretRotate,
    StripeWebhook,
    BillingSubscription,
    Usage,
    JobsCreate,
    JobsList,
    JobGet,
    DocumentsList,
    DocumentsCreate,
    DocumentGet,
    DocumentPatch,
    DocumentDelete,
    DocumentRestore,
    DocumentVersions,
    DocumentVersion,
    DocumentShares,
    DocumentShare,
    DocumentUnshare,
    FilesUpload,
    FilesList,
    FileUploadUrl,
    FileMultipartCreate,
    FileMultipartGet,
    FileMultipartAbort,
    FileMultipartPart,
    FileMultipartComplete,
    FileGet,
    FileDelete,
    FileContent,
    FileSignedUpload,
    FileDownloadUrl,
    TestFileObjects,
    TestR2Put,
    TestR2Get,
    RoomTicket,
    RoomConnect,
    RoomPresence,
    DemoRooms,
    TestRoomEvents,
    TestSweep,
    OriginProxy,
    TestPanic,
    TestEcho,
    TestJobCreate,
    TestJobGet,
    TestJobRedeliver,
    TestBenchHash,
    TestBenchJwt,
    TestTenantId,
    TestTenantWindows,
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct RouteDef {
    pub method: &'static str,
    pub pattern: &'static str,
    pub route: Route,
    /// Only served when `ENABLE_TEST_ROUTES` is on (never in production).
    pub test_only: bool,
}

const fn def(method: &'static str, pattern: &'static str, route: Route) -> RouteDef {
    RouteDef {
        method,
        pattern,
        route,
        test_only: false,
    }
}

const fn test(method: &'static str, pattern: &'static str, route: Route) -> RouteDef {
    RouteDef {
        method,
        pattern,
        route,
        test_only: true,
    }
}

/// The whole table. Patterns use `{name}` for one segment.
pub const ROUTES: &[RouteDef] = &[
    def("GET", "/health", Route::Health),
    def("GET", "/health/ready", Route::HealthReady),
    def("GET", "/.well-known/jwks.json", Route::Jwks),
    def("GET", "/v1/openapi.json", Route::OpenApi),
    def("POST", "/v1/auth/signup", Route::Signup),
    def("POST", "/v1/auth/login", Route::Login),
    def("POST", "/v1/auth/refresh", Route::Refresh),
    def("POST", "/v1/auth/logout", Route::Logout),
    def("POST", "/v1/auth/verify-email", Route::VerifyEmail),
    def("POST", "/v1/auth/password-reset", Route::PasswordReset),
    def(
        "POST",
        "/v1/auth/password-reset/confirm",
        Route::PasswordResetConfirm,
    ),
    def("GET", "/v1/me", Route::MeGet),
    def("PATCH", "/v1/me", Route::MePatch),
    def("GET", "/v1/orgs", Route::OrgsList),
    def("POST", "/v1/orgs", Route::OrgsCreate),
    def("GET", "/v1/orgs/{org}", Route::OrgGet),
    def("PATCH", "/v1/orgs/{org}", Route::OrgPatch),
    def("DELETE", "/v1/orgs/{org}", Route::OrgDelete),
    def("GET", "/v1/orgs/{org}/members", Route::MembersList),
    def("PATCH", "/v1/orgs/{org}/members/{user}", Route::MemberPatch),
    def(
        "DELETE",
        "/v1/orgs/{org}/members/{user}",
        Route::MemberDelete,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/invitations",
        Route::InvitationsCreate,
    ),
    def("GET", "/v1/orgs/{org}/invitations", Route::InvitationsList),
    def(
        "DELETE",
        "/v1/orgs/{org}/invitations/{id}",
        Route::InvitationDelete,
    ),
    def("POST", "/v1/invitations/accept", Route::InvitationAccept),
    def("POST", "/v1/orgs/{org}/api-keys", Route::ApiKeysCreate),
    def("GET", "/v1/orgs/{org}/api-keys", Route::ApiKeysList),
    def(
        "DELETE",
        "/v1/orgs/{org}/api-keys/{id}",
        Route::ApiKeyDelete,
    ),
    def("GET", "/v1/orgs/{org}/audit-log", Route::AuditLog),
    def(
        "GET",
        "/v1/orgs/{org}/audit-log/verify",
        Route::AuditLogVerify,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/webhook-secret",
        Route::WebhookSecretGet,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/webhook-secret/rotate",
        Route::WebhookSecretRotate,
    ),
    def("POST", "/v1/billing/stripe/webhook", Route::StripeWebhook),
    def(
        "GET",
        "/v1/orgs/{org}/billing/subscription",
        Route::BillingSubscription,
    ),
    def("GET", "/v1/orgs/{org}/usage", Route::Usage),
    def("POST", "/v1/orgs/{org}/jobs", Route::JobsCreate),
    def("GET", "/v1/orgs/{org}/jobs", Route::JobsList),
    def("GET", "/v1/orgs/{org}/jobs/{id}", Route::JobGet),
    def("GET", "/v1/orgs/{org}/documents", Route::DocumentsList),
    def("POST", "/v1/orgs/{org}/documents", Route::DocumentsCreate),
    def("GET", "/v1/orgs/{org}/documents/{id}", Route::DocumentGet),
    def(
        "PATCH",
        "/v1/orgs/{org}/documents/{id}",
        Route::DocumentPatch,
    ),
    def(
        "DELETE",
        "/v1/orgs/{org}/documents/{id}",
        Route::DocumentDelete,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/documents/{id}/restore",
        Route::DocumentRestore,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/documents/{id}/versions",
        Route::DocumentVersions,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/documents/{id}/versions/{n}",
        Route::DocumentVersion,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/documents/{id}/shares",
        Route::DocumentShares,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/documents/{id}/shares",
        Route::DocumentShare,
    ),
    def(
        "DELETE",
        "/v1/orgs/{org}/documents/{id}/shares/{user}",
        Route::DocumentUnshare,
    ),
    // Literal segments (`uploads`, `multipart`) come before `{id}`: the first match wins.
    def("POST", "/v1/orgs/{org}/files", Route::FilesUpload),
    def("GET", "/v1/orgs/{org}/files", Route::FilesList),
    def("POST", "/v1/orgs/{org}/files/uploads", Route::FileUploadUrl),
    def(
        "POST",
        "/v1/orgs/{org}/files/multipart",
        Route::FileMultipartCreate,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/files/multipart/{upload}",
        Route::FileMultipartGet,
    ),
    def(
        "DELETE",
        "/v1/orgs/{org}/files/multipart/{upload}",
        Route::FileMultipartAbort,
    ),
    def(
        "PUT",
        "/v1/orgs/{org}/files/multipart/{upload}/parts/{n}",
        Route::FileMultipartPart,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/files/multipart/{upload}/complete",
        Route::FileMultipartComplete,
    ),
    def("GET", "/v1/orgs/{org}/files/{id}", Route::FileGet),
    def("DELETE", "/v1/orgs/{org}/files/{id}", Route::FileDelete),
    def(
        "GET",
        "/v1/orgs/{org}/files/{id}/content",
        Route::FileContent,
    ),
    def(
        "PUT",
        "/v1/orgs/{org}/files/{id}/content",
        Route::FileSignedUpload,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/files/{id}/download-url",
        Route::FileDownloadUrl,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/rooms/{room}/tickets",
        Route::RoomTicket,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/rooms/{room}/connect",
        Route::RoomConnect,
    ),
    def("GET", "/v1/orgs/{org}/rooms/{room}", Route::RoomPresence),
    def("GET", "/demo/rooms", Route::DemoRooms),
    def("GET", "/v1/orgs/{org}/origin/{path*}", Route::OriginProxy),
    def("POST", "/v1/orgs/{org}/origin/{path*}", Route::OriginProxy),
    def("PUT", "/v1/orgs/{org}/origin/{path*}", Route::OriginProxy),
    def("PATCH", "/v1/orgs/{org}/origin/{path*}", Route::OriginProxy),
    def(
        "DELETE",
        "/v1/orgs/{org}/origin/{path*}",
        Route::OriginProxy,
    ),
    test("GET", "/__test/panic", Route::TestPanic),
    test("POST", "/__test/sweep", Route::TestSweep),
    test(
        "GET",
        "/__test/rooms/{org}/{room}/events",
        Route::TestRoomEvents,
    ),
    test("GET", "/__test/files/{org}", Route::TestFileObjects),
    test("PUT", "/__test/r2/{key}", Route::TestR2Put),
    test("GET", "/__test/r2/{key}", Route::TestR2Get),
    test("POST", "/__test/echo", Route::TestEcho),
    test("POST", "/__test/jobs", Route::TestJobCreate),
    test("GET", "/__test/jobs/{id}", Route::TestJobGet),
    test(
        "POST",
        "/__test/jobs/{id}/redeliver",
        Route::TestJobRedeliver,
    ),
    test("GET", "/__test/bench/password-hash", Route::TestBenchHash),
    test("GET", "/__test/bench/jwt-verify", Route::TestBenchJwt),
    test("GET", "/__test/tenants/{name}", Route::TestTenantId),
    test(
        "GET",
        "/__test/tenants/{name}/windows",
        Route::TestTenantWindows,
    ),
];

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

    #[test]
    fn every_pattern_is_unique_per_method() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.pattern == b.pattern),
                    "{}",
                    a.pattern
                );
            }
        }
    }
}
