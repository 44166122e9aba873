//! The black-box suite: one worker under `wrangler dev` and one origin for the whole run,
//! trials in parallel threads, teardown always. See `support` for how a trial runs.
//!
//! `cargo test -p edge-tests --test api [FILTER] [-- --test-threads N]`; `EDGE_TESTS_KEEP=1`
//! keeps every worker's temp dir (env file, wrangler log, state); a failing run keeps the
//! shared worker's.

mod foundation;
mod support;

use libtest_mimic::{Arguments, Conclusion};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(support::default_threads());
    }
    let trials = foundation::trials();
    if args.list {
        return libtest_mimic::run(&args, trials).exit_code();
    }
    if let Err(e) = support::start() {
        eprintln!("edge-tests: could not start the suite: {e}");
        support::teardown(true);
        return ExitCode::FAILURE;
    }
    let conclusion: Conclusion = libtest_mimic::run(&args, trials);
    support::teardown(conclusion.has_failed());
    conclusion.exit_code()
}
