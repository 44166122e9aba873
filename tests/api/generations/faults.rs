//! The model provider misbehaving, through a fault injector in front of the registry's mock
//! (`edge_tests::llm::FaultProxy`, relaying `@dwmkerr/mock-llm`): a failure before the first
//! token is retried and the text comes once; a stream cut after it is not retried and keeps
//! what was written; a provider that hangs fails at the deadline; the upstream's `usage` is
//! what the quota counts, exactly; a stream that reaches the token quota stops there and the
//! next request is 429.

use super::kit::{generate, new_doc, wait_final, worker_for};
use crate::documents::kit::doc;
use crate::support::{trial, Suite};
use edge_tests::llm::{Fault, FaultProxy, MockLlm};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::{Duration, Instant};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_failure_before_the_first_token_is_retried),
        trial!(an_error_event_before_the_first_token_is_retried),
        trial!(a_cut_after_the_first_token_is_not_retried),
        trial!(a_hanging_provider_fails_at_the_deadline),
        trial!(the_upstream_usage_is_counted_exactly),
        trial!(the_token_quota_stops_a_stream_and_refuses_the_next),
    ]
}

const PROMPT: &str = "Pack my box with five dozen liquor jugs, then stream it back in pieces.";

async fn proxied(chunk: u32, interval_ms: u32) -> (MockLlm, FaultProxy) {
    let mock = MockLlm::start(chunk, interval_ms).await.expect("mock-llm");
    let proxy = FaultProxy::start(mock.base_url()).await.expect("proxy");
    (mock, proxy)
}

async fn a_failure_before_the_first_token_is_retried(s: &Suite) {
    let (_mock, proxy) = proxied(8, 10).await;
    proxy.script(vec![Fault::Status(503), Fault::Status(500)], Fault::Pass);
    let w = worker_for(s, &proxy.base_url(), &[]).await;
    let (a, id) = new_doc(&w).await;
    let path = generate(&w, &a, &id, PROMPT).await;
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "succeeded", "{g}");
    assert_eq!(g["attempts"], 3, "two 5xx answers, then the stream: {g}");
    assert_eq!(proxy.requests().len(), 3);
    let d = a.on(&w.api()).get(&doc(&a.org_id, &id)).await.json();
    assert_eq!(d["content"], PROMPT, "the text once, not once per attempt");
    w.stop();
}

async fn an_error_event_before_the_first_token_is_retried(s: &Suite) {
    // The mock's own way to fail a stream: a 200 event stream whose only event is an error
    // object (the OpenAI convention), here for the first request only.
    let fail_first = "  - path: \"/v1/chat/completions\"\n    sequence: 0\n    response:\n      status: 500\n      content: |\n        {\"error\": {\"message\": \"overloaded\", \"type\": \"server_error\"}}\n";
    let mock = MockLlm::start_with(8, 10, fail_first)
        .await
        .expect("mock-llm");
    let w = worker_for(s, &mock.base_url(), &[]).await;
    let (a, id) = new_doc(&w).await;
    let path = generate(&w, &a, &id, PROMPT).await;
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "succeeded", "{g}");
    assert_eq!(g["attempts"], 2, "{g}");
    assert_eq!(g["text"], PROMPT);
    w.stop();
}

async fn a_cut_after_the_first_token_is_not_retried(s: &Suite) {
    let (_mock, proxy) = proxied(6, 20).await;
    proxy.script(vec![Fault::CutAfter(4)], Fault::Pass);
    let w = worker_for(s, &proxy.base_url(), &[]).await;
    let (a, id) = new_doc(&w).await;
    let path = generate(&w, &a, &id, PROMPT).await;
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "failed", "{g}");
    assert_eq!(g["error"]["code"], "upstream_failed", "{g}");
    assert_eq!(g["error"]["status"], 502, "{g}");
    assert_eq!(g["attempts"], 1, "not retried once text was out: {g}");
    assert_eq!(proxy.requests().len(), 1);
    let kept = g["text"].as_str().unwrap();
    assert_eq!(kept, &PROMPT[..24], "the four chunks that came, once: {g}");
    let d = a.on(&w.api()).get(&doc(&a.org_id, &id)).await.json();
    assert_eq!(d["content"], kept, "what was written is kept");
    w.stop();
}

async fn a_hanging_provider_fails_at_the_deadline(s: &Suite) {
    let (_mock, proxy) = proxied(8, 10).await;
    proxy.script(vec![], Fault::Hang);
    let w = worker_for(s, &proxy.base_url(), &[("AI_DEADLINE_MS", "3000")]).await;
    let (a, id) = new_doc(&w).await;
    let started = Instant::now();
    let path = generate(&w, &a, &id, PROMPT).await;
    let g = wait_final(&w, &a, &path).await;
    let took = started.elapsed();
    assert_eq!(g["status"], "failed", "{g}");
    assert_eq!(g["error"]["code"], "upstream_timeout", "{g}");
    assert_eq!(g["error"]["status"], 504, "{g}");
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(20),
        "ended at the 3 s deadline, not before or long after: {took:?}"
    );
    assert_eq!(g["text"], "");
    w.stop();
}

async fn the_upstream_usage_is_counted_exactly(s: &Suite) {
    let (_mock, proxy) = proxied(8, 10).await;
    proxy.script(
        vec![],
        Fault::Usage {
            prompt: 17,
            completion: 29,
        },
    );
    let w = worker_for(s, &proxy.base_url(), &[]).await;
    let (a, id) = new_doc(&w).await;
    let path = generate(&w, &a, &id, PROMPT).await;
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "succeeded", "{g}");
    assert_eq!(
        g["tokens"],
        json!({"prompt": 17, "completion": 29, "total": 46, "estimated": false})
    );
    let sent = &proxy.requests()[0];
    assert_eq!(sent["stream"], true);
    assert_eq!(sent["stream_options"]["include_usage"], true, "{sent}");
    let usage = a
        .on(&w.api())
        .get(&format!("/v1/orgs/{}/usage", a.org_id))
        .await
        .json();
    let t = &usage["ai_tokens"];
    assert_eq!(
        (&t["used"], &t["prompt"], &t["completion"]),
        (&json!(46), &json!(17), &json!(29)),
        "the estimates reserved while streaming were settled to the upstream's usage: {usage}"
    );
    w.stop();
}

async fn the_token_quota_stops_a_stream_and_refuses_the_next(s: &Suite) {
    let (_mock, proxy) = proxied(10, 30).await;
    // A 200-character prompt is 50 tokens by the estimate (no usage block comes), its echo
    // another 50: a quota of 75 lets 100 characters through and stops the stream there.
    let limits =
        r#"{"free":{"requests_per_minute":1000,"ai_tokens_per_month":75},"auth_per_minute":1000}"#;
    let w = worker_for(s, &proxy.base_url(), &[("PLAN_LIMITS", limits)]).await;
    let (a, id) = new_doc(&w).await;
    let prompt = "0123456789abcdefghij".repeat(10);
    let path = generate(&w, &a, &id, &prompt).await;
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "failed", "{g}");
    assert_eq!(g["error"]["quota"], "ai_tokens", "{g}");
    assert_eq!(g["text"], &prompt[..100], "stopped at the quota: {g}");
    let c = a.on(&w.api());
    let usage = c.get(&format!("/v1/orgs/{}/usage", a.org_id)).await.json();
    assert_eq!(usage["ai_tokens"]["used"], 75, "{usage}");
    assert_eq!(usage["ai_tokens"]["limit"], 75);
    let gens = format!("{}/generations", doc(&a.org_id, &id));
    let r = c
        .post(&gens, &json!({"prompt": "one more", "mode": "append"}))
        .await;
    r.expect_status(429);
    assert_eq!(r.json()["quota"], "ai_tokens", "{}", r.text());
    assert_eq!(
        proxy.requests().len(),
        1,
        "the refused request queued nothing"
    );
    let events = c
        .get(&format!(
            "/v1/orgs/{}/events?type=quota.threshold_crossed",
            a.org_id
        ))
        .await
        .json();
    let mut crossed: Vec<(String, u64)> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["data"]["quota"].as_str().unwrap_or("").to_owned(),
                e["data"]["threshold_percent"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    crossed.sort();
    assert_eq!(
        crossed,
        [("ai_tokens".to_owned(), 80), ("ai_tokens".to_owned(), 100)],
        "{events}"
    );
    w.stop();
}
