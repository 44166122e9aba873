//! What is refused before anything is queued: bad prompts, modes and models are 400; a viewer
//! is 403; another organization's document is 404 on every route.

use crate::documents::kit::{doc, docs, signup, team};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(bad_requests_are_400_and_queue_nothing),
        trial!(a_viewer_cannot_generate_and_another_org_is_404),
    ]
}

async fn bad_requests_are_400_and_queue_nothing(s: &Suite) {
    let a = signup(&s.api).await;
    let c = a.on(&s.api);
    let r = c.post(&docs(&a.org_id), &json!({"title": "t"})).await;
    r.expect_status(201);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let gens = format!("{}/generations", doc(&a.org_id, &id));
    let long = "x".repeat(32_769);
    for (body, field) in [
        (json!({"prompt": "", "mode": "append"}), "prompt"),
        (json!({"prompt": "   ", "mode": "append"}), "prompt"),
        (json!({"prompt": long, "mode": "append"}), "prompt"),
        (json!({"prompt": "hi", "mode": "prepend"}), "mode"),
        (json!({"prompt": "hi", "mode": "insert_at"}), "position"),
        (
            json!({"prompt": "hi", "mode": "append", "model": "no-such-model"}),
            "model",
        ),
        (
            json!({"prompt": "hi", "mode": "append", "max_tokens": 0}),
            "max_tokens",
        ),
    ] {
        let p = c
            .post(&gens, &body)
            .await
            .expect_problem(400, "validation_failed");
        assert!(
            p.errors.iter().any(|e| e.field == field),
            "{body}: expected an error on {field}, got {:?}",
            p.errors
        );
    }
    c.post(&gens, &json!({"prompt": "hi", "mode": "append", "x": 1}))
        .await
        .expect_problem(400, "unknown_field");
    let list = c.get(&gens).await;
    list.expect_status(200);
    assert_eq!(list.json()["items"], json!([]), "nothing was queued");
}

async fn a_viewer_cannot_generate_and_another_org_is_404(s: &Suite) {
    let t = team(s).await;
    let owner = t.owner.on(&s.api);
    let r = owner.post(&docs(&t.org), &json!({"title": "t"})).await;
    r.expect_status(201);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let gens = format!("{}/generations", doc(&t.org, &id));
    let body = json!({"prompt": "hello", "mode": "append"});
    t.viewer
        .on(&s.api)
        .post(&gens, &body)
        .await
        .expect_problem(403, "forbidden");
    // Another organization's caller: the same document id is 404 on every route.
    let other = signup(&s.api).await.on(&s.api);
    other
        .post(&gens, &body)
        .await
        .expect_problem(404, "not_found");
    other.get(&gens).await.expect_problem(404, "not_found");
    let one = format!("{gens}/gen_aaaaaaaaaaaaaaaaaaaaaaaaaa");
    other.get(&one).await.expect_problem(404, "not_found");
    other.delete(&one).await.expect_problem(404, "not_found");
    owner.get(&one).await.expect_problem(404, "not_found");
    assert_eq!(owner.get(&gens).await.json()["items"], json!([]));
}
