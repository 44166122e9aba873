//! Ours against the Hono + jose peer (`bench/peers/hono`), from the shared rounds: the same
//! endpoints on the same data, each row's ratio ours ÷ peer, and the figures of the peer
//! budgets.

use crate::budgets::Fig;
use crate::config::Config;
use crate::load_rows::three_rows;
use crate::out;
use crate::report::{fmt, ratio, Report, Unit};
use crate::rounds::Shared;
use crate::workers::Workers;
use anyhow::Result;

pub async fn peer(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &mut Shared,
) -> Result<()> {
    shared.ensure(cfg, workers).await?;
    out::step("Ours vs. the Hono + jose peer (from the shared rounds)");
    let section = "Ours vs. the Hono + jose peer (same rounds, same data; baseline = peer)";
    let pairs = [
        (
            "GET /health (one log line each)",
            "ours-health",
            "peer-health",
        ),
        (
            "GET one document, exact per-org limits",
            "ours-doc-get",
            "peer-doc-get",
        ),
        (
            "GET one document, limits off",
            "ours-doc-get-off",
            "peer-doc-get-off",
        ),
        ("create a document", "ours-doc-create", "peer-doc-create"),
        (
            &*format!("list 20 of {} documents", cfg.seed_docs),
            "ours-doc-list",
            "peer-doc-list",
        ),
    ];
    for (what, ours, peer) in pairs {
        three_rows(report, section, what, shared.get(ours)?, shared.get(peer)?);
    }
    let figures = [
        (Fig::OursHealthRps, "ours-health"),
        (Fig::PeerHealthRps, "peer-health"),
        (Fig::OursDocGetRps, "ours-doc-get"),
        (Fig::PeerDocGetRps, "peer-doc-get"),
        (Fig::OursDocGetOffRps, "ours-doc-get-off"),
        (Fig::PeerDocGetOffRps, "peer-doc-get-off"),
        (Fig::OursCreateRps, "ours-doc-create"),
        (Fig::PeerCreateRps, "peer-doc-create"),
        (Fig::OursListRps, "ours-doc-list"),
        (Fig::PeerListRps, "peer-doc-list"),
    ];
    for (fig, key) in figures {
        report.figure(fig, Some(shared.get(key)?.rps));
    }
    let (o, p) = (shared.get("ours-doc-get")?, shared.get("peer-doc-get")?);
    report.figure(Fig::OursDocGetP50Ms, Some(o.p50_ms));
    report.figure(Fig::PeerDocGetP50Ms, Some(p.p50_ms));
    let hello = shared.get("hello-health")?;
    report.note(format!(
        "The peer (`bench/peers/hono`, Hono + jose) verifies ours' EdDSA access tokens with \
ours' public JWKS (WebCrypto), reads session + membership and the document in one D1 batch, \
counts the request in an exact per-org Durable Object (JS RPC, SQLite-backed, the org's monthly \
usage in the same call) in parallel, sets the same security headers and writes one JSON log \
line. It serves a copy of ours' D1 taken after the fixtures. Document GET: ours {} vs. the peer's \
{} ({}); plain hello-world serves {} in the same rounds.",
        fmt(Some(o.rps), Unit::ReqS),
        fmt(Some(p.rps), Unit::ReqS),
        ratio(Some(o.rps), Some(p.rps)),
        fmt(Some(hello.rps), Unit::ReqS),
    ));
    Ok(())
}
