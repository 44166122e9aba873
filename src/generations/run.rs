//! Running one generation from the Queue consumer: claim the row, call the model provider
//! (retrying only before the first token, within the deadline), and for each chunk of text
//! reserve its tokens in `TENANT`, publish it as a `generation.delta` to the document's room and
//! checkpoint it to D1 every [`CHECKPOINT_MS`]; then hand the outcome to `finish`. Cancel is
//! seen two ways: the room refuses deltas of a cancelled generation (so none follows the
//! DELETE's answer), and the checkpoint reads the row's `cancel_requested`.

use super::finish::{self, Outcome};
use super::quota::Meter;
use super::repo::{self, GenRow};
use super::upstream::{self, Caller};
use crate::{config, platform};
use edge_core::generations::sse::{parse_chunk, Chunk, SseDecoder, Usage};
use edge_core::generations::{self as rules, text, Next, UpstreamFailure};
use edge_core::ApiError;
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use worker::{AbortController, Delay, Env};

/// How often the text so far is saved (and the cancel flag read).
const CHECKPOINT_MS: i64 = 250;
/// How long past its deadline a running generation is protected from the sweep.
pub const LEASE_SLACK_MS: i64 = 15_000;

/// What the stream produced so far.
struct Progress {
    text: String,
    chunks: i64,
    attempts: u32,
    usage: Option<Usage>,
    last_checkpoint: i64,
}

/// Why streaming stopped.
enum Stop {
    Completed,
    Cancelled,
    Quota,
    OutputLimit,
    Failed(UpstreamFailure),
    /// The row is no longer ours (the sweep settled it): write nothing.
    Lost,
}

pub async fn run(env: &Env, generation_id: &str) -> Result<(), ApiError> {
    let config = config::load(env).map_err(|e| crate::http::internal("config", e))?;
    let db = crate::db::database(env)?;
    let started = platform::now_ms();
    let deadline = started + i64::from(config.ai.deadline_ms);
    let now = platform::rfc3339(platform::now());
    let Some(row) = repo::claim(&db, generation_id, deadline + LEASE_SLACK_MS, &now).await? else {
        // Not queued: a duplicate message, or cancelled before it started.
        return Ok(());
    };
    log(&row, "generation_started", json!({}));
    let mut meter = Meter::new(env, &row);
    let mut p = Progress {
        text: String::new(),
        chunks: 0,
        attempts: 0,
        usage: None,
        last_checkpoint: started,
    };
    let stop = if meter.reserve_prompt().await? {
        stream(env, &config, &db, &row, &mut meter, &mut p, deadline).await?
    } else {
        Stop::Quota
    };
    let outcome = match stop {
        Stop::Lost => return Ok(()),
        Stop::Completed | Stop::OutputLimit => Outcome::succeeded(),
        Stop::Cancelled => Outcome::cancelled(),
        Stop::Quota => Outcome::failed(rules::quota_problem()),
        Stop::Failed(f) => Outcome::failed(f.problem()),
    };
    log(
        &row,
        "generation_stopped",
        json!({"status": outcome.status.as_str(), "chunks": p.chunks, "attempts": p.attempts,
               "chars": p.text.chars().count(), "ms": platform::now_ms() - started}),
    );
    let reserved = meter.reserved();
    finish::finish(
        env, &row, &p.text, p.chunks, p.attempts, reserved, p.usage, outcome,
    )
    .await
}

async fn stream(
    env: &Env,
    config: &edge_core::config::Config,
    db: &worker::D1Database,
    row: &GenRow,
    meter: &mut Meter<'_>,
    p: &mut Progress,
    deadline: i64,
) -> Result<Stop, ApiError> {
    let body = spec_body(row);
    let room = format!("doc:{}", row.doc_id);
    loop {
        p.attempts += 1;
        let controller = AbortController::default();
        let signal = controller.signal();
        let who = Caller {
            generation_id: &row.id,
            org_id: &row.org_id,
            attempt: p.attempts,
        };
        let opened = {
            let open = Box::pin(upstream::open(config, &who, &body, &signal));
            match select(open, Box::pin(sleep_until(deadline))).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => Err(UpstreamFailure::Deadline),
            }
        };
        let failure = match opened {
            Ok(mut bytes) => {
                let mut sse = SseDecoder::new();
                let outcome = loop {
                    let next = match select(bytes.next(), Box::pin(sleep_until(deadline))).await {
                        Either::Left((n, _)) => n,
                        Either::Right(_) => break Err(UpstreamFailure::Deadline),
                    };
                    let events = match next {
                        Some(Ok(chunk)) => sse.push(&chunk),
                        Some(Err(e)) => {
                            break Err(UpstreamFailure::Unreachable(
                                e.to_string().chars().take(200).collect(),
                            ))
                        }
                        None => match sse.finish() {
                            Some(last) => vec![last],
                            None => {
                                break Err(UpstreamFailure::Unreachable(
                                    "the stream ended before [DONE]".into(),
                                ))
                            }
                        },
                    };
                    match take(env, db, row, &room, meter, p, config, events).await? {
                        // An error inside the stream is a failure like any other: retried
                        // if no token came yet.
                        Some(Stop::Failed(f)) => break Err(f),
                        Some(stop) => break Ok(stop),
                        None => continue,
                    }
                };
                controller.abort();
                match outcome {
                    Ok(stop) => return Ok(stop),
                    Err(f) => f,
                }
            }
            Err(f) => {
                controller.abort();
                f
            }
        };
        let tokens_seen = p.chunks > 0;
        let left = deadline - platform::now_ms();
        match rules::after_failure(
            &failure,
            p.attempts,
            tokens_seen,
            config.ai.max_attempts,
            left,
        ) {
            Next::RetryIn(ms) => {
                log(
                    row,
                    "generation_retry",
                    json!({"attempt": p.attempts, "failure": format!("{failure:?}")}),
                );
                Delay::from(Duration::from_millis(u64::from(ms))).await;
            }
            Next::Fail(_) => return Ok(Stop::Failed(failure)),
        }
    }
}

/// Applies the events of one network read; `Some` when streaming must stop.
#[allow(clippy::too_many_arguments)]
async fn take(
    env: &Env,
    db: &worker::D1Database,
    row: &GenRow,
    room: &str,
    meter: &mut Meter<'_>,
    p: &mut Progress,
    config: &edge_core::config::Config,
    events: Vec<String>,
) -> Result<Option<Stop>, ApiError> {
    for data in events {
        match parse_chunk(&data) {
            Chunk::Done => return Ok(Some(Stop::Completed)),
            Chunk::Error(why) => return Ok(Some(Stop::Failed(UpstreamFailure::InStream(why)))),
            Chunk::Unreadable => {}
            Chunk::Delta {
                text: piece, usage, ..
            } => {
                if usage.is_some() {
                    p.usage = usage;
                }
                if piece.is_empty() {
                    continue;
                }
                let written = p.text.chars().count();
                let Some(piece) = text::fit(&piece, written, config.ai.max_output_chars) else {
                    return Ok(Some(Stop::OutputLimit));
                };
                let mut next_text = p.text.clone();
                next_text.push_str(piece);
                if !meter.reserve_text(&next_text).await? {
                    return Ok(Some(Stop::Quota));
                }
                let delta = json!({
                    "type": "generation.delta", "generation": row.id, "seq": p.chunks,
                    "text": piece, "ts": platform::rfc3339(platform::now()),
                });
                if !publish_delta(env, &row.org_id, room, &delta).await {
                    return Ok(Some(Stop::Cancelled));
                }
                p.text = next_text;
                p.chunks += 1;
                let now = platform::now_ms();
                if now - p.last_checkpoint >= CHECKPOINT_MS {
                    p.last_checkpoint = now;
                    let stamp = platform::rfc3339(platform::now());
                    let lease = row.lease_until.unwrap_or(now);
                    match repo::checkpoint(
                        db,
                        &row.id,
                        &p.text,
                        p.chunks,
                        meter.reserved() as i64,
                        i64::from(p.attempts),
                        lease,
                        &stamp,
                    )
                    .await?
                    {
                        None => return Ok(Some(Stop::Lost)),
                        Some(true) => return Ok(Some(Stop::Cancelled)),
                        Some(false) => {}
                    }
                }
                if p.text.chars().count() >= config.ai.max_output_chars {
                    return Ok(Some(Stop::OutputLimit));
                }
            }
        }
    }
    Ok(None)
}

/// Publishes a delta through the room's stream path; `false` if the room says the generation
/// was cancelled. A room that cannot be reached does not stop the generation (the text still
/// lands in the document at the end).
async fn publish_delta(env: &Env, org_id: &str, room: &str, delta: &serde_json::Value) -> bool {
    match crate::realtime::room_call(env, org_id, room, "/stream", Some(delta)).await {
        Ok(resp) => resp.status_code() != 409,
        Err(e) => {
            let _ = crate::http::internal("publish generation delta", e);
            true
        }
    }
}

fn spec_body(row: &GenRow) -> String {
    let spec = rules::Spec {
        prompt: row.prompt.clone(),
        mode: rules::Mode::parse(&row.mode).unwrap_or(rules::Mode::Append),
        position: row.position.unwrap_or(0).max(0) as usize,
        model: row.model.clone(),
        max_tokens: row.max_tokens.max(1) as u32,
        temperature: row.temperature,
    };
    spec.upstream_body().to_string()
}

async fn sleep_until(deadline: i64) {
    let ms = (deadline - platform::now_ms()).max(0) as u64;
    Delay::from(Duration::from_millis(ms)).await;
}

/// One log line about a generation: ids, sizes and the prompt's hash, never the prompt.
pub fn log(row: &GenRow, msg: &str, extra: serde_json::Value) {
    let mut line = json!({"level": "info", "msg": msg, "generation_id": row.id, "org_id": row.org_id,
        "doc_id": row.doc_id, "model": row.model, "prompt_chars": row.prompt_chars,
        "prompt_sha256": row.prompt_sha256});
    if let (Some(l), Some(e)) = (line.as_object_mut(), extra.as_object()) {
        l.extend(e.clone());
    }
    worker::console_log!("{line}");
}
