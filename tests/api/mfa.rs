//! The second half of identity: TOTP second factors with recovery codes (codes from PyPI's
//! `pyotp`), sign-in that stops at `mfa_required`, step-up for sensitive actions and the
//! organization's `require_mfa`, sessions a user can list and end, password changes, and the breached-password check.

mod breached;
mod kit;
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
    ]
    .into_iter()
    .flatten()
    .collect()
}
