//! AI generations into documents (#20): the row is written by the route, a message on the
//! `JOBS` queue (`{"generation_id": …}`) starts `run` in the consumer, which streams the model
//! provider's answer into the document's room and lands the text with `finish`. The rules are
//! `edge_core::generations`. The older opaque `ai.generate` job type is kept as it was (a job
//! whose JSON result sits on the job row) for callers that use it.

pub mod finish;
pub mod quota;
pub mod repo;
pub mod run;
pub mod upstream;

use crate::{db, platform, sql};
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use worker::Env;

/// The queue message of a generation.
#[derive(Debug, Serialize, Deserialize)]
pub struct GenerationMessage {
    pub generation_id: String,
}

/// Sends the message of a written row; a failure is logged (the sweep re-sends).
pub async fn send(env: &Env, id: &str) -> Result<(), ApiError> {
    let queue = env
        .queue("JOBS")
        .map_err(|e| crate::http::internal("JOBS binding", e))?;
    queue
        .send(&GenerationMessage {
            generation_id: id.to_owned(),
        })
        .await
        .map_err(|e| crate::http::internal("send generation message", e))
}

#[derive(Deserialize)]
struct Id {
    id: String,
}

/// The sweep's part: a `running` generation past its lease (its consumer died: a restart)
/// is settled `failed` with what it had written kept; a `queued` one quiet for a minute gets
/// its message again. Returns (settled, resent).
pub async fn sweep(env: &Env) -> Result<(usize, usize), ApiError> {
    let db = db::database(env)?;
    let now_ms = platform::now_ms();
    let stale: Vec<Id> = db::all(sql!(
        db,
        "SELECT id FROM generations WHERE status = 'running' AND lease_until < ?1 LIMIT 50",
        now_ms
    ))
    .await?;
    for g in &stale {
        if let Some(row) = repo::get(&db, &g.id).await? {
            let problem = serde_json::json!({"code": "interrupted", "status": 500,
                "detail": "The generation was interrupted (the runtime restarted); what was written is kept."});
            let reserved = row.tokens_reserved.max(0) as u64;
            finish::finish(
                env,
                &row,
                &row.text_so_far,
                row.chunks,
                row.attempts.max(0) as u32,
                reserved,
                None,
                finish::Outcome::failed(problem),
            )
            .await?;
        }
    }
    let threshold = platform::rfc3339(platform::now() - chrono::Duration::seconds(60));
    let stamp = platform::rfc3339(platform::now());
    let lost: Vec<Id> = db::all(sql!(
        db,
        "UPDATE generations SET updated_at = ?2 WHERE id IN \
         (SELECT id FROM generations WHERE status = 'queued' AND updated_at < ?1 LIMIT 100) RETURNING id",
        &threshold,
        &stamp
    ))
    .await?;
    for g in &lost {
        let _ = send(env, &g.id).await;
    }
    Ok((stale.len(), lost.len()))
}
