//! Identity and access: accounts and sessions (signup, login, refresh rotation with reuse
//! detection, logout, email verification, password reset), forged and rotated access tokens,
//! organizations, members and roles, invitations, API keys, tenancy, mass assignment, bad
//! input, and the audit log with its hash chain.
//!
//! Every reply these tests receive goes through `kit::send`, which refuses any response that
//! shows a password hash, a stored token hash, a reset token, or an API key outside its one
//! create answer.

mod api_keys;
mod audit;
mod audit_pages;
mod email;
mod flows;
mod housekeeping;
mod input;
mod invitations;
mod jwt;
pub(crate) mod kit;
pub mod leaks;
mod mass_assignment;
mod me;
mod members;
mod one_time;
mod org_input;
mod races;
mod rehash;
mod role_rows;
mod roles;
mod tenancy;
mod tokens;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        flows::trials(),
        housekeeping::trials(),
        me::trials(),
        tokens::trials(),
        email::trials(),
        invitations::trials(),
        members::trials(),
        api_keys::trials(),
        roles::trials(),
        tenancy::trials(),
        mass_assignment::trials(),
        input::trials(),
        org_input::trials(),
        audit::trials(),
        audit_pages::trials(),
        rehash::trials(),
        one_time::trials(),
        races::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
