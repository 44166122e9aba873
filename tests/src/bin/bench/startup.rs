//! Size and start-up: the wasm raw and gzipped, its compile and instantiate time in Node's V8,
//! and spawning `wrangler dev` until the first 200 from /health; ours vs. hello-world.

use crate::budgets::Fig;
use crate::config::Config;
use crate::fixtures::median;
use crate::out;
use crate::report::{Report, Unit};
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;

fn gzip9_len(path: &Path) -> Result<f64> {
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("cannot run gzip")?;
    if !out.status.success() {
        bail!("gzip -9 {}: {}", path.display(), out.status);
    }
    Ok(out.stdout.len() as f64)
}

fn len(path: &Path) -> Result<f64> {
    Ok(std::fs::metadata(path)
        .with_context(|| path.display().to_string())?
        .len() as f64)
}

pub fn wasm_size(workers: &Workers, report: &mut Report) -> Result<()> {
    out::step("Wasm size");
    let (ours, hello) = (workers.wasm("ours"), workers.wasm("hello"));
    report.row(
        "Size",
        "wasm, raw",
        Unit::Bytes,
        Some(len(&ours)?),
        Some(Some(len(&hello)?)),
    );
    let og = gzip9_len(&ours)?;
    report.row(
        "Size",
        "wasm, gzip -9",
        Unit::Bytes,
        Some(og),
        Some(Some(gzip9_len(&hello)?)),
    );
    report.figure(Fig::WasmGzipBytes, Some(og));
    Ok(())
}

/// `compile_ms` and `instantiate_ms` of bench/wasm-startup.mjs on `wasm`, on the server CPUs.
fn node_startup(cfg: &Config, wasm: &Path, eager: bool) -> Result<(Option<f64>, Option<f64>)> {
    let mut cmd = cfg.server_command("node");
    if eager {
        cmd.arg("--no-wasm-lazy-compilation");
    }
    let out = cmd
        .arg(cfg.root.join("bench/wasm-startup.mjs"))
        .arg(wasm)
        .output()
        .context("cannot run node")?;
    if !out.status.success() {
        std::io::stderr().write_all(&out.stderr).ok();
        bail!("bench/wasm-startup.mjs failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |k: &str| {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('=')?.parse::<f64>().ok())
    };
    Ok((field("compile_ms"), field("instantiate_ms")))
}

pub async fn wasm_startup(cfg: &Config, workers: &Workers, report: &mut Report) -> Result<()> {
    let node = crate::tools::version("node", &["--version"]);
    out::step(&format!(
        "Wasm compile / instantiate in V8 (Node {node}, median of 15)"
    ));
    let (ours, hello) = (workers.wasm("ours"), workers.wasm("hello"));
    let (oc, oi) = node_startup(cfg, &ours, false)?;
    let (bc, bi) = node_startup(cfg, &hello, false)?;
    report.row(
        "Start-up",
        "wasm compile (V8 default, lazy)",
        Unit::Ms,
        oc,
        Some(bc),
    );
    report.row("Start-up", "wasm instantiate", Unit::Ms, oi, Some(bi));
    let (oc, _) = node_startup(cfg, &ours, true)?;
    let (bc, _) = node_startup(cfg, &hello, true)?;
    report.row(
        "Start-up",
        "wasm compile (eager, every function)",
        Unit::Ms,
        oc,
        Some(bc),
    );
    Ok(())
}

pub async fn worker_startup(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
) -> Result<()> {
    out::step(&format!(
        "Worker start-up: spawn wrangler dev -> first 200 from /health ({} runs each, median)",
        cfg.startup_runs
    ));
    let (mut ours, mut hello) = (Vec::new(), Vec::new());
    for i in 1..=cfg.startup_runs {
        for name in ["ours", "hello"] {
            let ms = workers.start(name).await?.startup_ms;
            workers.stop(name);
            if name == "ours" {
                &mut ours
            } else {
                &mut hello
            }
            .push(ms);
            out::detail(&format!("run {i} {name:<5} {ms:5.0} ms"));
        }
    }
    let (o, b) = (median(&mut ours), median(&mut hello));
    report.row(
        "Start-up",
        "wrangler dev spawn -> first 200 /health",
        Unit::Ms,
        o,
        Some(b),
    );
    report.figure(Fig::StartupOursMs, o);
    report.figure(Fig::StartupHelloMs, b);
    Ok(())
}
