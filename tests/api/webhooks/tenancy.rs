//! Another organization's endpoints, events and attempts are 404 on every webhook route, its
//! events never reach this organization's endpoints, and replay cannot name them.

use super::kit::{self, endpoint, hook, hooks, signup, wait, SETTLE};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(
        another_orgs_webhooks_and_events_are_404_and_never_delivered
    )]
}

async fn another_orgs_webhooks_and_events_are_404_and_never_delivered(s: &Suite) {
    let a = signup(&s.api).await;
    let b = signup(&s.api).await;
    let (ca, cb) = (a.on(&s.api), b.on(&s.api));
    let ea = endpoint(&ca, &s.receiver, &a.org_id, &["*"]).await;
    let eb = endpoint(&cb, &s.receiver, &b.org_id, &["*"]).await;
    kit::document(&ca, &a.org_id, "A's secret plan").await;
    let got = wait(&s.receiver, &ea, 1).await;
    let event = got[0].header("webhook-id").expect("id").to_owned();
    tokio::time::sleep(SETTLE).await;
    assert!(
        kit::received(&s.receiver, &eb).is_empty(),
        "B got A's event"
    );
    let theirs = kit::events(&cb, &b.org_id, "").await;
    assert!(
        theirs.iter().all(|v| v["org_id"] == b.org_id.as_str()),
        "B lists A's events: {theirs:?}"
    );
    // A's endpoint and event under B's organization: 404 everywhere.
    let (borg, ida) = (&b.org_id, &ea.id);
    let gets = [hook(borg, ida), format!("{}/attempts", hook(borg, ida))];
    for path in &gets {
        kit::problem(&cb.get(path).await, 404, path);
    }
    kit::problem(
        &cb.patch(&hook(borg, ida), &json!({"enabled": false})).await,
        404,
        "PATCH A's endpoint via B",
    );
    kit::problem(
        &cb.delete(&hook(borg, ida)).await,
        404,
        "DELETE A's endpoint via B",
    );
    for tail in ["rotate-secret", "test", &format!("events/{event}/replay")] {
        let path = format!("{}/{tail}", hook(borg, ida));
        kit::problem(&cb.post(&path, &json!({})).await, 404, &path);
    }
    // A's event replayed to B's own endpoint: 404.
    let path = format!("{}/events/{event}/replay", hook(borg, &eb.id));
    kit::problem(&cb.post(&path, &json!({})).await, 404, &path);
    // A's organization itself: 404 for B on every webhook route.
    let aorg = &a.org_id;
    for path in [
        hooks(aorg),
        hook(aorg, ida),
        format!("{}/attempts", hook(aorg, ida)),
        format!("/v1/orgs/{aorg}/events"),
    ] {
        kit::problem(&cb.get(&path).await, 404, &path);
    }
    let body = json!({"url": kit::url_for(&s.receiver, "x"), "event_types": ["*"]});
    kit::problem(
        &cb.post(&hooks(aorg), &body).await,
        404,
        "create in A's org",
    );
    for tail in ["rotate-secret", "test", &format!("events/{event}/replay")] {
        let path = format!("{}/{tail}", hook(aorg, ida));
        kit::problem(&cb.post(&path, &json!({})).await, 404, &path);
    }
    // Nothing B did changed A's endpoint.
    let shown = kit::get(&ca, aorg, ida).await;
    assert_eq!(shown["enabled"], true, "{shown}");
    assert_eq!(shown["secret_generation"], 1, "{shown}");
    tokio::time::sleep(SETTLE).await;
    assert_eq!(
        kit::received(&s.receiver, &ea).len(),
        1,
        "B's calls sent A's endpoint events"
    );
}
