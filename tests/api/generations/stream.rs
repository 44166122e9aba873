//! A generation streamed from the registry's OpenAI-compatible mock (`@dwmkerr/mock-llm`, which
//! echoes the prompt) into the document: a room client sees every delta in order before the
//! end, and the new version's text is the concatenated stream; a cancel mid-stream keeps what
//! was written, ends `cancelled`, and no delta follows the DELETE's answer.

use crate::documents::kit::{doc, docs, signup, Account};
use crate::rooms::kit::connect;
use crate::support::{trial, Suite};
use edge_tests::llm::MockLlm;
use edge_tests::{Worker, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::{json, Value};
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_generation_streams_into_the_document),
        trial!(cancel_mid_stream_keeps_the_text_so_far),
    ]
}

async fn worker_for(s: &Suite, mock: &MockLlm) -> Worker {
    s.private_worker(
        WorkerOptions::new()
            .var("AI_BASE_URL", mock.base_url())
            .var("AI_MODELS", r#"{"free":["mock-model"]}"#),
    )
    .await
}

async fn new_doc(w: &Worker) -> (Account, String) {
    let api = w.api();
    let a = signup(&api).await;
    let r = a
        .on(&api)
        .post(&docs(&a.org_id), &json!({"title": "t"}))
        .await;
    r.expect_status(201);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    (a, id)
}

async fn wait_final(w: &Worker, a: &Account, path: &str) -> Value {
    let c = a.on(&w.api());
    for _ in 0..300 {
        let g = c.get(path).await.json();
        if ["succeeded", "failed", "cancelled"].contains(&g["status"].as_str().unwrap_or("")) {
            return g;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("generation {path} never became final");
}

async fn a_generation_streams_into_the_document(s: &Suite) {
    let mock = MockLlm::start(7, 20).await.expect("mock-llm");
    let w = worker_for(s, &mock).await;
    let api = w.api();
    let (a, id) = new_doc(&w).await;
    let (mut ws, _) = connect(&api, &a.access, &a.org_id, &format!("doc:{id}")).await;
    let prompt = "The quick brown fox jumps over the lazy dog, streamed in small pieces.";
    let gens = format!("{}/generations", doc(&a.org_id, &id));
    let r = a
        .on(&api)
        .post(&gens, &json!({"prompt": prompt, "mode": "append"}))
        .await;
    r.expect_status(202);
    let gen = r.json();
    assert_eq!(gen["status"], "queued");
    let gen_id = gen["id"].as_str().unwrap().to_owned();
    let mut text = String::new();
    let mut seq = 0;
    loop {
        let f = ws
            .next_json_within(Duration::from_secs(20))
            .await
            .expect("frames until generation.finished");
        match f["type"].as_str() {
            Some("generation.delta") => {
                assert_eq!(f["generation"], gen_id.as_str());
                assert_eq!(f["seq"], seq, "deltas in order: {f}");
                seq += 1;
                text.push_str(f["text"].as_str().unwrap());
            }
            Some("generation.finished") => {
                assert_eq!(f["status"], "succeeded", "{f}");
                break;
            }
            _ => {}
        }
    }
    assert!(seq > 3, "streamed in several deltas ({seq})");
    assert_eq!(text, prompt, "the mock echoes the prompt");
    let g = wait_final(&w, &a, &format!("{gens}/{gen_id}")).await;
    assert_eq!(g["status"], "succeeded");
    assert_eq!(g["text"], prompt);
    assert_eq!(
        g["tokens"]["estimated"], true,
        "mock-llm streams no usage block"
    );
    let d = a.on(&api).get(&doc(&a.org_id, &id)).await.json();
    assert_eq!(
        d["content"], prompt,
        "the final version is the concatenated stream"
    );
    let v = g["version"]
        .as_i64()
        .expect("the version the text landed in");
    let ver = a
        .on(&api)
        .get(&format!("{}/versions/{v}", doc(&a.org_id, &id)))
        .await
        .json();
    assert_eq!(ver["author_id"], format!("generation {gen_id} by {}", a.id));
    let usage = a
        .on(&api)
        .get(&format!("/v1/orgs/{}/usage", a.org_id))
        .await
        .json();
    assert_eq!(usage["ai_tokens"]["used"], g["tokens"]["total"], "{usage}");
    w.stop();
}

async fn cancel_mid_stream_keeps_the_text_so_far(s: &Suite) {
    let mock = MockLlm::start(3, 150).await.expect("mock-llm");
    let w = worker_for(s, &mock).await;
    let api = w.api();
    let (a, id) = new_doc(&w).await;
    let (mut ws, _) = connect(&api, &a.access, &a.org_id, &format!("doc:{id}")).await;
    let prompt = "abcdefghijklmnopqrstuvwxyz".repeat(4);
    let gens = format!("{}/generations", doc(&a.org_id, &id));
    let r = a
        .on(&api)
        .post(&gens, &json!({"prompt": prompt, "mode": "append"}))
        .await;
    r.expect_status(202);
    let gen_id = r.json()["id"].as_str().unwrap().to_owned();
    let mut seen = String::new();
    for _ in 0..3 {
        let f = ws
            .next_of("generation.delta", Duration::from_secs(20))
            .await;
        seen.push_str(f["text"].as_str().unwrap());
    }
    let path = format!("{gens}/{gen_id}");
    let c = a.on(&api).delete(&path).await;
    c.expect_status(202);
    // Deltas already in flight before the answer may arrive; none after it.
    let mut after = Vec::new();
    for f in ws.drain(Duration::from_millis(1500)).await {
        if f["type"] == "generation.delta" {
            after.push(f);
        }
    }
    assert!(
        after.len() <= 1,
        "deltas after the cancel answered: {after:?}"
    );
    let g = wait_final(&w, &a, &path).await;
    assert_eq!(g["status"], "cancelled", "{g}");
    let kept = g["text"].as_str().unwrap().to_owned();
    assert!(
        kept.len() >= seen.len() && prompt.starts_with(&kept),
        "kept {kept:?}"
    );
    assert!(kept.len() < prompt.len(), "stopped before the end");
    let d = a.on(&api).get(&doc(&a.org_id, &id)).await.json();
    assert_eq!(
        d["content"], kept,
        "what was written is kept in the document"
    );
    w.stop();
}
