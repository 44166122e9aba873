//! The end of a generation, whatever the outcome: the text written so far lands in the
//! document as one write and one new version authored "generation {id} by {user}", with the
//! generation's final row and an audit entry, in one D1 batch; the tokens are settled in
//! `TENANT`; `generation.finished` and `document.updated` go to the document's room.

use super::quota::Meter;
use super::repo::GenRow;
use crate::audit::{self, Actor, Event};
use crate::{db, platform, sql};
use edge_core::generations::sse::Usage;
use edge_core::generations::{self as rules, text, Mode, Status};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};
use worker::Env;

pub struct Outcome {
    pub status: Status,
    pub error: Option<Value>,
}

impl Outcome {
    pub fn succeeded() -> Self {
        Self {
            status: Status::Succeeded,
            error: None,
        }
    }
    pub fn cancelled() -> Self {
        Self {
            status: Status::Cancelled,
            error: None,
        }
    }
    pub fn failed(problem: Value) -> Self {
        Self {
            status: Status::Failed,
            error: Some(problem),
        }
    }
}

#[derive(Deserialize)]
struct Doc {
    content: String,
    version: i64,
}

/// Writes the outcome; retries when a concurrent edit moved the document's version.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    env: &Env,
    row: &GenRow,
    written: &str,
    chunks: i64,
    attempts: u32,
    reserved: u64,
    usage: Option<Usage>,
    outcome: Outcome,
) -> Result<(), ApiError> {
    let db = db::database(env)?;
    let (prompt, completion, estimated, correction) = rules::settle(reserved, usage, &row.prompt);
    Meter::new(env, row)
        .settle(&row.id, prompt, completion, correction)
        .await?;
    let mode = Mode::parse(&row.mode).unwrap_or(Mode::Append);
    let author = rules::author(&row.id, &row.user_id);
    let mut outcome = outcome;
    for _ in 0..8 {
        let now = platform::rfc3339(platform::now());
        let claim = platform::claim();
        let doc: Option<Doc> = db::first(sql!(
            db,
            "SELECT content, version FROM documents WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
            &row.doc_id,
            &row.org_id
        ))
        .await?;
        let doc_content = match (&doc, written.is_empty()) {
            (Some(doc), false) => {
                let pos = row.position.unwrap_or(0).max(0) as usize;
                let content = text::apply(&doc.content, mode, pos, written);
                if content.len() > edge_core::documents::CONTENT_MAX_BYTES {
                    outcome = Outcome::failed(json!({"code": "output_too_large", "status": 413,
                        "detail": "The document would exceed 512 KiB; the text is kept on the generation only."}));
                    None
                } else {
                    Some((content, doc.version))
                }
            }
            _ => None,
        };
        let writes_doc = doc_content.is_some();
        let error = outcome.error.as_ref().map(Value::to_string);
        let status = outcome.status.as_str();
        let tokens = (prompt + completion) as i64;
        let doc_fan_out = std::cell::Cell::new(None);
        let doc_event_id = std::cell::RefCell::new(String::new());
        let build = || {
            doc_fan_out.set(None);
            let mut stmts = Vec::new();
            if let Some((content, version)) = &doc_content {
                stmts.push(sql!(
                    db,
                    "UPDATE documents SET content = ?3, version = version + 1, updated_at = ?4, last_request_id = ?5 \
                     WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL AND version = ?6",
                    &row.doc_id, &row.org_id, content, &now, &claim, *version
                )?);
                stmts.push(sql!(
                    db,
                    "INSERT INTO document_versions (doc_id, version, title, content, status, author_id, created_at) \
                     SELECT id, version, title, content, status, ?3, updated_at FROM documents \
                     WHERE id = ?1 AND last_request_id = ?2",
                    &row.doc_id, &claim, &author
                )?);
                // `document.updated` for webhooks, in the same batch (the outbox).
                let updated = crate::events::document(
                    &row.org_id,
                    "document.updated",
                    &row.doc_id,
                    &claim,
                    &row.user_id,
                );
                doc_fan_out.set(Some(crate::events::append(&mut stmts, &db, &updated)?));
                doc_event_id.replace(updated.id);
            }
            stmts.push(sql!(
                db,
                "UPDATE generations SET status = ?2, error = ?3, text_so_far = ?4, chunks = ?5, attempts = ?6, \
                 tokens_reserved = ?7, prompt_tokens = ?8, completion_tokens = ?9, tokens_estimated = ?10, \
                 doc_version = (SELECT version FROM documents WHERE id = ?11 AND last_request_id = ?12), \
                 finished_at = ?13, updated_at = ?13, lease_until = NULL \
                 WHERE id = ?1 AND status = 'running' \
                 AND (?14 = 0 OR EXISTS (SELECT 1 FROM documents WHERE id = ?11 AND last_request_id = ?12))",
                &row.id, status, error.clone(), written, chunks, attempts,
                tokens, prompt as i64, completion as i64, estimated,
                &row.doc_id, &claim, &now, writes_doc
            )?);
            Ok(stmts)
        };
        let event = Event::new(&row.org_id, "generation.finished", actor(&row.user_id))
            .target("generation", &row.id)
            .details(
                json!({"document_id": row.doc_id, "status": outcome.status.as_str(),
                "chars": written.chars().count(), "tokens": prompt + completion}),
            )
            .only_if(
                "SELECT 1 FROM generations WHERE id = ?1 AND finished_at = ?2",
                vec![db::V::from(&row.id), db::V::from(&now)],
            );
        let outbox = std::rc::Rc::default();
        let origin = audit::Origin {
            ip: None,
            request_id: row.id.clone(),
            outbox: Some(std::rc::Rc::clone(&outbox)),
        };
        let results = audit::write(&db, &origin, &[event], build)
            .await
            .map_err(audit::WriteError::into_api)?;
        let mut announce = std::mem::take(&mut *outbox.borrow_mut());
        if let Some(at) = doc_fan_out.get() {
            if crate::events::fanned_out(&results, at) {
                announce.push(doc_event_id.take());
            }
        }
        if !announce.is_empty() {
            crate::events::send(env, &announce).await;
        }
        let after = super::repo::get(&db, &row.id).await?;
        let Some(after) = after else { return Ok(()) };
        if after.status == "running" {
            // The document moved under us: read it again and retry.
            continue;
        }
        publish(env, &after, writes_doc).await;
        return Ok(());
    }
    Err(ApiError::conflict(
        "The document kept changing; the generation could not land.",
    ))
}

fn actor(user_id: &str) -> Actor {
    if user_id.starts_with("key_") {
        Actor::api_key(user_id)
    } else {
        Actor::user(user_id)
    }
}

async fn publish(env: &Env, row: &GenRow, wrote: bool) {
    let room = format!("doc:{}", row.doc_id);
    let finished = json!({"type": "generation.finished", "generation": row.id, "status": row.status,
        "version": row.doc_version, "chunks": row.chunks,
        "error": row.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()),
        "ts": platform::rfc3339(platform::now())});
    let _ = crate::realtime::send(env, &row.org_id, &room, &finished).await;
    if wrote && row.doc_version.is_some() {
        let updated = json!({"type": "document.updated", "document": {"id": row.doc_id, "version": row.doc_version},
            "by": rules::author(&row.id, &row.user_id), "ts": platform::rfc3339(platform::now())});
        let _ = crate::realtime::send(env, &row.org_id, &room, &updated).await;
    }
}
