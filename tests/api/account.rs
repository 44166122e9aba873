//! The account lifecycle: `DELETE /v1/me` (password, step-up, `last_owner`), the grace period
//! (every session ends at once; sign-in answers `account_pending_deletion` with a restore
//! token; `POST /v1/me/restore`), and the sweep's hard delete after it (audit entries
//! anonymised while the organization's chain still verifies), the change of email address,
//! and the export of the user's data.

mod email;
mod export;
mod export_retention;
mod lifecycle;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    lifecycle::trials()
        .into_iter()
        .chain(email::trials())
        .chain(export::trials())
        .chain(export_retention::trials())
        .collect()
}
