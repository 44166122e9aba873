//! A generation streamed from the registry's OpenAI-compatible mock (`@dwmkerr/mock-llm`, which
//! echoes the prompt) into the document: a room client sees every delta in order before the
//! end, and the new version's text is the concatenated stream; a cancel mid-stream keeps what
//! was written, ends `cancelled`, and no delta follows the DELETE's answer.

use super::kit::{new_doc, wait_final, worker_for};
use crate::documents::kit::doc;
use crate::rooms::kit::connect;
use crate::support::{trial, Suite};
use edge_tests::llm::MockLlm;
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(a_generation_streams_into_the_document),
        trial!(cancel_mid_stream_keeps_the_text_so_far),
    ]
}

async fn a_generation_streams_into_the_document(s: &Suite) {
    let mock = MockLlm::start(7, 20).await.expect("mock-llm");
    let w = worker_for(s, &mock.base_url(), &[]).await;
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
    // The outcome and the new version are events (webhooks), from the landing's own batch.
    let events = |ty: &'static str| {
        let (c, org) = (a.on(&api), a.org_id.clone());
        async move {
            c.get(&format!("/v1/orgs/{org}/events?type={ty}"))
                .await
                .json()["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        }
    };
    let finished = events("generation.finished").await;
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(finished[0]["data"]["object"]["id"], gen_id.as_str());
    assert_eq!(finished[0]["data"]["details"]["status"], "succeeded");
    assert_eq!(finished[0]["data"]["details"]["document_id"], id.as_str());
    let updated = events("document.updated").await;
    assert!(
        updated
            .iter()
            .any(|e| e["data"]["document"]["version"] == v
                && e["data"]["document"]["id"] == id.as_str()),
        "document.updated for version {v}: {updated:?}"
    );
    w.stop();
}

async fn cancel_mid_stream_keeps_the_text_so_far(s: &Suite) {
    let mock = MockLlm::start(3, 150).await.expect("mock-llm");
    let w = worker_for(s, &mock.base_url(), &[]).await;
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
