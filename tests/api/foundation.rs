//! The foundation every capability builds on: health, the problem format, JSON body decoding,
//! request ids, CORS, security headers, panic containment, the job transport to the origin,
//! structured logs, and the build's exports.

mod assets;
mod body;
mod cors;
mod exports;
mod headers;
mod health;
mod job_api;
mod jobs;
mod logs;
mod panic;
mod request_id;
mod restart;
mod test_routes;

use libtest_mimic::Trial;

/// The test-only JSON route: `{"name": 1..100 chars, "count"?: 0..1000}`, echoed back.
pub const ECHO: &str = "/__test/echo";
/// The one browser origin the test workers allow (`CORS_ORIGINS`).
pub const LISTED_ORIGIN: &str = "https://app.test.example";

pub fn trials() -> Vec<Trial> {
    [
        health::trials(),
        assets::trials(),
        body::trials(),
        request_id::trials(),
        cors::trials(),
        headers::trials(),
        panic::trials(),
        job_api::trials(),
        jobs::trials(),
        logs::trials(),
        exports::trials(),
        restart::trials(),
        test_routes::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
