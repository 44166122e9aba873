//! Files in R2: streamed uploads and downloads (0 B to 64 MiB, byte-identical, SHA-256),
//! multipart with ranges, refusals that leave nothing behind (R2 and D1 are inspected through
//! the test route `/__test/files/{org}`), signed upload and download URLs, tenancy on every
//! route, object keys that no name can move, storage usage, and the `file.process` job.

mod cleanup;
mod kit;
mod large_refusals;
mod purge;
mod refusals;
mod signed;
mod tenancy;
mod transfer;

use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    [
        transfer::trials(),
        refusals::trials(),
        signed::trials(),
        tenancy::trials(),
        cleanup::trials(),
        large_refusals::trials(),
        purge::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
