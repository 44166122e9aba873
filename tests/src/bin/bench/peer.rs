//! The Hono + jose peer (`bench/peers/hono`): what a team would write instead of ours. It runs
//! under the same wrangler as ours, on a copy of ours' seeded D1 (same schema, same rows), and
//! verifies ours' access tokens with ours' public JWKS, so both serve the same requests on the
//! same data: "peer" with its exact per-org Durable Object counter, "peer-nolimit" without.

use crate::config::Config;
use crate::snapshot::copy_dir_contents;
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// $TMP/app-peer: the peer's source and wrangler.toml, with the project's node_modules (hono,
/// jose) linked in for wrangler's bundler.
pub fn snapshot(cfg: &Config) -> Result<()> {
    let from = cfg.root.join("bench/peers/hono");
    let app = cfg.tmp.join("app-peer");
    std::fs::create_dir_all(app.join("src")).context("peer snapshot dir")?;
    copy_dir_contents(&from.join("src"), &app.join("src"))?;
    std::fs::copy(from.join("wrangler.toml"), app.join("wrangler.toml"))
        .context("peer wrangler.toml")?;
    let modules = cfg.root.join("node_modules");
    for dep in ["hono", "jose"] {
        if !modules.join(dep).is_dir() {
            bail!("node_modules/{dep} is missing: run bash scripts/setup");
        }
    }
    let link = app.join("node_modules");
    if !link.exists() {
        std::os::unix::fs::symlink(&modules, &link).context("link node_modules")?;
    }
    Ok(())
}

/// Writes the peer's env files: ours' public keys (from its JWKS) and the limits-off switch.
pub async fn configure(workers: &Workers, ours_url: &str) -> Result<()> {
    let jwks = crate::fixtures::client()
        .get(format!("{ours_url}/.well-known/jwks.json"))
        .send()
        .await
        .context("ours' JWKS")?
        .text()
        .await
        .context("ours' JWKS body")?;
    let compact: serde_json::Value = serde_json::from_str(&jwks).context("JWKS is not JSON")?;
    let one = |k: &str, v: String| BTreeMap::from([(k.to_owned(), v)]);
    let write = |file: &str, entries: &BTreeMap<String, String>| {
        edge_tests::secrets::write_env_file(&workers.tmp().join(file), entries)
            .with_context(|| format!("env file {file}"))
    };
    write("peer.env", &one("JWKS", compact.to_string()))?;
    write("peer-nolimit.env", &one("RATE_LIMITS", "off".to_owned()))?;
    Ok(())
}

/// Before `name` (peer, peer-nolimit) starts in `state`: ours' D1 copied in, its env files.
pub fn prepare(workers: &Workers, name: &str, state: &Path, envs: &mut Vec<PathBuf>) -> Result<()> {
    let ours = workers
        .get("ours")
        .context("the peer serves ours' data: start ours first")?;
    let d1 = ours.state.join("v3/d1");
    if !d1.is_dir() {
        bail!("no D1 state in {}", d1.display());
    }
    let to = state.join("v3/d1");
    std::fs::create_dir_all(&to).context("peer D1 dir")?;
    copy_dir_contents(&d1, &to)?;
    let env = workers.tmp().join("peer.env");
    if !env.is_file() {
        bail!("peer.env is missing: peer::configure runs first");
    }
    envs.push(env);
    if name == "peer-nolimit" {
        envs.push(workers.tmp().join("peer-nolimit.env"));
    }
    Ok(())
}
