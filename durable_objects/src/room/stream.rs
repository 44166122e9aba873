//! Generation deltas through the room: `POST /stream` `{type:"generation.delta", generation,
//! …}` is sent to every socket (not kept in the events log: a stream would flood it), unless
//! the generation was cancelled by `POST /stream/cancel` `{generation}`; then 409, and the
//! consumer stops. The room runs one request at a time, so once the cancel has answered no
//! later delta of that generation reaches a client.

use super::Room;
use serde_json::{json, Value};
use worker::{Response, Result, SqlStorage};

/// Cancelled generations are remembered this long.
const KEEP_MS: i64 = 86_400_000;

impl Room {
    pub(super) fn stream_ddl(sql: &SqlStorage) {
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS cancelled_streams (id TEXT PRIMARY KEY, at INTEGER NOT NULL)",
            None,
        );
    }

    pub(super) fn stream_delta(&self, sql: &SqlStorage, event: Value) -> Result<Response> {
        let id = event["generation"].as_str().unwrap_or_default();
        let cancelled = sql
            .exec(
                "SELECT COUNT(*) AS n FROM cancelled_streams WHERE id = ?",
                vec![id.into()],
            )?
            .one::<Value>()
            .ok()
            .and_then(|r| r["n"].as_i64())
            .unwrap_or(0);
        if cancelled > 0 {
            return Ok(Response::from_json(&json!({"cancelled": true}))?.with_status(409));
        }
        let delivered = self.broadcast(&event.to_string(), None);
        Response::from_json(&json!({ "delivered": delivered }))
    }

    pub(super) fn stream_cancel(&self, sql: &SqlStorage, req: Value) -> Result<Response> {
        let id = req["generation"].as_str().unwrap_or_default();
        let now = worker::Date::now().as_millis() as i64;
        sql.exec(
            "INSERT OR REPLACE INTO cancelled_streams (id, at) VALUES (?, ?)",
            vec![id.into(), now.into()],
        )?;
        sql.exec(
            "DELETE FROM cancelled_streams WHERE at < ?",
            vec![(now - KEEP_MS).into()],
        )?;
        Response::from_json(&json!({"cancelled": true}))
    }
}
