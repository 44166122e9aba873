//! One module per domain; `dispatch` maps each [`Route`] of the table to its handler.

mod api_keys;
mod audit_log;
mod auth;
mod billing;
mod billing_order;
mod documents;
pub mod files;
mod health;
mod identity;
mod invitations;
mod jobs;
mod me;
mod member_writes;
mod orgs;
mod password_reset;
mod proxy;
mod rooms;
mod testing;
mod webhook_secret;

use crate::http::ApiResult;
use crate::pipeline::Ctx;
use edge_core::router::Route;
use worker::Request;

pub async fn dispatch(route: Route, req: Request, cx: &Ctx) -> ApiResult {
    match route {
        Route::Health => health::live(),
        Route::HealthReady => health::ready(cx).await,
        Route::Jwks => auth::jwks(cx),
        Route::OpenApi => openapi(),
        Route::Signup => auth::signup(req, cx).await,
        Route::Login => auth::login(req, cx).await,
        Route::Refresh => auth::refresh(req, cx).await,
        Route::Logout => auth::logout(req, cx).await,
        Route::VerifyEmail => auth::verify_email(req, cx).await,
        Route::PasswordReset => auth::password_reset(req, cx).await,
        Route::PasswordResetConfirm => password_reset::confirm(req, cx).await,
        Route::MeGet => me::get(req, cx).await,
        Route::MePatch => me::patch(req, cx).await,
        Route::OrgsList => orgs::list(req, cx).await,
        Route::OrgsCreate => orgs::create(req, cx).await,
        Route::OrgGet => orgs::get(req, cx).await,
        Route::OrgPatch => orgs::patch(req, cx).await,
        Route::OrgDelete => orgs::delete(req, cx).await,
        Route::MembersList => orgs::members(req, cx).await,
        Route::MemberPatch => orgs::member_patch(req, cx).await,
        Route::MemberDelete => orgs::member_delete(req, cx).await,
        Route::InvitationsCreate => invitations::create(req, cx).await,
        Route::InvitationsList => invitations::list(req, cx).await,
        Route::InvitationDelete => invitations::delete(req, cx).await,
        Route::InvitationAccept => invitations::accept(req, cx).await,
        Route::ApiKeysCreate => api_keys::create(req, cx).await,
        Route::ApiKeysList => api_keys::list(req, cx).await,
        Route::ApiKeyDelete => api_keys::delete(req, cx).await,
        Route::AuditLog => audit_log::list(req, cx).await,
        Route::AuditLogVerify => audit_log::verify(req, cx).await,
        Route::WebhookSecretGet => webhook_secret::get(req, cx).await,
        Route::WebhookSecretRotate => webhook_secret::rotate(req, cx).await,
        Route::StripeWebhook => billing::stripe_webhook(req, cx).await,
        Route::BillingSubscription => billing::subscription(req, cx).await,
        Route::Usage => billing::usage(req, cx).await,
        Route::JobsCreate => jobs::create(req, cx).await,
        Route::JobsList => jobs::list(req, cx).await,
        Route::JobGet => jobs::get(req, cx).await,
        Route::DocumentsList => documents::list(req, cx).await,
        Route::DocumentsCreate => documents::create(req, cx).await,
        Route::DocumentGet => documents::get(req, cx).await,
        Route::DocumentPatch => documents::patch(req, cx).await,
        Route::DocumentDelete => documents::delete(req, cx).await,
        Route::DocumentRestore => documents::restore(req, cx).await,
        Route::DocumentVersions => documents::versions(req, cx).await,
        Route::DocumentVersion => documents::version(req, cx).await,
        Route::DocumentShares => documents::shares(req, cx).await,
        Route::DocumentShare => documents::share(req, cx).await,
        Route::DocumentUnshare => documents::unshare(req, cx).await,
        Route::FilesUpload => files::upload(req, cx).await,
        Route::FilesList => files::list(req, cx).await,
        Route::FileUploadUrl => files::create_upload_url(req, cx).await,
        Route::FileMultipartCreate => files::multipart_create(req, cx).await,
        Route::FileMultipartGet => files::multipart_get(req, cx).await,
        Route::FileMultipartAbort => files::multipart_abort(req, cx).await,
        Route::FileMultipartPart => files::multipart_part(req, cx).await,
        Route::FileMultipartComplete => files::multipart_complete(req, cx).await,
        Route::FileGet => files::get(req, cx).await,
        Route::FileDelete => files::delete(req, cx).await,
        Route::FileContent => files::content(req, cx).await,
        Route::FileSignedUpload => files::signed_upload(req, cx).await,
        Route::FileDownloadUrl => files::download_url(req, cx).await,
        Route::TestFileObjects => testing::file_objects(req, cx).await,
        Route::TestR2Put => testing::r2_put(req, cx).await,
        Route::TestR2Get => testing::r2_get(cx).await,
        Route::RoomTicket => rooms::ticket(req, cx).await,
        Route::RoomConnect => rooms::connect(req, cx).await,
        Route::RoomPresence => rooms::presence(req, cx).await,
        Route::DemoRooms => rooms::demo(),
        Route::TestRoomEvents => testing::room_events(cx).await,
        Route::OriginProxy => proxy::forward(req, cx).await,
        Route::TestSweep => crate::http::json(200, &crate::jobs::sweep::run(&cx.env).await?),
        Route::TestPanic => testing::panic(),
        Route::TestEcho => testing::echo(req).await,
        Route::TestJobCreate => testing::create_job(req, cx).await,
        Route::TestJobGet => testing::get_job(cx).await,
        Route::TestJobRedeliver => testing::redeliver_job(cx).await,
        Route::TestBenchHash => testing::bench_hash(&req, cx),
        Route::TestBenchJwt => testing::bench_jwt(&req, cx),
        Route::TestTenantId => testing::tenant_id(cx),
        Route::TestTenantWindows => testing::tenant_windows(cx).await,
    }
}

/// The OpenAPI 3.1 document (kept in step with the route table by a test in `edge-core`).
fn openapi() -> ApiResult {
    let mut resp = worker::Response::from_bytes(edge_core::openapi::DOCUMENT.as_bytes().to_vec())
        .map_err(|e| crate::http::internal("openapi", e))?;
    let _ = resp
        .headers_mut()
        .set("Content-Type", "application/json; charset=utf-8");
    let _ = resp
        .headers_mut()
        .set("Cache-Control", "public, max-age=300");
    Ok(resp)
}
