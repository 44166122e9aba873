//! The sweep removes the rows of single-use secrets (sign-in challenges, passkey challenges,
//! restore and password-reset tokens) an hour after they expired, and nothing still live:
//! every check already refuses an expired one, so the rows only took space.

use super::kit::{signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_sweep_drops_expired_single_use_secrets)]
}

const TABLES: [&str; 4] = [
    "mfa_challenges",
    "webauthn_challenges",
    "account_restores",
    "password_resets",
];

async fn the_sweep_drops_expired_single_use_secrets(s: &Suite) {
    // Its own worker: writing a worker's SQLite file from outside (`wrangler d1 execute`)
    // locks it, and the shared worker's other trials would meet SQLITE_BUSY meanwhile.
    let worker = s.private_worker(WorkerOptions::new()).await;
    let api = &worker.api();
    let persist = worker.persist_dir();
    let user = signup(api).await;
    // Per table: one expired two hours ago, one expired a minute ago, one live.
    for table in TABLES {
        let ceremony = if table == "webauthn_challenges" {
            ", ceremony"
        } else {
            ""
        };
        let value = if table == "webauthn_challenges" {
            ", 'login'"
        } else {
            ""
        };
        for (name, offset) in [("old", -7200), ("recent", -60), ("live", 600)] {
            edge_tests::d1::execute(
                persist,
                &format!(
                    "INSERT INTO {table} (hash, user_id, created_at, expires_at{ceremony}) VALUES \
                     ('{name}-{}', '{}', '2026-01-01T00:00:00Z', strftime('%s','now') + {offset}{value})",
                    user.id, user.id
                ),
            )
            .await;
        }
    }
    let r = Caller::anon(api).post("/__test/sweep", &json!({})).await;
    r.expect_status(200);
    assert!(
        r.json()["expired_secrets_removed"].as_u64() >= Some(4),
        "{}",
        r.text()
    );
    for table in TABLES {
        let rows = edge_tests::d1::execute(
            persist,
            &format!(
                "SELECT hash FROM {table} WHERE user_id = '{}' ORDER BY hash",
                user.id
            ),
        )
        .await;
        let left: Vec<String> = rows
            .iter()
            .filter_map(|r| r["hash"].as_str())
            .map(|h| h.split('-').next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(left, ["live", "recent"], "{table}: {rows:?}");
    }
}
