//! `ROOM`: one object per (organization, room) (`get_by_name("{org_id}/{room}")`), holding
//! the room's WebSockets (hibernation API) and its history in SQLite storage.
//!
//! Internal protocol (called only by the worker):
//! - `POST /publish` `{type, …}`: a server-side event (`document.updated`, job status, …),
//!   sent to every socket of the room and kept in the recent-events log.
//! - `GET /events`: the recent server-side events, oldest first.

use crate::internal;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
};

/// How many server-side events the room remembers.
const EVENTS_KEPT: i64 = 50;

#[durable_object]
pub struct Room {
    state: State,
    #[allow(dead_code)]
    env: Env,
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, ts INTEGER NOT NULL)",
            None,
        );
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        if let Some(resp) = internal::shared_routes(&req, &sql) {
            return resp;
        }
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/publish") => {
                let event: serde_json::Value = req.json().await?;
                let body = event.to_string();
                let now = worker::Date::now().as_millis() as i64;
                sql.exec(
                    "INSERT INTO events (body, ts) VALUES (?, ?)",
                    vec![body.as_str().into(), now.into()],
                )?;
                sql.exec(
                    "DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?",
                    vec![EVENTS_KEPT.into()],
                )?;
                let mut delivered = 0;
                for ws in self.state.get_websockets() {
                    if ws.send_with_str(&body).is_ok() {
                        delivered += 1;
                    }
                }
                Response::from_json(&serde_json::json!({"delivered": delivered}))
            }
            (Method::Get, "/events") => {
                #[derive(serde::Deserialize)]
                struct Row {
                    body: String,
                }
                let rows: Vec<Row> = sql
                    .exec("SELECT body FROM events ORDER BY id ASC", None)?
                    .to_array()?;
                let events: Vec<serde_json::Value> = rows
                    .iter()
                    .filter_map(|r| serde_json::from_str(&r.body).ok())
                    .collect();
                Response::from_json(&events)
            }
            _ => Response::error("not found", 404),
        }
    }
}
