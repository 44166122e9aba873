//! Rate limits, plans, quotas, Stripe webhooks and usage. Every trial starts a private worker
//! with small limits of its own (the shared worker runs with limits no test reaches), and every
//! request to an auth endpoint comes from a random `CF-Connecting-IP`.

mod auth;
mod billing;
mod fields;
mod fixtures;
mod foreign;
mod isolation;
mod ordering;
mod plans;
mod quotas;
mod requests;
mod restart;
mod stripe;
mod webhooks;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        requests::trials(),
        fields::trials(),
        isolation::trials(),
        foreign::trials(),
        plans::trials(),
        auth::trials(),
        quotas::trials(),
        webhooks::trials(),
        billing::trials(),
        ordering::trials(),
        restart::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
