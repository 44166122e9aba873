//! What every trial shares: one Tokio runtime, the origin, the worker and a client for it.
//!
//! Trials run in libtest-mimic's threads, each blocking on its own future on the shared
//! runtime, with a deadline. Most trials are `shared` and run side by side; an `exclusive`
//! trial (one that takes the worker's wasm instance down, like the panic test) runs alone.

use edge_tests::{process, Api, Origin, Worker, WorkerOptions};
use libtest_mimic::Trial;
use std::future::Future;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

/// No trial may take longer than this.
const TRIAL_TIMEOUT: Duration = Duration::from_secs(120);

pub struct Suite {
    rt: tokio::runtime::Runtime,
    pub origin: Origin,
    /// A customer's webhook receiver on loopback (another port than the origin), reachable
    /// through `OUTBOUND_ALLOW_HOSTS`.
    pub receiver: Origin,
    /// A loopback `host:port` nothing listens on, also in `OUTBOUND_ALLOW_HOSTS`: a receiver
    /// that refuses connections.
    pub refusing: String,
    pub worker: Worker,
    /// A client for the shared worker.
    pub api: Api,
    exclusive: RwLock<()>,
}

static SUITE: OnceLock<Suite> = OnceLock::new();

pub fn suite() -> &'static Suite {
    SUITE.get().expect("support::start() ran before the trials")
}

/// Starts the runtime, the origin and the shared worker.
pub fn start() -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let started = std::time::Instant::now();
    let refusing = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("a closed port: {e}"))?
        .to_string();
    let allowed = |receiver: &Origin| format!("{},{refusing}", receiver.host_port());
    let (origin, receiver, worker) = rt.block_on(async {
        process::kill_all_on_signals();
        let origin = Origin::start().await.map_err(|e| format!("origin: {e}"))?;
        let receiver = Origin::start()
            .await
            .map_err(|e| format!("webhook receiver: {e}"))?;
        let opts = WorkerOptions::new()
            .origin(&origin)
            .var("OUTBOUND_ALLOW_HOSTS", allowed(&receiver));
        let worker = Worker::start(opts).await?;
        Ok::<_, String>((origin, receiver, worker))
    })?;
    eprintln!(
        "edge-tests: worker up at {} in {:.1?} (log: {})",
        worker.base_url(),
        started.elapsed(),
        worker.log_path().display()
    );
    let api = worker.api();
    let suite = Suite {
        rt,
        origin,
        receiver,
        refusing,
        worker,
        api,
        exclusive: RwLock::new(()),
    };
    SUITE
        .set(suite)
        .map_err(|_| "the suite started twice".to_owned())
}

/// Stops the shared worker (keeping its files when the run failed) and anything left over,
/// then reports what the log scans found: `false` if any worker logged a credential.
pub fn teardown(failed: bool) -> bool {
    let leaks = edge_tests::credentials::violations();
    let failed = failed || !leaks.is_empty();
    if let Some(s) = SUITE.get() {
        if failed {
            let dir = s.worker.keep_files();
            eprintln!(
                "edge-tests: the shared worker's env file, log and state are in {}",
                dir.display()
            );
        }
        s.worker.stop();
    }
    process::kill_all_live();
    let mut leaks = edge_tests::credentials::violations();
    leaks.sort();
    leaks.dedup();
    eprintln!(
        "edge-tests: scanned the worker logs for {} credentials the suite used and for \
         credential patterns: {} found",
        edge_tests::credentials::collected(),
        leaks.len()
    );
    for leak in &leaks {
        eprintln!("edge-tests: LEAK {leak}");
    }
    leaks.is_empty()
}

/// Test threads when `--test-threads` is not given: `RUST_TEST_THREADS`, else 4 (the trials
/// mostly wait on the worker and the job queue, so more threads than cores pay off).
pub fn default_threads() -> usize {
    std::env::var("RUST_TEST_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4)
}

impl Suite {
    /// A worker of the trial's own (restart tests, other settings), sending jobs to the shared
    /// origin unless `opts` names another (and webhooks to the shared receiver). Killed when
    /// dropped.
    pub async fn private_worker(&self, opts: WorkerOptions) -> Worker {
        let opts = match opts.origin_url() {
            Some(_) => opts,
            None => opts.origin(&self.origin),
        };
        let allowed = format!("{},{}", self.receiver.host_port(), self.refusing);
        let opts = opts.var_default("OUTBOUND_ALLOW_HOSTS", allowed);
        Worker::start(opts)
            .await
            .unwrap_or_else(|e| panic!("private worker: {e}"))
    }
}

#[derive(Clone, Copy)]
pub enum Kind {
    Shared,
    Exclusive,
}

/// Wraps an `async fn(&Suite)` as a trial named after its module path.
pub fn make_trial<F, Fut>(path: &str, kind: Kind, f: F) -> Trial
where
    F: FnOnce(&'static Suite) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let name = path.strip_prefix("api::").unwrap_or(path).to_owned();
    let label = name.clone();
    Trial::test(name, move || {
        let s = suite();
        let _shared;
        let _alone;
        match kind {
            Kind::Shared => _shared = s.exclusive.read().unwrap_or_else(|e| e.into_inner()),
            Kind::Exclusive => _alone = s.exclusive.write().unwrap_or_else(|e| e.into_inner()),
        }
        s.rt.handle().block_on(async {
            if tokio::time::timeout(TRIAL_TIMEOUT, f(s)).await.is_err() {
                panic!("{label} did not finish within {TRIAL_TIMEOUT:?}");
            }
        });
        Ok(())
    })
}

/// `trial!(f)` / `trial!(exclusive f)`: the trial for `async fn f(s: &Suite)`.
macro_rules! trial {
    (exclusive $f:ident) => {
        $crate::support::make_trial(
            concat!(module_path!(), "::", stringify!($f)),
            $crate::support::Kind::Exclusive,
            $f,
        )
    };
    ($f:ident) => {
        $crate::support::make_trial(
            concat!(module_path!(), "::", stringify!($f)),
            $crate::support::Kind::Shared,
            $f,
        )
    };
}
pub(crate) use trial;
