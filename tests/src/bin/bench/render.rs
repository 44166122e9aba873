//! BENCHMARKS.md from a [`Report`]: the run's header (machine, tools, load, noise), one table
//! per section in the order measured, the notes, the budget table rendered from
//! [`crate::budgets::BUDGETS`], then the fixed prose (prose.md).

use crate::budgets::BUDGETS;
use crate::config::Config;
use crate::report::Report;
use crate::tools::version;
use std::fmt::Write;
use std::time::Instant;

fn git(args: &[&str]) -> Option<String> {
    let out = edge_tests::project::command("git")
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn machine(cfg: &Config) -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(": ")
                .map(|(_, m)| m.to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("MemTotal:")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0.0);
    let uname = version("uname", &["-sr"]);
    format!(
        "{} CPUs, {model}, {:.1} GiB RAM, {uname}",
        cfg.ncpu,
        mem_kib / 1048576.0
    )
}

fn tools() -> String {
    let wrangler = version("wrangler", &["--version"]);
    let wrangler = wrangler.lines().last().unwrap_or("unknown").to_owned();
    let rustc = version("rustc", &["--version"]);
    let rustc: Vec<&str> = rustc.split_whitespace().take(2).collect();
    let wrk = version("wrk", &["-v"]);
    let wrk: Vec<&str> = wrk
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .take(2)
        .collect();
    format!(
        "wrangler {wrangler}, Node {}, {}, worker-build {}, {}",
        version("node", &["--version"]),
        rustc.join(" "),
        version("worker-build", &["--version"]),
        wrk.join(" ")
    )
}

pub fn markdown(cfg: &Config, report: &Report, started: Instant) -> String {
    let mut s = String::new();
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let status = git(&["status", "--porcelain"]).unwrap_or_default();
    let dirty = status
        .lines()
        .any(|l| !l.starts_with("??") && !l.ends_with(" BENCHMARKS.md"));
    let dirty = if dirty {
        " (working tree has uncommitted changes)"
    } else {
        ""
    };
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let state_parent = cfg.state_parent.display();
    let _ = write!(
        s,
        "# Benchmarks\n\n\
Written by `scripts/bench`; do not edit by hand. Ratio = ours ÷ baseline, where the baseline\n\
is the hello-world workers-rs worker in `bench/hello` (same `worker` crate, same release\n\
profile, same `/health` JSON). For latency and size lower is better, for requests/s higher.\n\n\
| | |\n|---|---|\n\
| date | {date} |\n\
| commit | `{commit}`{dirty} |\n\
| command | `{}`{} |\n\
| machine | {} |\n\
| tools | {} |\n\
| load | wrk, closed loop, 1 thread, {c} connections, 127.0.0.1; per endpoint {} s warm-up, then {} rounds of {} s alternating ours and the baselines, percentiles over all rounds; {} |\n\
| worker state | D1 and Durable Object SQLite files on `{}` ({state_parent}); {} documents seeded through the API for the list |\n\
| noise | load average before / after measuring: {} / {}; workerd processes of others already running: {} |\n\
| duration | measurements took {} s; whole run {} s |\n\n",
        cfg.command,
        report.build_note,
        machine(cfg),
        tools(),
        cfg.warmup_s,
        cfg.rounds,
        cfg.round_s,
        cfg.pin_note(),
        report.state_fs,
        cfg.seed_docs,
        report.loadavg_before,
        report.loadavg_after,
        report.other_workerd,
        report.measure_seconds(),
        started.elapsed().as_secs(),
        c = cfg.connections,
    );
    let mut section = "";
    for row in &report.rows {
        if row.section != section {
            if !section.is_empty() {
                s.push('\n');
            }
            let _ = write!(
                s,
                "## {}\n\n| metric | ours | baseline | ratio |\n|---|---:|---:|---:|\n",
                row.section
            );
            section = &row.section;
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            row.metric,
            row.ours.text(),
            row.baseline.text(),
            row.ratio()
        );
    }
    if !report.notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in &report.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s.push_str("\n## Budgets (`scripts/bench --check` fails when one is missed)\n\n");
    s.push_str("| budget | measured | limit | verdict |\n|---|---:|---:|---|\n");
    for v in report.verdicts() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            v.name,
            v.measured,
            v.limit,
            v.label()
        );
    }
    s.push_str("\nWhich baseline each budget uses, and why:\n\n");
    for b in BUDGETS {
        let _ = writeln!(s, "- **{}**: {}", b.name, b.why);
    }
    s.push_str(
        "- The hello-world + 1 console.log per request rows are a diagnostic, not a budget's\n  \
baseline: they show how much of the gap is wrangler dev's log pipeline (every line crosses\n  \
the inspector and Node), which production logging does not have.\n\
- Every budget fails on an empty or zero measurement (a run that measured nothing).\n\n",
    );
    s.push_str(include_str!("prose.md"));
    s
}
