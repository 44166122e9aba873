//! Events and customer webhooks (#19): every change is an event written with it (the outbox),
//! endpoints subscribe by type, deliveries are signed per the Standard Webhooks spec and
//! verified here with PyPI's `standardwebhooks` (not our code), retried with the same
//! `webhook-id`, logged, replayable, and never cross an organization.
//!
//! Receivers are the suite's loopback `receiver`, one script key per endpoint (the
//! `test_key` query parameter of the endpoint's URL).

mod delivery;
mod endpoints;
mod failures;
pub(crate) mod kit;
mod limits;
mod outbox;
mod restart;
mod tenancy;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        delivery::trials(),
        endpoints::trials(),
        failures::trials(),
        limits::trials(),
        outbox::trials(),
        restart::trials(),
        tenancy::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
