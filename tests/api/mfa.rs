//! The second half of identity: TOTP second factors with recovery codes (codes from PyPI's
//! `pyotp`), sign-in that stops at `mfa_required`, step-up for sensitive actions and the
//! organization's `require_mfa`, sessions a user can list and end, password changes, the
//! breached-password check, browser cookie sessions with CSRF defence, and passkeys (made by
//! headless Chromium's virtual authenticator).

mod breached;
mod cookie_browser;
mod cookies;
pub(crate) mod kit;
mod passkey_kit;
mod passkey_refusals;
mod passkeys;
mod password;
mod sessions;
mod step_up;
mod totp;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        totp::trials(),
        step_up::trials(),
        sessions::trials(),
        password::trials(),
        breached::trials(),
        cookies::trials(),
        cookie_browser::trials(),
        passkeys::trials(),
        passkey_refusals::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
