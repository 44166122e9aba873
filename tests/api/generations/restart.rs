//! `wrangler dev` restarted while a generation streams: afterwards the generation ends
//! `failed` (the sweep settles it once its lease runs out, keeping the text that was
//! checkpointed) or `succeeded`, never stays `running`, and no text is written twice.

use super::kit::{generate, new_doc, worker_for};
use crate::documents::kit::doc;
use crate::rooms::kit::connect;
use crate::support::{trial, Suite};
use edge_tests::llm::MockLlm;
use edge_tests::SendExt;
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(a_restart_mid_generation_never_leaves_it_running)]
}

async fn a_restart_mid_generation_never_leaves_it_running(s: &Suite) {
    // 2 characters every 100 ms: the 160-character echo takes 8 s, the restart comes after 1 s.
    let mock = MockLlm::start(2, 100).await.expect("mock-llm");
    let w = worker_for(s, &mock.base_url(), &[("AI_DEADLINE_MS", "10000")]).await;
    let (a, id) = new_doc(&w).await;
    let (mut ws, _) = connect(&w.api(), &a.access, &a.org_id, &format!("doc:{id}")).await;
    let prompt = "restart-safe text ".repeat(9);
    let prompt = &prompt[..160];
    let path = generate(&w, &a, &id, prompt).await;
    for _ in 0..10 {
        ws.next_of("generation.delta", Duration::from_secs(20))
            .await;
    }
    drop(ws);
    w.restart().await.unwrap_or_else(|e| panic!("restart: {e}"));
    let api = w.api();
    let c = a.on(&api);
    let g = edge_tests::eventually(
        "the generation settled after the restart",
        Duration::from_secs(90),
        || async {
            let r = api.post_json("/__test/sweep", &json!({})).reply().await;
            r.expect_status(200);
            let g = c.get(&path).await.json();
            let done = ["failed", "succeeded"].contains(&g["status"].as_str().unwrap_or(""));
            if !done {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            done.then_some(g)
        },
    )
    .await;
    let text = g["text"].as_str().unwrap();
    assert!(
        prompt.starts_with(text),
        "no text twice or out of order: {text:?}"
    );
    if g["status"] == "failed" {
        assert_eq!(g["error"]["code"], "interrupted", "{g}");
    } else {
        assert_eq!(text, prompt);
    }
    let d = c.get(&doc(&a.org_id, &id)).await.json();
    assert_eq!(d["content"], text, "the document holds the text once: {g}");
    w.stop();
}
