//! Realtime rooms against the real worker: the message protocol (order, `seq`, history),
//! presence (users, not sockets; clean and abrupt disconnects), refused frames, every refusal
//! before the upgrade (credentials, tickets, tenancy, document rights, the connection quota),
//! sockets closed on logout and member removal, `seq` and history across a restart, the demo
//! page in headless Chromium, and one message fanned out to 200 sockets.

mod access;
mod demo;
pub(crate) mod kit;
mod lifecycle;
mod protocol;
mod scale;
mod scopes;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        protocol::trials(),
        access::trials(),
        lifecycle::trials(),
        scopes::trials(),
        demo::trials(),
        scale::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
