//! Events and webhooks (#19): from a document write to its signed delivery at a loopback
//! receiver (the test suite's `edge_tests::Origin`), on an idle worker; and what a subscribed
//! endpoint adds to the write itself (the fan-out row and the queue message), measured as the
//! create p50 in an organization with one subscribed endpoint against one with none, requests
//! alternating between the two.

use crate::fixtures::{api, create_doc, median, signup};
use crate::out;
use crate::report::{Report, Unit};
use crate::workers::Workers;
use anyhow::{bail, Context, Result};
use edge_tests::Origin;
use reqwest::Method;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

/// Sequential writes measured for the delivery latency, and per organization for the overhead.
const WRITES: usize = 40;

pub async fn events(workers: &mut Workers, report: &mut Report) -> Result<()> {
    let section = "Events and webhooks";
    out::step(&format!(
        "Events: {WRITES} document writes to their webhook deliveries, and the cost of a subscribed endpoint"
    ));
    let receiver = Origin::start().await.context("loopback receiver")?;
    let env = BTreeMap::from([("OUTBOUND_ALLOW_HOSTS".to_owned(), receiver.host_port())]);
    edge_tests::secrets::write_env_file(&workers.tmp().join("hooks.env"), &env)
        .context("hooks.env")?;
    workers.start("ours-hooks").await?;
    let url = workers.get("ours-hooks")?.url.clone();
    let (token, org) = signup(&url).await?;
    let (token_b, org_b) = signup(&url).await?;
    let key = "bench-events";
    let hook = serde_json::json!({
        "url": format!("{}/hook?test_key={key}", receiver.url()),
        "event_types": ["document.created"],
    });
    let (status, v) = api(
        &url,
        Method::POST,
        &format!("/v1/orgs/{org}/webhooks"),
        Some(hook.to_string().as_bytes()),
        Some(&token),
    )
    .await?;
    if status != 201 {
        bail!("endpoint create answered {status}: {v}");
    }
    let body = br#"{"title":"Bench event","content":"measured from write to delivery"}"#;
    // Warm-up: both organizations, and one delivery.
    create_doc(&url, &org, &token, body).await?;
    create_doc(&url, &org_b, &token_b, body).await?;
    receiver.wait_for(key, 1, Duration::from_secs(30)).await;
    let mut latency = Vec::with_capacity(WRITES);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for i in 0..WRITES {
        let sent = SystemTime::now();
        let t = Instant::now();
        create_doc(&url, &org, &token, body).await?;
        with.push(t.elapsed().as_secs_f64() * 1000.0);
        let got = receiver.wait_for(key, i + 2, Duration::from_secs(30)).await;
        let at = got[i + 1].at;
        latency.push(at.duration_since(sent).unwrap_or_default().as_secs_f64() * 1000.0);
        let t = Instant::now();
        create_doc(&url, &org_b, &token_b, body).await?;
        without.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    workers.stop("ours-hooks");
    let p50 = median(&mut latency);
    let (w, wo) = (median(&mut with), median(&mut without));
    report.row(
        section,
        "document write → signed delivery at the receiver: p50 (idle, sequential)",
        Unit::Ms,
        p50,
        None,
    );
    report.row(
        section,
        "create a document with one subscribed endpoint: p50 (baseline: no endpoint)",
        Unit::Ms,
        w,
        Some(wo),
    );
    report.figure(crate::budgets::Fig::EventDeliveredP50Ms, p50);
    report.figure(crate::budgets::Fig::CreateWithEndpointP50Ms, w);
    report.figure(crate::budgets::Fig::CreateWithoutEndpointP50Ms, wo);
    Ok(())
}
