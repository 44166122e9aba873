//! Counters live in durable storage: usage and the current rate-limit window survive a restart
//! of `wrangler dev` on the same state.

use super::fields::rate;
use super::fixtures::{create_job, get, signup, usage, worker};
use crate::support::{trial, Suite};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial!(usage_and_windows_survive_a_restart)]
}

const RPM: i64 = 30;

async fn usage_and_windows_survive_a_restart(s: &Suite) {
    let limits = format!(
        r#"{{"free":{{"requests_per_minute":{RPM},"jobs_per_day":10}},"auth_per_minute":1000}}"#
    );
    let w = worker(s, &limits).await;
    let api = w.api();
    let a = signup(&api).await;
    for _ in 0..3 {
        get(&api, &a.org_path(""), &a.token)
            .await
            .expect_status(200);
    }
    for _ in 0..2 {
        create_job(&api, &a.org_id, &a.token, "email")
            .await
            .expect_status(202);
    }
    let before = usage(&api, &a).await;
    assert_eq!(before["requests"]["used"], 6, "{before}");
    assert_eq!(before["jobs"]["used"], 2, "{before}");

    w.restart().await.unwrap_or_else(|e| panic!("restart: {e}"));
    let api = w.api();
    let r = get(&api, &a.org_path("/usage"), &a.token).await;
    r.expect_status(200);
    let after = r.json();
    assert_eq!(
        after["jobs"], before["jobs"],
        "jobs used: {before} → {after}"
    );
    let (b, n) = (&before["requests"]["used"], &after["requests"]["used"]);
    assert!(
        n.as_u64() >= b.as_u64(),
        "requests used went back: {b} → {n}"
    );
    assert_eq!(n, 7, "the requests before the restart and this one");
    // The window opened before the restart is still counting.
    let window = rate(&r);
    assert_eq!(window.remaining, RPM - 7, "{window:?}");
}
