//! One module per domain; `dispatch` maps each [`Route`] of the table to its handler.

mod account;
mod api_keys;
mod audit_log;
mod auth;
mod billing;
mod billing_order;
mod documents;
mod email;
mod exports;
mod files;
mod generations;
mod health;
mod identity;
mod invitations;
mod jobs;
mod me;
mod member_writes;
mod members;
mod mfa;
mod orgs;
mod passkeys;
mod password;
mod proxy;
mod rooms;
mod sessions;
mod testing;
mod webhooks;

use crate::body::Body;
use crate::ctx::Ctx;
use crate::http::ApiResult;
use edge_core::router::Route;

pub async fn dispatch(route: Route, body: Body, cx: &Ctx) -> ApiResult {
    match route {
        Route::Health => health::live(),
        Route::HealthReady => health::ready(cx).await,
        Route::Jwks => auth::jwks(cx),
        Route::OpenApi => crate::assets::openapi(cx).await,
        Route::Signup => auth::signup(body, cx).await,
        Route::Login => auth::login(body, cx).await,
        Route::Refresh => auth::refresh(body, cx).await,
        Route::Logout => auth::logout(cx).await,
        Route::SessionGet => auth::session_get(cx).await,
        Route::SessionExchange => auth::session_exchange(cx).await,
        Route::VerifyEmail => auth::verify_email(body, cx).await,
        Route::PasswordReset => auth::password_reset(body, cx).await,
        Route::PasswordResetConfirm => auth::password_reset_confirm(body, cx).await,
        Route::MeGet => me::get(cx).await,
        Route::MePatch => me::patch(body, cx).await,
        Route::PasswordChange => password::change(body, cx).await,
        Route::MeDelete => account::delete(body, cx).await,
        Route::EmailChange => email::request(body, cx).await,
        Route::EmailChangeConfirm => email::confirm(body, cx).await,
        Route::AccountRestore => auth::account_restore(body, cx).await,
        Route::ExportsCreate => exports::create(cx).await,
        Route::ExportsList => exports::list(cx).await,
        Route::ExportGet => exports::get(cx).await,
        Route::ExportDelete => exports::delete(cx).await,
        Route::ExportContent => exports::content(cx).await,
        Route::MfaComplete => auth::mfa_complete(body, cx).await,
        Route::StepUp => auth::step_up(body, cx).await,
        Route::MfaStatus => mfa::status(cx).await,
        Route::MfaTotpEnroll => mfa::enroll(body, cx).await,
        Route::MfaTotpConfirm => mfa::confirm(body, cx).await,
        Route::MfaTotpDisable => mfa::disable(body, cx).await,
        Route::MfaRecoveryCodes => mfa::regenerate(body, cx).await,
        Route::SessionsList => sessions::list(cx).await,
        Route::SessionDelete => sessions::delete(cx).await,
        Route::SessionsRevokeOthers => sessions::revoke_others(cx).await,
        Route::PasskeyRegisterOptions => passkeys::options(cx).await,
        Route::PasskeyRegister => passkeys::register(body, cx).await,
        Route::PasskeysList => passkeys::list(cx).await,
        Route::PasskeyRename => passkeys::rename(body, cx).await,
        Route::PasskeyDelete => passkeys::delete(cx).await,
        Route::PasskeyLoginOptions => auth::passkey_options(body, cx).await,
        Route::PasskeyLogin => auth::passkey_verify(body, cx).await,
        Route::PasskeyStepUpOptions => auth::passkey_step_up_options(cx).await,
        Route::PasskeyStepUp => auth::passkey_step_up(body, cx).await,
        Route::OrgsList => orgs::list(cx).await,
        Route::OrgsCreate => orgs::create(body, cx).await,
        Route::OrgGet => orgs::get(cx).await,
        Route::OrgPatch => orgs::patch(body, cx).await,
        Route::OrgDelete => orgs::delete(cx).await,
        Route::MembersList => members::list(cx).await,
        Route::MemberPatch => members::patch(body, cx).await,
        Route::MemberDelete => members::delete(cx).await,
        Route::InvitationsCreate => invitations::create(body, cx).await,
        Route::InvitationsList => invitations::list(cx).await,
        Route::InvitationDelete => invitations::delete(cx).await,
        Route::InvitationAccept => invitations::accept(body, cx).await,
        Route::ApiKeysCreate => api_keys::create(body, cx).await,
        Route::ApiKeysList => api_keys::list(cx).await,
        Route::ApiKeyDelete => api_keys::delete(cx).await,
        Route::AuditLog => audit_log::list(cx).await,
        Route::AuditLogVerify => audit_log::verify(cx).await,
        Route::EventsList => webhooks::list_events(cx).await,
        Route::WebhooksCreate => webhooks::create(body, cx).await,
        Route::WebhooksList => webhooks::list(cx).await,
        Route::WebhookGet => webhooks::get(cx).await,
        Route::WebhookPatch => webhooks::patch(body, cx).await,
        Route::WebhookDelete => webhooks::delete(cx).await,
        Route::WebhookRotateSecret => webhooks::rotate(body, cx).await,
        Route::WebhookTest => webhooks::test(cx).await,
        Route::WebhookAttempts => webhooks::list_attempts(cx).await,
        Route::WebhookReplay => webhooks::replay(cx).await,
        Route::StripeWebhook => billing::stripe_webhook(body, cx).await,
        Route::BillingSubscription => billing::subscription(cx).await,
        Route::Usage => billing::usage(cx).await,
        Route::JobsCreate => jobs::create(body, cx).await,
        Route::JobsList => jobs::list(cx).await,
        Route::JobGet => jobs::get(cx).await,
        Route::DocumentsList => documents::list(cx).await,
        Route::DocumentsCreate => documents::create(body, cx).await,
        Route::DocumentGet => documents::get(cx).await,
        Route::DocumentPatch => documents::patch(body, cx).await,
        Route::DocumentDelete => documents::delete(cx).await,
        Route::DocumentRestore => documents::restore(cx).await,
        Route::DocumentVersions => documents::versions(cx).await,
        Route::DocumentVersion => documents::version(cx).await,
        Route::DocumentShares => documents::shares(cx).await,
        Route::DocumentShare => documents::share(body, cx).await,
        Route::DocumentUnshare => documents::unshare(cx).await,
        Route::GenerationsCreate => generations::create(body, cx).await,
        Route::GenerationsList => generations::list(cx).await,
        Route::GenerationGet => generations::get(cx).await,
        Route::GenerationCancel => generations::cancel(cx).await,
        Route::FilesUpload => files::upload(body, cx).await,
        Route::FilesList => files::list(cx).await,
        Route::FileUploadUrl => files::create_upload_url(body, cx).await,
        Route::FileMultipartCreate => files::multipart_create(body, cx).await,
        Route::FileMultipartGet => files::multipart_get(cx).await,
        Route::FileMultipartAbort => files::multipart_abort(cx).await,
        Route::FileMultipartPart => files::multipart_part(body, cx).await,
        Route::FileMultipartComplete => files::multipart_complete(cx).await,
        Route::FileGet => files::get(cx).await,
        Route::FileDelete => files::delete(cx).await,
        Route::FileContent => files::content(cx).await,
        Route::FileSignedUpload => files::signed_upload(body, cx).await,
        Route::FileDownloadUrl => files::download_url(cx).await,
        Route::TestFileObjects => testing::file_objects(cx).await,
        Route::TestUserObjects => testing::user_objects(cx).await,
        Route::TestR2Put => testing::r2_put(body, cx).await,
        Route::TestR2Get => testing::r2_get(cx).await,
        Route::RoomTicket => rooms::ticket(cx).await,
        Route::RoomConnect => rooms::connect(cx).await,
        Route::RoomPresence => rooms::presence(cx).await,
        Route::DemoRooms => crate::assets::demo_page(cx, "rooms_demo.html").await,
        Route::DemoPasskeys => crate::assets::demo_page(cx, "passkeys_demo.html").await,
        Route::TestRoomEvents => testing::room_events(cx).await,
        Route::OriginProxy => proxy::forward(body, cx).await,
        Route::TestSweep => crate::http::json(200, &crate::jobs::sweep::run(&cx.env).await?),
        Route::TestPanic => testing::panic(),
        Route::TestEcho => testing::echo(body).await,
        Route::TestJobCreate => testing::create_job(body, cx).await,
        Route::TestJobGet => testing::get_job(cx).await,
        Route::TestJobRedeliver => testing::redeliver_job(cx).await,
        Route::TestBenchHash => testing::bench_hash(cx),
        Route::TestBenchJwt => testing::bench_jwt(cx),
        Route::TestTenantId => testing::tenant_id(cx),
        Route::TestTenantWindows => testing::tenant_windows(cx).await,
    }
}
