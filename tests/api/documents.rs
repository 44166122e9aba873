//! Documents in D1: create, read, PATCH with versions, soft delete and restore, shares, rights
//! per role and per API-key scope, tenancy (another organization's documents are 404), entity
//! tags and conditional requests, concurrent PATCHes, full-text search, cursor pagination under
//! inserts, idempotent create, the monthly documents quota, durability across a restart, and
//! the events every write publishes to the room `doc:{id}`.
//!
//! Accounts come from the real signup, further members from real invitations (the token is
//! read from the `email` job the origin receives); every test makes its own organizations.

mod concurrency;
mod conditional;
mod crud;
mod events;
mod idempotency;
pub(crate) mod kit;
mod pagination;
mod permissions;
mod quota;
mod restart;
mod search;
mod shapes;
mod shares;
mod tenancy;
mod validation;
mod versions;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        crud::trials(),
        validation::trials(),
        versions::trials(),
        permissions::trials(),
        shares::trials(),
        tenancy::trials(),
        conditional::trials(),
        concurrency::trials(),
        search::trials(),
        pagination::trials(),
        idempotency::trials(),
        quota::trials(),
        restart::trials(),
        events::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
