//! The rows of the load measurements: /health through wrangler dev and direct to workerd,
//! documents, the rate limiter and where a document GET's time goes, from the shared rounds.

use crate::budgets::{Fig, State, BUDGETS};
use crate::config::Config;
use crate::load::{LoadResult, Target};
use crate::out;
use crate::report::{fmt, ratio, Cell, Report, Unit};
use crate::rounds::{compare_warm, Shared};
use crate::workers::Workers;
use anyhow::Result;

/// p50, p99 and requests/s rows of `ours` vs. `base` (`what` prefixes the metric names).
pub fn three_rows(
    report: &mut Report,
    section: &str,
    what: &str,
    ours: LoadResult,
    base: LoadResult,
) {
    let m = |s: &str| {
        if what.is_empty() {
            s.to_owned()
        } else {
            format!("{what}: {s}")
        }
    };
    report.row(
        section,
        &m("p50 latency"),
        Unit::Ms,
        Some(ours.p50_ms),
        Some(Some(base.p50_ms)),
    );
    report.row(
        section,
        &m("p99 latency"),
        Unit::Ms,
        Some(ours.p99_ms),
        Some(Some(base.p99_ms)),
    );
    report.row(
        section,
        &m("requests/s"),
        Unit::ReqS,
        Some(ours.rps),
        Some(Some(base.rps)),
    );
}

pub async fn health(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &mut Shared,
) -> Result<()> {
    shared.ensure(cfg, workers).await?;
    out::step("GET /health through wrangler dev (from the shared rounds)");
    let (o, b, l) = (
        shared.get("ours-health")?,
        shared.get("hello-health")?,
        shared.get("hello-log-health")?,
    );
    three_rows(report, "GET /health (through wrangler dev)", "", o, b);
    // The same baseline writing one access-log line per request, as ours does by contract: a
    // diagnostic (how much of the gap is wrangler dev's log pipeline).
    three_rows(
        report,
        "GET /health vs. hello-world + 1 console.log per request",
        "",
        o,
        l,
    );
    report.figure(Fig::HealthP50OursMs, Some(o.p50_ms));
    report.figure(Fig::HealthP50HelloMs, Some(b.p50_ms));
    report.note(format!(
        "One `console.log` line per request (bench/hello built with `--features access-log`) \
takes hello-world from {} to {} through wrangler dev ({} the throughput, p50 {} -> {}). Locally \
every log line crosses the inspector and wrangler's log pipeline (workerd -> proxy workerd -> \
Node), all on the same CPU as the worker; production logging does not work that way, so this \
part of the gap is a wrangler dev artefact.",
        fmt(Some(b.rps), Unit::ReqS),
        fmt(Some(l.rps), Unit::ReqS),
        ratio(Some(l.rps), Some(b.rps)),
        fmt(Some(b.p50_ms), Unit::Ms),
        fmt(Some(l.p50_ms), Unit::Ms)
    ));
    Ok(())
}

pub async fn health_direct(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &Shared,
) -> Result<()> {
    workers.ensure_load_workers().await?;
    let section = "GET /health (direct to workerd, diagnostic)";
    let (Some(od), Some(hd)) = (
        workers.get("ours")?.direct.clone(),
        workers.get("hello")?.direct.clone(),
    ) else {
        report.pending(section, "all", "runtime port not found");
        return Ok(());
    };
    out::step("GET /health direct to the runtime workerd (bypassing wrangler's proxy): same load");
    let (o, b) = compare_warm(
        cfg,
        workers,
        ("ours-direct", Target::at(format!("{od}/health"))),
        ("hello-direct", Target::at(format!("{hd}/health"))),
    )
    .await?;
    three_rows(report, section, "", o, b);
    if let Ok(via_proxy) = shared.get("hello-health") {
        report.note(format!(
            "wrangler dev's proxy workerd (in front of the runtime workerd, on the same CPU) costs \
hello-world half its throughput or more: {} straight to the runtime workerd vs. {} through \
wrangler's port ({}). Production has no such hop.",
            fmt(Some(b.rps), Unit::ReqS),
            fmt(Some(via_proxy.rps), Unit::ReqS),
            ratio(Some(via_proxy.rps), Some(b.rps))
        ));
    }
    Ok(())
}

pub async fn documents(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &mut Shared,
) -> Result<()> {
    shared.ensure(cfg, workers).await?;
    out::step(&format!(
        "Documents: GET one, create, list 20 of {} (from the shared rounds)",
        cfg.seed_docs
    ));
    let body_len = crate::fixtures::file_len(&cfg.root.join("bench/document.json"))?;
    let kinds = [
        ("ours-doc-get", "GET one document".to_owned()),
        (
            "ours-doc-create",
            format!("create a document (POST, {body_len} B JSON)"),
        ),
        (
            "ours-doc-list",
            format!("list 20 of {} documents", cfg.seed_docs),
        ),
    ];
    for (section, base_key) in [
        (
            "Documents (authenticated, through wrangler dev)",
            "hello-health",
        ),
        (
            "Documents vs. hello-world + 1 console.log per request",
            "hello-log-health",
        ),
    ] {
        let base = shared.get(base_key)?;
        for (key, what) in &kinds {
            three_rows(report, section, what, shared.get(key)?, base);
        }
    }
    // The budget compares with plain hello-world's /health p50 (BUDGETS), as its label says.
    let get = shared.get("ours-doc-get")?;
    report.figure(Fig::DocGetP50Ms, Some(get.p50_ms));
    report.figure(
        Fig::HealthP50HelloMs,
        Some(shared.get("hello-health")?.p50_ms),
    );
    let verdict = BUDGETS
        .iter()
        .find(|b| b.measured == Fig::DocGetP50Ms)
        .map(|b| b.check(&report.figures, &["bench_documents"]).state);
    shared.doc_get_missed = verdict == Some(State::Fail);
    report.note(format!(
        "Seeding the {n} documents of the list's organization through the API took {:.1} s \
(batches of 100 POSTs, {c} at a time); the create rows post into a second organization so that \
the list's stays at {n}.",
        shared.seed_s,
        n = cfg.seed_docs,
        c = cfg.connections
    ));
    Ok(())
}

/// The per-tenant limiter (a TENANT Durable Object call per authenticated request): document
/// GET on ours vs. ours-nolimit (RATE_LIMITS=off), in the shared rounds.
pub async fn rate_limiter(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &mut Shared,
) -> Result<()> {
    shared.ensure(cfg, workers).await?;
    let section = "Rate limiter (document GET: ours vs. ours with RATE_LIMITS=off)";
    out::step("Rate limiter: document GET with the limiter on vs. off (from the shared rounds)");
    let (on, off) = (shared.get("ours-doc-get")?, shared.get("ours-doc-get-off")?);
    three_rows(report, section, "", on, off);
    let added = Some(on.p50_ms - off.p50_ms);
    report.row(
        section,
        "latency added per request (p50 on − off)",
        Unit::Ms,
        added,
        None,
    );
    let server = Some(on.per_req_ms() - off.per_req_ms());
    report.row(
        section,
        "server time added per request (1 ÷ req/s, on − off)",
        Unit::Ms,
        server,
        None,
    );
    Ok(())
}

/// Where a document GET's time goes, by subtraction of endpoints measured in the same rounds;
/// reported when the document GET budget is missed (measured every run: it is in the rounds).
pub async fn doc_get_breakdown(
    cfg: &Config,
    workers: &mut Workers,
    report: &mut Report,
    shared: &mut Shared,
) -> Result<()> {
    shared.ensure(cfg, workers).await?;
    let section = "Document GET: where the time goes (diagnostic, same rounds)";
    if !shared.doc_get_missed {
        report.note("The document GET budget is met, so the breakdown table is left out (its endpoints are measured anyway).".to_owned());
        return Ok(());
    }
    out::step("Document GET breakdown (by subtraction; baseline column = ours GET /health)");
    let h = shared.get("ours-health")?;
    let (me, org, off, on) = (
        shared.get("ours-me")?,
        shared.get("ours-org")?,
        shared.get("ours-doc-get-off")?,
        shared.get("ours-doc-get")?,
    );
    let steps = [
        (
            "GET /v1/me (+ JWT, session read, per-user limiter, user + orgs read)",
            me,
        ),
        (
            "GET /v1/orgs/{org} (+ JWT, membership read, per-org limiter, org read)",
            org,
        ),
        (
            "GET document, RATE_LIMITS=off (+ JWT, membership read, document read)",
            off,
        ),
        (
            "GET document (+ JWT, membership read, per-org limiter, document read)",
            on,
        ),
    ];
    let ms = |v: f64| Some(v);
    report.row(
        section,
        "GET /health (routing, headers, 1 log line): p50",
        Unit::Ms,
        ms(h.p50_ms),
        None,
    );
    for (name, r) in &steps {
        report.row(
            section,
            &format!("{name}: p50"),
            Unit::Ms,
            ms(r.p50_ms),
            Some(ms(h.p50_ms)),
        );
    }
    report.row(
        section,
        "GET /health: server time per request (1 ÷ req/s)",
        Unit::Ms,
        ms(h.per_req_ms()),
        None,
    );
    for (name, r) in &steps {
        let short = name.split(" (").next().unwrap_or(name);
        let metric = format!("{short}: server time per request (1 ÷ req/s)");
        report.row(
            section,
            &metric,
            Unit::Ms,
            ms(r.per_req_ms()),
            Some(ms(h.per_req_ms())),
        );
    }
    let pair = |a: &LoadResult, b: &LoadResult| {
        Cell::Text(format!(
            "{} / {}",
            fmt(Some(a.p50_ms - b.p50_ms), Unit::Ms),
            fmt(Some(a.per_req_ms() - b.per_req_ms()), Unit::Ms)
        ))
    };
    let diffs = [
        ("step: JWT + membership read + document read (doc GET off − /health): p50 / server time", pair(&off, &h)),
        ("step: per-org limiter (doc GET on − off): p50 / server time", pair(&on, &off)),
        ("step: document read vs. org read (doc GET − /v1/orgs/{org}): p50 / server time", pair(&on, &org)),
    ];
    for (metric, cell) in diffs {
        report.push(section, metric, cell, Cell::None);
    }
    let hello = shared.get("hello-health")?;
    report.note(format!(
        "The document GET budget is missed: p50 {} vs. {} for plain hello-world /health in the same \
rounds ({} for /health of ours). By subtraction (p50): JWT + membership read + document read add \
{}, the per-org limiter {}; in server time per request (1 ÷ throughput) /health takes {}, the \
document GET {} without the limiter and {} with it. See \"Document GET: where the time goes\".",
        fmt(Some(on.p50_ms), Unit::Ms),
        fmt(Some(hello.p50_ms), Unit::Ms),
        fmt(Some(h.p50_ms), Unit::Ms),
        fmt(Some(off.p50_ms - h.p50_ms), Unit::Ms),
        fmt(Some(on.p50_ms - off.p50_ms), Unit::Ms),
        fmt(Some(h.per_req_ms()), Unit::Ms),
        fmt(Some(off.per_req_ms()), Unit::Ms),
        fmt(Some(on.per_req_ms()), Unit::Ms)
    ));
    Ok(())
}
