//! Reading and editing a worker's local D1 behind its back, as an operator (or an attacker
//! with database access) would: `wrangler d1 execute DB --local --persist-to <dir>`.

use crate::project;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Runs `sql` against the local D1 in `persist` and returns the rows of its last statement.
/// Panics (failing the trial) if wrangler fails or does not answer within 60 s.
///
/// The worker under test holds the same SQLite file open and other trials write through it at
/// the same time, so wrangler can meet `SQLITE_BUSY`. A busy database refused the statement
/// (nothing ran), so it is tried again with a growing pause, up to about ten seconds in all.
pub async fn execute(persist: &Path, sql: &str) -> Vec<serde_json::Value> {
    let mut pause = Duration::from_millis(100);
    for attempt in 1.. {
        match run(persist, sql).await {
            Ok(stdout) => return last_rows(&stdout),
            Err(out) if out.contains("SQLITE_BUSY") && attempt < 9 => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(3));
            }
            Err(out) => panic!("wrangler d1 execute failed (attempt {attempt}): {out}"),
        }
    }
    unreachable!("the loop returns or panics")
}

/// One `wrangler d1 execute`: its stdout when it succeeds, stdout and stderr when it fails.
async fn run(persist: &Path, sql: &str) -> Result<String, String> {
    let mut cmd = project::command(project::wrangler());
    cmd.args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
        .arg(persist)
        .args(["--command", sql])
        .env("CI", "true")
        .stdin(Stdio::null());
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("wrangler d1 execute within 60 s")
        .expect("wrangler d1 execute runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// `--json` prints an array of statement results, each with its `results` rows.
fn last_rows(stdout: &str) -> Vec<serde_json::Value> {
    let parsed: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("wrangler d1 execute --json printed no JSON ({e}): {stdout}"));
    parsed
        .as_array()
        .and_then(|a| a.last())
        .and_then(|r| r["results"].as_array())
        .cloned()
        .unwrap_or_default()
}
