//! The public jobs API (`/v1/orgs/{org}/jobs…`), job delivery to the origin and its retries,
//! duplicate deliveries, `job.updated` room events, `webhook.deliver` outbound safety, and the
//! origin proxy (`/v1/orgs/{org}/origin/{path…}`).

mod api;
mod delivery;
mod idempotency;
pub(crate) mod kit;
mod proxy;
mod retries;
mod spoof;
mod ssrf;
mod sweep;
mod trust;
mod webhook;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        api::trials(),
        idempotency::trials(),
        delivery::trials(),
        sweep::trials(),
        webhook::trials(),
        proxy::trials(),
        retries::trials(),
        ssrf::trials(),
        spoof::trials(),
        trust::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
