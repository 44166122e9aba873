//! The black-box suite: one worker under `wrangler dev` and one origin for the whole run,
//! trials in parallel threads, teardown always. See `support` for how a trial runs.
//!
//! `cargo test -p edge-tests --test api [FILTER] [-- --test-threads N]`. `EDGE_SKIP_BUILD=1`
//! reuses `build/`; `EDGE_TESTS_KEEP=1` keeps every worker's temp dir (env file, wrangler log,
//! state); a failing run keeps the shared worker's.
//!
//! Adding a capability: a module `tests/api/<capability>.rs` with `pub fn trials()` listing
//! its `async fn name(s: &Suite)` tests as `trial!(name)` (or `trial!(exclusive name)` for a
//! test that must run alone), added to [`all_trials`]. Each test makes its own data.

mod account;
mod documents;
mod files;
mod foundation;
mod generations;
mod identity;
mod jobs;
mod limits;
mod mfa;
mod rooms;
mod support;
mod webhooks;

use libtest_mimic::{Arguments, Trial};
use std::process::ExitCode;

fn all_trials() -> Vec<Trial> {
    [
        foundation::trials(),
        account::trials(),
        documents::trials(),
        files::trials(),
        generations::trials(),
        identity::trials(),
        jobs::trials(),
        limits::trials(),
        mfa::trials(),
        rooms::trials(),
        webhooks::trials(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(support::default_threads());
    }
    let trials = all_trials();
    if args.list || trials.iter().all(|t| args.is_filtered_out(t)) {
        // Nothing will run: no need for a worker.
        return libtest_mimic::run(&args, trials).exit_code();
    }
    if let Err(e) = support::start() {
        eprintln!("edge-tests: could not start the suite: {e}");
        let _ = support::teardown(true);
        return ExitCode::FAILURE;
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // The log scan runs once every trial is done and every worker stopped: a credential in
    // any worker's log fails the run even when every trial passed.
    if !support::teardown(conclusion.has_failed()) {
        eprintln!("edge-tests: credentials were found in the worker logs (see LEAK lines)");
        return ExitCode::FAILURE;
    }
    conclusion.exit_code()
}
