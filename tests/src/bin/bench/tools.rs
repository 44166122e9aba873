//! What the bench needs before measuring: scripts/setup, `wrk` (apt-get installed when
//! missing), the builds of ours and of the hello-world baselines, the rooms client; and the
//! tool versions the report names.

use crate::config::{which, Config};
use crate::out;
use anyhow::{bail, Context, Result};
use edge_tests::project;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs `cmd`, its output into `log` (a file); on failure the error shows its last lines.
pub fn run_logged(mut cmd: Command, log: &std::path::Path, what: &str) -> Result<()> {
    let file = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
    let file2 = file.try_clone().context("log file")?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(file2)
        .status()
        .with_context(|| format!("cannot run {what}"))?;
    if !status.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        bail!("{what} failed ({status}):\n{}", project::tail(&text, 40));
    }
    Ok(())
}

/// scripts/setup (cached tools), then `wrk` (Debian package) if it is missing, then checks that
/// every tool the bench runs is there.
pub fn setup_and_find() -> Result<()> {
    out::step("Tools (scripts/setup)");
    let log = std::env::temp_dir().join(format!("edge-bench-setup-{}.log", std::process::id()));
    let mut cmd = project::command("bash");
    cmd.arg("scripts/setup");
    run_logged(cmd, &log, "scripts/setup")?;
    let _ = std::fs::remove_file(&log);
    out::ok("setup done");
    if !which("wrk") {
        out::step("Installing wrk (Debian)");
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let apt = |args: &[&str]| -> Result<()> {
            let mut cmd = if root {
                Command::new("apt-get")
            } else {
                let mut c = Command::new("sudo");
                c.arg("apt-get");
                c
            };
            let status = cmd
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .stdout(Stdio::null())
                .status()
                .context("cannot run apt-get")?;
            if !status.success() {
                bail!("apt-get {} failed ({status})", args.join(" "));
            }
            Ok(())
        };
        apt(&["update", "-qq"])?;
        apt(&["install", "-y", "-qq", "wrk"])?;
    }
    for tool in [
        "wrk",
        "gzip",
        "node",
        "wrangler",
        "worker-build",
        "taskset",
        "ss",
    ] {
        if !which(tool) {
            bail!("{tool} not found");
        }
    }
    Ok(())
}

/// Builds ours (scripts/build), the baseline and the baseline with an access log line, and the
/// rooms client; returns the report's build note (empty, or what --skip-build reused).
pub fn build(cfg: &Config) -> Result<String> {
    let hello = &cfg.hello_dir;
    let built = |dir: &str| hello.join(dir).join("index_bg.wasm").is_file();
    let mut note = String::new();
    if cfg.skip_build
        && cfg.root.join("build/index_bg.wasm").is_file()
        && built("build")
        && built("build-log")
    {
        out::step("Builds skipped (--skip-build): reusing build/ and bench/hello/build/");
        note.push_str(" (--skip-build: existing builds reused)");
    } else {
        out::step("Building ours (scripts/build)");
        let t = Instant::now();
        let mut cmd = project::command("bash");
        cmd.arg("scripts/build").env_remove("EDGE_SKIP_BUILD");
        run_logged(cmd, &cfg.tmp.join("build-ours.log"), "scripts/build")?;
        out::ok(&format!("built in {} s", t.elapsed().as_secs()));
        out::step("Building the baseline (bench/hello, worker-build --release; and --features access-log)");
        check_hello_bindgen(cfg)?;
        let t = Instant::now();
        let mut cmd = project::command("bash");
        cmd.args(["-c", "source ../../scripts/lib.sh && worker-build --release && worker-build --release --out-dir build-log . --features access-log"])
            .current_dir(hello);
        run_logged(cmd, &cfg.tmp.join("build-hello.log"), "bench/hello build")?;
        out::ok(&format!("built in {} s", t.elapsed().as_secs()));
    }
    if let Some(only) = &cfg.only {
        note.push_str(&format!(
            " (BENCH_ONLY=\"{}\": partial run)",
            only.join(" ")
        ));
    }
    // The rooms client: a debug build, as the rows' note says.
    let mut cmd = project::command("cargo");
    cmd.args([
        "build",
        "-q",
        "--locked",
        "-p",
        "edge-tests",
        "--bin",
        "room_fanout",
    ]);
    run_logged(
        cmd,
        &cfg.tmp.join("room-fanout-build.log"),
        "building the room_fanout client",
    )?;
    Ok(note)
}

/// bench/hello's Cargo.lock must name the wasm-bindgen version of the installed CLI.
fn check_hello_bindgen(cfg: &Config) -> Result<()> {
    let lib = std::fs::read_to_string(cfg.root.join("scripts/lib.sh")).context("scripts/lib.sh")?;
    let want = lib
        .lines()
        .find_map(|l| l.strip_prefix("WASM_BINDGEN_VERSION=\""))
        .and_then(|v| v.strip_suffix('"'))
        .context("scripts/lib.sh has no WASM_BINDGEN_VERSION")?;
    let lock = std::fs::read_to_string(cfg.hello_dir.join("Cargo.lock"))
        .context("bench/hello/Cargo.lock")?;
    let have = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"wasm-bindgen\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
        .and_then(|v| v.strip_suffix('"'))
        .context("bench/hello/Cargo.lock has no wasm-bindgen")?;
    if have != want {
        bail!("bench/hello/Cargo.lock has wasm-bindgen {have}, the CLI is {want}");
    }
    Ok(())
}

/// The first line of `program args…` (stdout, else stderr), or "unknown".
pub fn version(program: &str, args: &[&str]) -> String {
    project::command(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            let text = if o.stdout.is_empty() {
                o.stderr
            } else {
                o.stdout
            };
            String::from_utf8_lossy(&text).trim().to_owned()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
