//! The route table: every endpoint of the API as one list of `(method, pattern, route)`, in
//! match order. Data only: it may not match paths or import anything; the matcher
//! (`router`) and the OpenAPI consistency test read it.

pub use super::route::Route;

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
    def("GET", "/v1/auth/session", Route::SessionGet),
    def("POST", "/v1/auth/session", Route::SessionExchange),
    def("POST", "/v1/auth/verify-email", Route::VerifyEmail),
    def("POST", "/v1/auth/password-reset", Route::PasswordReset),
    def(
        "POST",
        "/v1/auth/password-reset/confirm",
        Route::PasswordResetConfirm,
    ),
    def("POST", "/v1/auth/mfa", Route::MfaComplete),
    def("POST", "/v1/auth/step-up", Route::StepUp),
    def("GET", "/v1/me", Route::MeGet),
    def("PATCH", "/v1/me", Route::MePatch),
    def("POST", "/v1/me/password", Route::PasswordChange),
    def("DELETE", "/v1/me", Route::MeDelete),
    def("POST", "/v1/me/email", Route::EmailChange),
    def("POST", "/v1/auth/email/confirm", Route::EmailChangeConfirm),
    def("POST", "/v1/me/restore", Route::AccountRestore),
    def("POST", "/v1/me/exports", Route::ExportsCreate),
    def("GET", "/v1/me/exports", Route::ExportsList),
    def("GET", "/v1/me/exports/{id}", Route::ExportGet),
    def("DELETE", "/v1/me/exports/{id}", Route::ExportDelete),
    def("GET", "/v1/me/exports/{id}/content", Route::ExportContent),
    def("GET", "/v1/me/mfa", Route::MfaStatus),
    def("POST", "/v1/me/mfa/totp", Route::MfaTotpEnroll),
    def("POST", "/v1/me/mfa/totp/confirm", Route::MfaTotpConfirm),
    def("POST", "/v1/me/mfa/totp/disable", Route::MfaTotpDisable),
    def("POST", "/v1/me/mfa/recovery-codes", Route::MfaRecoveryCodes),
    def("GET", "/v1/me/sessions", Route::SessionsList),
    def(
        "POST",
        "/v1/me/sessions/revoke-others",
        Route::SessionsRevokeOthers,
    ),
    def("DELETE", "/v1/me/sessions/{session}", Route::SessionDelete),
    def(
        "POST",
        "/v1/me/passkeys/options",
        Route::PasskeyRegisterOptions,
    ),
    def("POST", "/v1/me/passkeys", Route::PasskeyRegister),
    def("GET", "/v1/me/passkeys", Route::PasskeysList),
    def("PATCH", "/v1/me/passkeys/{id}", Route::PasskeyRename),
    def("DELETE", "/v1/me/passkeys/{id}", Route::PasskeyDelete),
    def(
        "POST",
        "/v1/auth/passkey/options",
        Route::PasskeyLoginOptions,
    ),
    def("POST", "/v1/auth/passkey/verify", Route::PasskeyLogin),
    def(
        "POST",
        "/v1/auth/step-up/passkey/options",
        Route::PasskeyStepUpOptions,
    ),
    def("POST", "/v1/auth/step-up/passkey", Route::PasskeyStepUp),
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
    def("GET", "/v1/orgs/{org}/events", Route::EventsList),
    def("POST", "/v1/orgs/{org}/webhooks", Route::WebhooksCreate),
    def("GET", "/v1/orgs/{org}/webhooks", Route::WebhooksList),
    def("GET", "/v1/orgs/{org}/webhooks/{id}", Route::WebhookGet),
    def("PATCH", "/v1/orgs/{org}/webhooks/{id}", Route::WebhookPatch),
    def(
        "DELETE",
        "/v1/orgs/{org}/webhooks/{id}",
        Route::WebhookDelete,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/webhooks/{id}/rotate-secret",
        Route::WebhookRotateSecret,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/webhooks/{id}/test",
        Route::WebhookTest,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/webhooks/{id}/attempts",
        Route::WebhookAttempts,
    ),
    def(
        "POST",
        "/v1/orgs/{org}/webhooks/{id}/events/{event}/replay",
        Route::WebhookReplay,
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
    def(
        "POST",
        "/v1/orgs/{org}/documents/{id}/generations",
        Route::GenerationsCreate,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/documents/{id}/generations",
        Route::GenerationsList,
    ),
    def(
        "GET",
        "/v1/orgs/{org}/documents/{id}/generations/{gen}",
        Route::GenerationGet,
    ),
    def(
        "DELETE",
        "/v1/orgs/{org}/documents/{id}/generations/{gen}",
        Route::GenerationCancel,
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
    def("GET", "/demo/passkeys", Route::DemoPasskeys),
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
    test("GET", "/__test/exports/{user}", Route::TestUserObjects),
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

#[cfg(test)]
mod tests {
    use super::*;

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
