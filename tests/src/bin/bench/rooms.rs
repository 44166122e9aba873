//! Rooms fan-out: 200 WebSockets in one room of ours (through wrangler dev), one more sending;
//! the measuring client is tests/src/bin/room_fanout.rs, run on the load CPU.

use crate::fixtures::signup;
use crate::out;
use crate::report::{Report, Unit};
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::time::Duration;

pub async fn room_fanout(
    cfg: &crate::config::Config,
    workers: &mut Workers,
    report: &mut Report,
) -> Result<()> {
    let section = "Rooms";
    let (n, msgs) = (cfg.room_sockets, cfg.room_messages);
    out::step(&format!(
        "Rooms: fan-out to {n} WebSockets ({msgs} paced messages, then {msgs} back to back)"
    ));
    if !workers.is_running("ours") {
        workers.start("ours").await?; // a BENCH_ONLY run needs no baselines
    }
    let url = workers.get("ours")?.url.clone();
    let (token, org) = signup(&url).await?;
    let client = cfg.root.join("target/debug/room_fanout");
    let mut cmd = tokio::process::Command::new(&client);
    cmd.arg(&url)
        .arg(&token)
        .arg(&org)
        .arg(n.to_string())
        .arg(msgs.to_string())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .context("room fan-out benchmark ran over 300 s")?
        .with_context(|| format!("cannot run {}", client.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "room fan-out benchmark failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let v: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .with_context(|| format!("room fan-out: no JSON line in {stdout:?}"))?;
    let f = |k: &str| v[k].as_f64();
    report.row(
        section,
        &format!(
            "fan-out of one message to {n} WebSockets: delivery p50 (paced, 1 message / 50 ms)"
        ),
        Unit::Ms,
        f("p50_ms"),
        None,
    );
    report.row(
        section,
        &format!("fan-out of one message to {n} WebSockets: delivery p99 (paced)"),
        Unit::Ms,
        f("p99_ms"),
        None,
    );
    report.row(
        section,
        &format!("back-to-back messages fully delivered to all {n} (messages/s)"),
        Unit::MsgS,
        f("burst_messages_per_s"),
        None,
    );
    report.row(
        section,
        "deliveries/s in that burst (messages × sockets)",
        Unit::MsgS,
        f("burst_deliveries_per_s"),
        None,
    );
    report.row(
        section,
        &format!("connecting {n} + 1 WebSockets (25 at a time)"),
        Unit::S,
        f("connect_s"),
        None,
    );
    report.note(format!(
        "Rooms: latency is send → receive on the same host clock, over {} deliveries of {msgs} \
messages paced 50 ms apart; every one of the {n} receivers got every message. The measuring client \
(a debug build of tests/src/bin/room_fanout.rs) runs on the load CPU, wrangler and workerd on the \
others; all through wrangler dev's proxy.",
        n * msgs
    ));
    Ok(())
}
