//! The shared rounds: every load measurement through wrangler dev's public port in ONE set of
//! alternating rounds, so that all these figures share the same baselines and the same
//! background load (a round = one ROUND-long wrk run of each endpoint, in turn):
//!   hello, hello-log  GET /health (the baselines)
//!   ours              GET /health; GET one document, POST a document, list 20 of SEED_DOCS;
//!                     GET /v1/me and GET /v1/orgs/{org} (the document GET breakdown);
//!   ours-nolimit      a second instance of ours with RATE_LIMITS=off: the same document GET.
//! The rows are reported from these results by [`crate::load_rows`].

use crate::config::Config;
use crate::fixtures::{self, create_doc, seed_docs, signup};
use crate::load::{LoadResult, Target, Wrk};
use crate::out;
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use reqwest::Method;
use std::collections::BTreeMap;
use std::time::Instant;

pub use crate::load_rows::{doc_get_breakdown, documents, health, health_direct, rate_limiter};
pub use crate::peer_rows::peer;

/// The keys of the shared rounds, in the order each round runs them.
pub const KEYS: &[&str] = &[
    "ours-health",
    "hello-health",
    "hello-log-health",
    "ours-doc-get",
    "ours-doc-get-off",
    "ours-doc-create",
    "ours-doc-list",
    "ours-me",
    "ours-org",
    "peer-health",
    "peer-doc-get",
    "peer-doc-get-off",
    "peer-doc-create",
    "peer-doc-list",
];

/// Results of the shared rounds (measured once, by the first report that needs them).
#[derive(Default)]
pub struct Shared {
    res: Option<BTreeMap<&'static str, LoadResult>>,
    pub seed_s: f64,
    /// Set by the documents report: the document GET budget is missed.
    pub doc_get_missed: bool,
}

impl Shared {
    pub fn get(&self, key: &str) -> Result<LoadResult> {
        self.res
            .as_ref()
            .and_then(|r| r.get(key).copied())
            .with_context(|| format!("{key} was not measured"))
    }

    pub async fn ensure(&mut self, cfg: &Config, workers: &mut Workers) -> Result<()> {
        if self.res.is_none() {
            let (res, seed_s) = main_rounds(cfg, workers).await?;
            self.res = Some(res);
            self.seed_s = seed_s;
        }
        Ok(())
    }
}

async fn main_rounds(
    cfg: &Config,
    workers: &mut Workers,
) -> Result<(BTreeMap<&'static str, LoadResult>, f64)> {
    workers.ensure_load_workers().await?;
    out::step(&format!(
        "Fixtures via the API: signups, {} documents in one organization (batches of 100, {} in parallel), ours-nolimit",
        cfg.seed_docs, cfg.connections
    ));
    let t0 = Instant::now();
    let body_path = cfg.root.join("bench/document.json");
    let body = std::fs::read(&body_path).context("bench/document.json")?;
    let off_url = workers.start("ours-nolimit").await?.url.clone();
    let (off_token, off_org) = signup(&off_url).await.context("ours-nolimit")?;
    let off_doc = create_doc(&off_url, &off_org, &off_token, &body).await?;
    let ours = workers.get("ours")?.url.clone();
    let (token, org) = signup(&ours).await.context("ours")?;
    let doc = create_doc(&ours, &org, &token, &body).await?;
    let t1 = Instant::now();
    let n = cfg.seed_docs.saturating_sub(1);
    seed_docs(&ours, &org, &token, &body, n, cfg.connections as usize).await?;
    let seed_s = t1.elapsed().as_secs_f64();
    // Creates go to a second organization, so the list's organization stays at SEED_DOCS.
    let (post_token, post_org) = signup(&ours).await?;
    let list = format!("/v1/orgs/{org}/documents?limit=20");
    let (status, v) = fixtures::api(&ours, Method::GET, &list, None, Some(&token)).await?;
    let items = v["items"].as_array().map_or(0, Vec::len);
    if status != 200 || items != 20 {
        bail!("list of documents: {status}, {items} items, expected 20");
    }
    // The peer serves a copy of ours' D1 as it is now (the fixtures above, 1000 documents).
    crate::peer::configure(workers, &ours).await?;
    let peer = workers.start("peer").await?.url.clone();
    let peer_off = workers.start("peer-nolimit").await?.url.clone();
    let off_secs = t0.elapsed().as_secs();
    out::ok(&format!(
        "fixtures in {off_secs} s (seeding: {seed_s:.1} s); ours-nolimit at {off_url}"
    ));

    let base = format!("{ours}/v1/orgs/{org}");
    let targets: BTreeMap<&str, Target> = [
        ("ours-health", Target::at(format!("{ours}/health"))),
        (
            "hello-health",
            Target::at(format!("{}/health", workers.get("hello")?.url)),
        ),
        (
            "hello-log-health",
            Target::at(format!("{}/health", workers.get("hello-log")?.url)),
        ),
        (
            "ours-doc-get",
            Target::at(format!("{base}/documents/{doc}")).bearer(&token),
        ),
        (
            "ours-doc-get-off",
            Target::at(format!("{off_url}/v1/orgs/{off_org}/documents/{off_doc}"))
                .bearer(&off_token),
        ),
        (
            "ours-doc-create",
            Target::at(format!("{ours}/v1/orgs/{post_org}/documents"))
                .bearer(&post_token)
                .post_json(body_path),
        ),
        (
            "ours-doc-list",
            Target::at(format!("{base}/documents?limit=20")).bearer(&token),
        ),
        (
            "ours-me",
            Target::at(format!("{ours}/v1/me")).bearer(&token),
        ),
        ("ours-org", Target::at(base.clone()).bearer(&token)),
        ("peer-health", Target::at(format!("{peer}/health"))),
        (
            "peer-doc-get",
            Target::at(format!("{peer}/v1/orgs/{org}/documents/{doc}")).bearer(&token),
        ),
        (
            "peer-doc-get-off",
            Target::at(format!("{peer_off}/v1/orgs/{org}/documents/{doc}")).bearer(&token),
        ),
        (
            "peer-doc-create",
            Target::at(format!("{peer}/v1/orgs/{post_org}/documents"))
                .bearer(&post_token)
                .post_json(cfg.root.join("bench/document.json")),
        ),
        (
            "peer-doc-list",
            Target::at(format!("{peer}/v1/orgs/{org}/documents?limit=20")).bearer(&token),
        ),
    ]
    .into_iter()
    .collect();
    out::step(&format!(
        "Load through wrangler dev: {} rounds × {} endpoints × {} s, {} connections",
        cfg.rounds,
        KEYS.len(),
        cfg.round_s,
        cfg.connections
    ));
    let mut wrk = Wrk::new(cfg);
    for _ in 0..cfg.rounds {
        for key in KEYS {
            let t = targets
                .get(key)
                .with_context(|| format!("no target {key}"))?;
            wrk.round(workers, key, t, false).await?;
        }
    }
    workers.stop("ours-nolimit");
    workers.stop("peer-nolimit");
    let mut res = BTreeMap::new();
    for key in KEYS {
        res.insert(*key, wrk.result(key)?);
    }
    Ok((res, seed_s))
}

/// `rounds` alternating rounds of ours and the baseline without warm-up (both already warm):
/// (ours, baseline).
pub async fn compare_warm(
    cfg: &Config,
    workers: &Workers,
    ours: (&str, Target),
    base: (&str, Target),
) -> Result<(LoadResult, LoadResult)> {
    let mut wrk = Wrk::new(cfg);
    for _ in 0..cfg.rounds {
        wrk.round(workers, ours.0, &ours.1, true).await?;
        wrk.round(workers, base.0, &base.1, true).await?;
    }
    Ok((wrk.result(ours.0)?, wrk.result(base.0)?))
}
