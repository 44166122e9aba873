//! Closed-loop load from `wrk` (bench/wrk.lua): one round of a key at a time, each round's
//! latency distribution kept as 1,000 quantiles so that rounds merge into percentiles, and
//! requests/s as all requests over all the time.

use crate::config::Config;
use crate::out;
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

/// What one key loads: a URL, request headers, and for a POST the body file.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: String,
    pub headers: Vec<String>,
    pub post_body: Option<PathBuf>,
}

impl Target {
    pub fn at(url: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            headers: Vec::new(),
            post_body: None,
        }
    }

    pub fn bearer(mut self, token: &str) -> Target {
        self.headers.push(format!("authorization: Bearer {token}"));
        self
    }

    pub fn post_json(mut self, body: PathBuf) -> Target {
        self.headers.push("content-type: application/json".into());
        self.post_body = Some(body);
        self
    }
}

/// The summary line of one wrk run (`BENCH k=v …`).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WrkSummary {
    pub p50_us: f64,
    pub p99_us: f64,
    pub rps: f64,
    pub requests: f64,
    pub duration_us: f64,
    pub socket_errors: f64,
    pub non2xx: f64,
}

pub fn parse_summary(stdout: &str) -> Option<WrkSummary> {
    let line = stdout.lines().find(|l| l.starts_with("BENCH "))?;
    let fields: BTreeMap<&str, f64> = line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    let f = |k: &str| fields.get(k).copied();
    Some(WrkSummary {
        p50_us: f("p50_us")?,
        p99_us: f("p99_us")?,
        rps: f("rps")?,
        requests: f("requests")?,
        duration_us: f("duration_us")?,
        socket_errors: f("socket_errors")?,
        non2xx: f("non2xx")?,
    })
}

/// Percentiles and throughput over all rounds of a key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadResult {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rps: f64,
}

impl LoadResult {
    /// Server time per request in a closed loop that keeps the server busy: 1 ÷ throughput.
    pub fn per_req_ms(&self) -> f64 {
        1000.0 / self.rps
    }
}

#[derive(Default)]
struct Series {
    /// (latency µs, weight) of every round.
    quantiles: Vec<(f64, f64)>,
    requests: f64,
    duration_us: f64,
}

/// The weighted `p` quantile (0..1): the first latency whose cumulative weight reaches `p`.
pub fn weighted_quantile(sorted: &[(f64, f64)], p: f64) -> Option<f64> {
    let total: f64 = sorted.iter().map(|q| q.1).sum();
    let mut cum = 0.0;
    for (v, w) in sorted {
        cum += w;
        if cum >= p * total {
            return Some(*v);
        }
    }
    None
}

pub struct Wrk {
    connections: u32,
    warmup_s: u64,
    round_s: u64,
    script: PathBuf,
    tmp: PathBuf,
    series: BTreeMap<String, Series>,
}

impl Wrk {
    pub fn new(cfg: &Config) -> Wrk {
        Wrk {
            connections: cfg.connections,
            warmup_s: cfg.warmup_s,
            round_s: cfg.round_s,
            script: cfg.root.join("bench/wrk.lua"),
            tmp: cfg.tmp.clone(),
            series: BTreeMap::new(),
        }
    }

    async fn run(&self, t: &Target, seconds: u64, quantiles: Option<&PathBuf>) -> Result<String> {
        let mut cmd = tokio::process::Command::new("wrk");
        cmd.args(["-t1", "-c", &self.connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "5s", "-s"])
            .arg(&self.script);
        for h in &t.headers {
            cmd.arg("-H").arg(h);
        }
        cmd.arg(&t.url)
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(body) = &t.post_body {
            cmd.env("WRK_METHOD", "POST").env("WRK_BODY_FILE", body);
        }
        if let Some(q) = quantiles {
            cmd.env("WRK_QUANTILES_FILE", q);
        }
        let limit = Duration::from_secs(seconds + 30);
        let output = tokio::time::timeout(limit, cmd.output())
            .await
            .with_context(|| format!("wrk against {} ran over {limit:?}", t.url))?
            .context("cannot run wrk")?;
        if !output.status.success() {
            bail!("wrk failed against {} ({})", t.url, output.status);
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// One round of `key` (ROUND seconds; the first round of a key is preceded by a warm-up,
    /// unless `no_warmup`: an endpoint already warmed under another key). Fails on socket
    /// errors or non-2xx answers, naming a worker that died mid-run.
    pub async fn round(
        &mut self,
        workers: &Workers,
        key: &str,
        t: &Target,
        no_warmup: bool,
    ) -> Result<()> {
        if !self.series.contains_key(key) && !no_warmup {
            self.run(t, self.warmup_s, None).await?;
        }
        let qfile = self.tmp.join(format!("q-{key}"));
        let _ = std::fs::remove_file(&qfile);
        let stdout = self.run(t, self.round_s, Some(&qfile)).await?;
        let s = parse_summary(&stdout)
            .with_context(|| format!("wrk against {}: no BENCH line", t.url))?;
        if s.socket_errors != 0.0 || s.non2xx != 0.0 {
            if let Some((name, false)) = workers.owner_alive(&t.url) {
                bail!(
                    "{}: wrangler dev ({name}) is gone mid-run: killed from outside? Re-run.",
                    t.url
                );
            }
            bail!(
                "{}: {} socket errors, {} non-2xx answers",
                t.url,
                s.socket_errors,
                s.non2xx
            );
        }
        let text =
            std::fs::read_to_string(&qfile).with_context(|| format!("{}", qfile.display()))?;
        let series = self.series.entry(key.to_owned()).or_default();
        for line in text.lines() {
            let mut it = line.split_whitespace().map(str::parse::<f64>);
            if let (Some(Ok(v)), Some(Ok(w))) = (it.next(), it.next()) {
                series.quantiles.push((v, w));
            }
        }
        series.requests += s.requests;
        series.duration_us += s.duration_us;
        out::detail(&format!(
            "round {key:<24} p50 {:6.2} ms  p99 {:7.2} ms  {:7.1} req/s",
            s.p50_us / 1000.0,
            s.p99_us / 1000.0,
            s.rps
        ));
        Ok(())
    }

    /// p50 and p99 over all of `key`'s rounds, requests/s = requests ÷ time.
    pub fn result(&self, key: &str) -> Result<LoadResult> {
        let s = self
            .series
            .get(key)
            .with_context(|| format!("no rounds of {key}"))?;
        let mut q = s.quantiles.clone();
        q.sort_by(|a, b| a.0.total_cmp(&b.0));
        let p = |x| weighted_quantile(&q, x).with_context(|| format!("{key}: no latencies"));
        Ok(LoadResult {
            p50_ms: p(0.50)? / 1000.0,
            p99_ms: p(0.99)? / 1000.0,
            rps: s.requests / (s.duration_us / 1e6),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bench_line() {
        let out = "Running 4s test\nBENCH p50_us=18000 p99_us=50000 rps=406.5 requests=1626 \
                   duration_us=4000000 socket_errors=0 non2xx=0\n";
        let s = parse_summary(out).expect("summary");
        assert_eq!(s.requests, 1626.0);
        assert_eq!(s.rps, 406.5);
        assert!(parse_summary("no summary").is_none());
    }

    #[test]
    fn quantiles_merge_by_weight() {
        let q = [(1.0, 1.0), (2.0, 1.0), (3.0, 2.0)];
        assert_eq!(weighted_quantile(&q, 0.5), Some(2.0));
        assert_eq!(weighted_quantile(&q, 0.99), Some(3.0));
        assert_eq!(weighted_quantile(&[], 0.5), None);
    }
}
