//! AI generations (#20): from an upstream chunk leaving the model server to its
//! `generation.delta` at a WebSocket client in the document's room, and 50 generations at once
//! in one organization. The model server is the registry's `@dwmkerr/mock-llm` behind the test
//! suite's relay (`edge_tests::llm::FaultProxy`, passing everything), which stamps the moment
//! each SSE event goes to the worker; the client stamps each delta's arrival: same clock.

use crate::fixtures::{api, create_doc, median, signup};
use crate::out;
use crate::report::{Report, Unit};
use crate::workers::Workers;
use anyhow::{anyhow, bail, Context, Result};
use edge_tests::llm::{FaultProxy, MockLlm};
use edge_tests::ws::{ws_url, Ws};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Sequential generations measured for the chunk-to-delta latency (50 chunks each).
const SEQUENTIAL: usize = 10;
/// Generations started at once in one organization.
const CONCURRENT: usize = 50;

pub async fn generations(workers: &mut Workers, report: &mut Report) -> Result<()> {
    let section = "AI generations";
    out::step(&format!(
        "Generations: chunk → delta latency over {SEQUENTIAL} streams, then {CONCURRENT} at once in one organization"
    ));
    let mock = MockLlm::start(8, 20).await.map_err(|e| anyhow!(e))?;
    let proxy = FaultProxy::start(mock.base_url())
        .await
        .map_err(|e| anyhow!(e))?;
    let env = BTreeMap::from([
        ("AI_BASE_URL".to_owned(), proxy.base_url()),
        ("AI_MODELS".to_owned(), r#"{"free":["mock-model"]}"#.to_owned()),
        (
            "PLAN_LIMITS".to_owned(),
            r#"{"free":{"requests_per_minute":100000000,"documents_per_month":100000000,"room_connections":100000,"ai_tokens_per_month":1000000000,"ai_generations_per_minute":100000}}"#.to_owned(),
        ),
    ]);
    edge_tests::secrets::write_env_file(&workers.tmp().join("ai.env"), &env).context("ai.env")?;
    workers.start("ours-ai").await?;
    let url = workers.get("ours-ai")?.url.clone();
    let result = measure(&url, &proxy, section, report).await;
    workers.stop("ours-ai");
    result
}

async fn measure(url: &str, proxy: &FaultProxy, section: &str, report: &mut Report) -> Result<()> {
    let (token, org) = signup(url).await?;
    let prompt: String = "streamed into the document, eight characters a chunk. "
        .repeat(8)
        .chars()
        .take(400)
        .collect();
    let doc = create_doc(url, &org, &token, br#"{"title":"Bench generation"}"#).await?;
    let room = ws_url(&format!("{url}/v1/orgs/{org}/rooms/doc:{doc}/connect"));
    let mut ws = Ws::connect(&room, Some(&token))
        .await
        .map_err(|r| anyhow!("room connect refused: {} {}", r.status, r.body))?;
    let mut latencies = Vec::new();
    for i in 0..=SEQUENTIAL {
        let gen = start(url, &org, &token, &doc, &prompt).await?;
        let mut arrived: Vec<(usize, Instant)> = Vec::new();
        loop {
            let f = ws
                .next_json_within(Duration::from_secs(30))
                .await
                .context("room frames until generation.finished")?;
            let arrived_at = Instant::now();
            if f["generation"] != gen.as_str() {
                continue;
            }
            match f["type"].as_str() {
                Some("generation.delta") => {
                    arrived.push((f["seq"].as_u64().unwrap_or(0) as usize, arrived_at));
                }
                Some("generation.finished") => {
                    if f["status"] != "succeeded" {
                        bail!("generation {gen} ended {f}");
                    }
                    break;
                }
                _ => {}
            }
        }
        let sent = proxy.relayed_at();
        let sent = sent.get(i).context("the relay saw the request")?;
        if i == 0 {
            continue; // warm-up
        }
        for (seq, at) in arrived {
            if let Some(t) = sent.get(seq) {
                latencies.push(at.saturating_duration_since(*t).as_secs_f64() * 1000.0);
            }
        }
    }
    ws.close().await;
    let samples = latencies.len();
    let p50 = median(&mut latencies);
    let p99 = percentile(&mut latencies, 0.99);
    report.row(
        section,
        &format!("upstream chunk → generation.delta at a room client: p50 ({samples} chunks)"),
        Unit::Ms,
        p50,
        None,
    );
    report.row(
        section,
        "upstream chunk → generation.delta at a room client: p99",
        Unit::Ms,
        p99,
        None,
    );
    report.figure(crate::budgets::Fig::GenerationDeltaP50Ms, p50);
    // 50 at once, each into its own document of the same organization.
    let mut docs = Vec::with_capacity(CONCURRENT);
    for _ in 0..CONCURRENT {
        docs.push(create_doc(url, &org, &token, br#"{"title":"Concurrent"}"#).await?);
    }
    let t = Instant::now();
    let starts = docs.iter().map(|d| start(url, &org, &token, d, &prompt));
    let gens = futures_util::future::try_join_all(starts).await?;
    let mut intact = 0usize;
    for (gen, d) in gens.iter().zip(&docs) {
        let path = format!("/v1/orgs/{org}/documents/{d}/generations/{gen}");
        let g = final_state(url, &token, &path).await?;
        let (_, doc) = api(
            url,
            Method::GET,
            &format!("/v1/orgs/{org}/documents/{d}"),
            None,
            Some(&token),
        )
        .await?;
        if g["status"] == "succeeded" && doc["content"] == prompt.as_str() {
            intact += 1;
        }
    }
    let wall = t.elapsed().as_secs_f64();
    report.row(
        section,
        &format!("{CONCURRENT} generations at once in one organization: complete and intact"),
        Unit::Count,
        Some(intact as f64),
        None,
    );
    report.row(
        section,
        &format!("{CONCURRENT} generations at once: all landed after (s)"),
        Unit::S,
        Some(wall),
        None,
    );
    report.figure(
        crate::budgets::Fig::GenerationsLost,
        Some((CONCURRENT - intact) as f64),
    );
    Ok(())
}

async fn start(url: &str, org: &str, token: &str, doc: &str, prompt: &str) -> Result<String> {
    let body = json!({"prompt": prompt, "mode": "append"}).to_string();
    let (status, v) = api(
        url,
        Method::POST,
        &format!("/v1/orgs/{org}/documents/{doc}/generations"),
        Some(body.as_bytes()),
        Some(token),
    )
    .await?;
    if status != 202 {
        bail!("generation start answered {status}: {v}");
    }
    v["id"].as_str().map(str::to_owned).context("generation id")
}

async fn final_state(url: &str, token: &str, path: &str) -> Result<Value> {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(120) {
        let (_, g) = api(url, Method::GET, path, None, Some(token)).await?;
        if ["succeeded", "failed", "cancelled"].contains(&g["status"].as_str().unwrap_or("")) {
            return Ok(g);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("{path} not final after 120 s")
}

fn percentile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v.get(i).copied()
}
