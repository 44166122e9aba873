//! What the workers run from: a snapshot of each build (so that a rebuild or wrangler's file
//! watcher cannot swap the code under test mid-run), and copies of the migrated state.

use crate::config::Config;
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

pub fn copy_dir_contents(from: &Path, to: &Path) -> Result<()> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from.join("."))
        .arg(to)
        .status()
        .context("cp")?;
    if !status.success() {
        bail!("cp -a {} {}: {status}", from.display(), to.display());
    }
    Ok(())
}

/// Copies what wrangler dev serves (build/, the JS entry, migrations, and wrangler.toml without
/// its [build] section) to $TMP/app-NAME. The workers run from these copies, so neither a
/// concurrent rebuild of build/ nor wrangler's file watcher can swap the code under test.
pub fn snapshot(cfg: &Config, name: &str) -> Result<()> {
    if name == "peer" {
        return crate::peer::snapshot(cfg);
    }
    let (src, build) = match name {
        "ours" => (cfg.root.clone(), cfg.root.join("build")),
        "hello" => (cfg.hello_dir.clone(), cfg.hello_dir.join("build")),
        _ => (cfg.hello_dir.clone(), cfg.hello_dir.join("build-log")),
    };
    let app = cfg.tmp.join(format!("app-{name}"));
    std::fs::create_dir_all(&app).with_context(|| app.display().to_string())?;
    let mut parts = vec![(build, app.join("build"))];
    if name == "ours" {
        parts.push((cfg.root.join("worker"), app.join("worker")));
        parts.push((cfg.root.join("migrations"), app.join("migrations")));
    }
    for (from, to) in parts {
        std::fs::create_dir_all(&to).context("snapshot dir")?;
        copy_dir_contents(&from, &to)?;
    }
    let toml = std::fs::read_to_string(src.join("wrangler.toml")).context("wrangler.toml")?;
    let mut skip = false;
    let kept: Vec<&str> = toml
        .lines()
        .filter(|l| {
            if l.starts_with("[build]") {
                skip = true;
                return false;
            }
            if l.starts_with('[') {
                skip = false;
            }
            !skip
        })
        .collect();
    std::fs::write(app.join("wrangler.toml"), kept.join("\n") + "\n")
        .context("snapshot wrangler.toml")?;
    Ok(())
}
