//! `wrangler dev` restarted while a delivery is in flight (the receiver has the request and
//! has not answered): after the restart the delivery's lease runs out, the sweep sends it
//! again with the same `webhook-id`, and it succeeds; an event committed just before the
//! restart is delivered too. Nothing is lost.

use super::kit::{self, assert_verifies, endpoint, signup, wait};
use crate::support::{trial, Suite};
use edge_tests::{Answer, SendExt, WorkerOptions};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::Duration;

pub fn trials() -> Vec<Trial> {
    vec![trial!(a_restart_mid_delivery_loses_nothing)]
}

async fn a_restart_mid_delivery_loses_nothing(s: &Suite) {
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = worker.api();
    let owner = signup(&api).await;
    let org = owner.org_id.clone();
    let by = owner.on(&api);
    let e = endpoint(&by, &s.receiver, &org, &["document.created"]).await;
    // Attempt 1 hangs past the restart; later ones answer at once.
    s.receiver.script(
        &e.key,
        vec![
            Answer::slow(30_000, Answer::Json(200, json!({"late": true}))),
            Answer::Json(200, json!({"ok": true})),
        ],
    );
    kit::document(&by, &org, "In flight").await;
    let first = wait(&s.receiver, &e, 1).await;
    let id = first[0]
        .header("webhook-id")
        .expect("webhook-id")
        .to_owned();
    worker
        .restart()
        .await
        .unwrap_or_else(|e| panic!("restart: {e}"));
    let api = worker.api();
    let by = owner.on(&api);
    edge_tests::eventually(
        "the delivery sent again after the restart",
        Duration::from_secs(75),
        || async {
            let r = api.post_json("/__test/sweep", &json!({})).reply().await;
            r.expect_status(200);
            tokio::time::sleep(Duration::from_secs(2)).await;
            (kit::received(&s.receiver, &e).len() >= 2).then_some(())
        },
    )
    .await;
    let got = kit::received(&s.receiver, &e);
    assert_eq!(
        got[1].header("webhook-id"),
        Some(id.as_str()),
        "same id after the restart"
    );
    assert_verifies(&e.secret, &got[1]);
    let log = kit::attempts_until(&by, &org, &e.id, "the successful attempt", |a| {
        a.iter().any(|r| r["outcome"] == "succeeded")
    })
    .await;
    assert!(log.iter().all(|r| r["event_id"] == id.as_str()), "{log:?}");
    // The event list survived the restart too.
    let listed = kit::events(&by, &org, "").await;
    assert!(listed.iter().any(|v| v["id"] == id.as_str()), "{listed:?}");
}
