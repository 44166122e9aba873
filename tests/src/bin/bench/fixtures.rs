//! Fixtures through the public API (signups, documents, the seeded organization) and timed
//! single requests, each with a random CF-Connecting-IP so that no per-IP limit is shared.

use anyhow::{bail, Context, Result};
use futures_util::{stream, StreamExt};
use reqwest::Method;
use serde_json::Value;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

fn http() -> &'static reqwest::Client {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_else(|e| panic!("HTTP client: {e}"))
    })
}

pub fn client() -> &'static reqwest::Client {
    http()
}

pub fn rand_ip() -> String {
    let b = edge_tests::random::bytes(3);
    format!("10.{}.{}.{}", b[0], b[1], b[2] % 254 + 1)
}

/// One request: status and body.
pub async fn api(
    base: &str,
    method: Method,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> Result<(u16, Value)> {
    let mut req = http()
        .request(method.clone(), format!("{base}{path}"))
        .header("CF-Connecting-IP", rand_ip());
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_vec());
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("{method} {path}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .with_context(|| format!("{method} {path}: body"))?;
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, json))
}

fn short(v: &Value) -> String {
    v.to_string().chars().take(300).collect()
}

/// A fresh user with a fresh organization: (access token, org id).
pub async fn signup(base: &str) -> Result<(String, String)> {
    let tag = edge_tests::random::hex(6);
    let body = serde_json::json!({
        "email": format!("bench-{tag}@example.com"),
        "password": format!("bench-pw-{tag}-x"),
        "name": "Bench",
        "org_name": format!("Bench {tag}"),
    });
    let (status, v) = api(
        base,
        Method::POST,
        "/v1/auth/signup",
        Some(body.to_string().as_bytes()),
        None,
    )
    .await?;
    if status != 201 && status != 200 {
        bail!("signup answered {status}: {}", short(&v));
    }
    let token = v["access_token"]
        .as_str()
        .context("no access_token in the signup answer")?;
    let org = v["org"]["id"]
        .as_str()
        .context("no org.id in the signup answer")?;
    Ok((token.to_owned(), org.to_owned()))
}

/// One document from `body`: its id.
pub async fn create_doc(base: &str, org: &str, token: &str, body: &[u8]) -> Result<String> {
    let path = format!("/v1/orgs/{org}/documents");
    let (status, v) = api(base, Method::POST, &path, Some(body), Some(token)).await?;
    if status != 201 {
        bail!("document create answered {status}: {}", short(&v));
    }
    Ok(v["id"]
        .as_str()
        .context("no id in the document create answer")?
        .to_owned())
}

/// `count` documents through the API, `parallel` requests at a time; 120 s at most in all.
pub async fn seed_docs(
    base: &str,
    org: &str,
    token: &str,
    body: &[u8],
    count: usize,
    parallel: usize,
) -> Result<()> {
    let url = format!("{base}/v1/orgs/{org}/documents");
    // One random client address per batch of 100, as a curl per batch had.
    let ips: Vec<String> = (0..count.div_ceil(100)).map(|_| rand_ip()).collect();
    let sends = (0..count).map(|i| {
        let ip = &ips[i / 100];
        let req = http()
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .header("CF-Connecting-IP", ip)
            .body(body.to_vec());
        async move { req.send().await.map(|r| r.status().as_u16()) }
    });
    let all = stream::iter(sends)
        .buffer_unordered(parallel.max(1))
        .collect::<Vec<_>>();
    let answers = tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .with_context(|| format!("seeding {count} documents took over 120 s"))?;
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for a in answers {
        let key = match a {
            Ok(s) => s.to_string(),
            Err(e) => format!("error ({e})"),
        };
        *tally.entry(key).or_default() += 1;
    }
    if tally.get("201") != Some(&count) {
        bail!("seeding: not all answers were 201: {tally:?}");
    }
    Ok(())
}

/// Median time (ms) of `reps` sequential GETs of `url` after one warm-up, each a 200.
pub async fn sample_ms(url: &str, reps: usize) -> Result<f64> {
    let mut times = Vec::with_capacity(reps);
    for i in 0..=reps {
        let t = Instant::now();
        let resp = http()
            .get(url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status().as_u16();
        resp.bytes()
            .await
            .with_context(|| format!("GET {url}: body"))?;
        if status != 200 {
            bail!("{url} answered {status}");
        }
        if i > 0 {
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    Ok(median(&mut times).unwrap_or(f64::NAN))
}

/// The median (the lower middle of an even count, as the old `median` helper chose).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len().div_ceil(2) - 1])
}

/// The size of a file in bytes (for the create row's label).
pub fn file_len(p: &Path) -> Result<u64> {
    Ok(std::fs::metadata(p)
        .with_context(|| p.display().to_string())?
        .len())
}
