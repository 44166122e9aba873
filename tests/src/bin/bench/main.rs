//! The benchmark (`bash scripts/bench [--check] [--skip-build]`): the edge API worker against a
//! hello-world workers-rs worker (bench/hello) on this machine, written to BENCHMARKS.md.
//!
//! Wasm size, start-up, /health latency and throughput through `wrangler dev --local`,
//! authenticated document GET / create / list, the per-tenant rate limiter's cost, auth cost,
//! rooms fan-out and 64 MiB file transfers, with the ratio ours ÷ baseline for every figure.
//! Workers run under the test harness ([`edge_tests::process`], [`edge_tests::ports`]); load
//! comes from `wrk` (installed when missing); every figure is a typed [`report::Row`] and
//! every budget a row of [`budgets::BUDGETS`], checked with `--check`.
//!
//! Tunables (environment): BENCH_CONNECTIONS (8), BENCH_DURATION (12 s measured per endpoint,
//! in BENCH_ROUNDS (3) rounds alternating ours and the baselines, so that background load on
//! the machine hits both alike), BENCH_WARMUP (3 s), BENCH_STARTUP_RUNS (3), BENCH_PIN (1:
//! wrangler/workerd on CPUs 1.., load generator and this program on CPU 0), BENCH_SEED_DOCS
//! (1000), BENCH_STATE_DIR (where the workers' D1/DO state goes; default /dev/shm, a tmpfs),
//! BENCH_ROOM_SOCKETS (200), BENCH_ROOM_MESSAGES (50), BENCH_FILE_RUNS (3).
//! BENCH_ONLY="bench_a bench_b" runs only those measurements and writes the report to
//! BENCH_OUT (default $TMPDIR/BENCHMARKS.partial.md, not BENCHMARKS.md): for iterating only.

mod auth;
mod budgets;
mod config;
mod events;
mod files;
mod fixtures;
mod generations;
mod host;
mod load;
mod load_rows;
mod out;
mod peer;
mod peer_rows;
mod render;
mod report;
mod rooms;
mod rounds;
mod snapshot;
mod startup;
mod tools;
mod workers;

use anyhow::{bail, Context, Result};
use config::Config;
use report::Report;
use std::time::Instant;
use workers::Workers;

/// Every measurement, in report order, by the name `BENCH_ONLY` knows it by.
const BENCHES: &[&str] = &[
    "bench_wasm_size",
    "bench_wasm_startup",
    "bench_worker_startup",
    "bench_health",
    "bench_health_direct",
    "bench_documents",
    "bench_rate_limiter",
    "bench_doc_get_breakdown",
    "bench_peer",
    "bench_auth_cost",
    "bench_room_fanout",
    "bench_files",
    "bench_events",
    "bench_generations",
];

fn main() {
    let code = match run() {
        Ok(code) => code,
        Err(e) => {
            out::error(&format!("{e:#}"));
            1
        }
    };
    std::process::exit(code);
}

fn run() -> Result<i32> {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut check = false;
    let mut skip_build = false;
    for arg in &args {
        match arg.as_str() {
            "--check" => check = true,
            "--skip-build" => skip_build = true,
            "-h" | "--help" => {
                println!("{}", help());
                return Ok(0);
            }
            other => bail!("unknown argument: {other} (see --help)"),
        }
    }
    let cfg = Config::from_env(&args, skip_build)?;
    let only = cfg.only.clone();
    let benches: Vec<&str> = match &only {
        Some(list) => {
            for name in list {
                if !BENCHES.contains(&name.as_str()) {
                    bail!("BENCH_ONLY: no measurement named {name}");
                }
            }
            BENCHES
                .iter()
                .copied()
                .filter(|b| list.iter().any(|n| n == b))
                .collect()
        }
        None => BENCHES.to_vec(),
    };

    tools::setup_and_find()?;
    let build_note = tools::build(&cfg)?;
    let mut workers = Workers::new(&cfg)?;
    // From here on this program (the load side: wrk, curl-like clients, the rooms client)
    // runs on the load CPU; wrangler and workerd are started on the others.
    cfg.pin_self()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    let mut report = Report::new(build_note);
    report.state_fs = workers.state_fs.clone();
    let result = runtime.block_on(async {
        host::stop_on_signals(workers.state_root().to_path_buf());
        measure(&cfg, &mut workers, &mut report, &benches).await
    });
    if let Err(e) = result {
        workers.show_logs();
        workers.keep_tmp();
        return Err(e);
    }
    workers.stop_all();
    report.finish_measuring();
    for v in report.verdicts() {
        let line = format!("budget: {}: {} (limit {})", v.name, v.measured, v.limit);
        match v.state {
            budgets::State::Pass => out::ok(&line),
            budgets::State::Fail => out::fail(&line),
            budgets::State::NotRun => {}
        }
    }
    out::step("Writing BENCHMARKS.md");
    let text = render::markdown(&cfg, &report, started);
    let path = cfg.out_path();
    std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
    out::ok(&format!(
        "{} (measurements {} s, whole run {} s)",
        path.display(),
        report.measure_seconds(),
        started.elapsed().as_secs()
    ));
    let failed = report.failed_budgets();
    if check {
        if failed > 0 {
            out::error(&format!("{failed} budget(s) missed"));
            return Ok(1);
        }
        out::ok("all active budgets met");
    }
    Ok(0)
}

async fn measure(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    benches: &[&str],
) -> Result<()> {
    let mut shared = rounds::Shared::default();
    for bench in benches {
        report.ran.push((*bench).to_owned());
        match *bench {
            "bench_wasm_size" => startup::wasm_size(workers, report)?,
            "bench_wasm_startup" => startup::wasm_startup(cfg, workers, report).await?,
            "bench_worker_startup" => startup::worker_startup(cfg, workers, report).await?,
            "bench_health" => rounds::health(cfg, workers, report, &mut shared).await?,
            "bench_health_direct" => rounds::health_direct(cfg, workers, report, &shared).await?,
            "bench_documents" => rounds::documents(cfg, workers, report, &mut shared).await?,
            "bench_rate_limiter" => rounds::rate_limiter(cfg, workers, report, &mut shared).await?,
            "bench_doc_get_breakdown" => {
                rounds::doc_get_breakdown(cfg, workers, report, &mut shared).await?
            }
            "bench_peer" => rounds::peer(cfg, workers, report, &mut shared).await?,
            "bench_auth_cost" => auth::auth_cost(workers, report).await?,
            "bench_room_fanout" => rooms::room_fanout(cfg, workers, report).await?,
            "bench_files" => files::files(cfg, workers, report).await?,
            "bench_events" => events::events(workers, report).await?,
            "bench_generations" => generations::generations(workers, report).await?,
            other => bail!("no measurement named {other}"),
        }
    }
    Ok(())
}

fn help() -> String {
    let doc = include_str!("main.rs");
    let mut text = String::from(
        "bash scripts/bench             build both workers, measure, write BENCHMARKS.md\n\
         bash scripts/bench --check     the same, then exit 1 if a budget is missed\n\
         bash scripts/bench --skip-build  reuse build/ and bench/hello/build/ (iteration only)\n\n",
    );
    for line in doc.lines().take_while(|l| l.starts_with("//!")).skip(10) {
        text.push_str(line.trim_start_matches("//!").trim_start());
        text.push('\n');
    }
    text
}
