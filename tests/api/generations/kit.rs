//! What the generation trials share: a worker pointed at a model server, a document to write
//! into, and waiting for a generation to end.

use crate::documents::kit::{docs, signup, Account};
use crate::support::Suite;
use edge_tests::{Worker, WorkerOptions};
use serde_json::{json, Value};
use std::time::Duration;

/// A worker of the trial's own whose model provider is at `base_url` (model `mock-model`),
/// with `vars` on top.
pub async fn worker_for(s: &Suite, base_url: &str, vars: &[(&str, &str)]) -> Worker {
    let mut o = WorkerOptions::new()
        .var("AI_BASE_URL", base_url)
        .var("AI_MODELS", r#"{"free":["mock-model"]}"#);
    for (k, v) in vars {
        o = o.var(*k, *v);
    }
    s.private_worker(o).await
}

/// A new account with one empty document in its organization.
pub async fn new_doc(w: &Worker) -> (Account, String) {
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

/// The generation at `path` once it is final (30 s at most).
pub async fn wait_final(w: &Worker, a: &Account, path: &str) -> Value {
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

/// Starts a generation of `prompt` (appended) on document `id`; its path.
pub async fn generate(w: &Worker, a: &Account, id: &str, prompt: &str) -> String {
    let gens = format!("{}/generations", crate::documents::kit::doc(&a.org_id, id));
    let r = a
        .on(&w.api())
        .post(&gens, &json!({"prompt": prompt, "mode": "append"}))
        .await;
    r.expect_status(202);
    format!("{gens}/{}", r.json()["id"].as_str().unwrap())
}
