//! `ROOM`: one object per (organization, room) (`get_by_name("{org_id}/{room}")`), holding
//! the room's WebSockets (hibernation API, identity in each socket's attachment), its message
//! history with the room's `seq` in SQLite storage, and the ticket ids already spent.
//! The protocol's decisions are `edge_core::rooms`; this only moves frames.
//!
//! Internal protocol (called only by the worker, after every access check):
//! - `GET /connect` + `X-Room-Identity: <base64url of the Identity JSON>` (+ `X-Room-Ticket: <id> <exp>`):
//!   the upgrade (101), or 401 `ticket_used` when the ticket was spent before.
//! - `GET /presence` → `{connections, members}`; `GET /conns` → `{conns}` (live connection ids).
//! - `POST /close` `{tag, code, reason}`: closes the sockets with that tag (`*`: all of them)
//!   (a revoked session, a removed member, a deleted organization), each counted as a departure.
//! - `POST /publish` `{type, …}`: a server-side event (`document.updated`, job status, …),
//!   sent to every socket of the room and kept in the recent-events log.
//! - `GET /events`: the recent server-side events, oldest first.
//!
//! Every departure (close, error, server close) tells the org's `TENANT` object, which
//! releases the room-connection quota and forgets the connection (idempotent per connection).

mod lifetime;
mod stream;

use crate::internal;
use edge_core::rooms::{self, ClientFrame, FrameError, Identity};
use serde::Deserialize;
use serde_json::{json, Value};
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, RequestInit, Response,
    Result, SqlStorage, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    WebSocketRequestResponsePair,
};

/// How many server-side events the room remembers.
const EVENTS_KEPT: i64 = 50;

#[durable_object]
pub struct Room {
    state: State,
    env: Env,
    /// Each user's send window (in memory: a flooding user keeps the object awake, and a
    /// hibernated room has no one sending).
    sends: std::cell::RefCell<std::collections::HashMap<String, edge_core::limits::Window>>,
    /// Messages per user per window (`ROOM_MESSAGES_PER_WINDOW`, default `rooms::SEND_LIMIT`).
    send_limit: u32,
}

#[derive(Deserialize)]
struct CloseReq {
    tag: String,
    code: u16,
    reason: String,
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

impl DurableObject for Room {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for ddl in [
            "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, ts INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS spent_tickets (id TEXT PRIMARY KEY, exp INTEGER NOT NULL)",
        ] {
            // Idempotent DDL; a failure here surfaces on the first query instead.
            let _ = sql.exec(ddl, None);
        }
        Self::stream_ddl(&sql);
        // Pings are answered by the runtime without waking the object.
        if let Ok(pair) =
            WebSocketRequestResponsePair::new(r#"{"type":"ping"}"#, r#"{"type":"pong"}"#)
        {
            state.set_websocket_auto_response(&pair);
        }
        let send_limit = env
            .var("ROOM_MESSAGES_PER_WINDOW")
            .ok()
            .and_then(|v| v.to_string().trim().parse().ok())
            .filter(|n: &u32| *n > 0)
            .unwrap_or(rooms::SEND_LIMIT);
        Self {
            state,
            env,
            sends: Default::default(),
            send_limit,
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        if let Some(resp) = internal::shared_routes(&req, &sql) {
            return resp;
        }
        match (req.method(), req.path().as_str()) {
            (Method::Get, "/connect") => self.accept(&req, &sql).await,
            (Method::Get, "/presence") => {
                let live = self.live(None);
                let ids: Vec<&Identity> = live.iter().map(|(_, i)| i).collect();
                Response::from_json(
                    &json!({"connections": ids.len(), "members": rooms::members(ids)}),
                )
            }
            (Method::Get, "/conns") => {
                let conns: Vec<String> = self.live(None).into_iter().map(|(_, i)| i.conn).collect();
                Response::from_json(&json!({ "conns": conns }))
            }
            (Method::Post, "/close") => {
                let r: CloseReq = req.json().await?;
                let mut closed = 0;
                let sockets = if r.tag == rooms::EVERY_SOCKET {
                    self.state.get_websockets()
                } else {
                    self.state.get_websockets_with_tag(&r.tag)
                };
                for ws in sockets {
                    if let Some(id) = attachment(&ws).filter(|i| !i.gone) {
                        let _ = ws.close(Some(r.code), Some(&r.reason));
                        self.depart(&ws, id).await;
                        closed += 1;
                    }
                }
                Response::from_json(&json!({ "closed": closed }))
            }
            (Method::Post, "/publish") => {
                let event: Value = req.json().await?;
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
                let delivered = self.broadcast(&body, None);
                let closed = match rooms::closes_room(&event) {
                    Some((code, reason)) => self.close_all(code, reason).await,
                    None => 0,
                };
                Response::from_json(&json!({ "delivered": delivered, "closed": closed }))
            }
            (Method::Post, "/stream") => self.stream_delta(&sql, req.json().await?),
            (Method::Post, "/stream/cancel") => self.stream_cancel(&sql, req.json().await?),
            (Method::Get, "/events") => {
                let rows: Vec<Body> = sql
                    .exec("SELECT body FROM events ORDER BY id ASC", None)?
                    .to_array()?;
                let events: Vec<Value> = rows
                    .iter()
                    .filter_map(|r| serde_json::from_str(&r.body).ok())
                    .collect();
                Response::from_json(&events)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> Result<()> {
        let Some(me) = attachment(&ws).filter(|i| !i.gone) else {
            return Ok(());
        };
        if self.sender_expired(&ws, &me).await {
            return Ok(());
        }
        let text = match message {
            WebSocketIncomingMessage::String(t) => t,
            WebSocketIncomingMessage::Binary(_) => {
                let _ = ws.send_with_str(FrameError::BINARY.frame());
                return Ok(());
            }
        };
        match rooms::parse_frame(&text, me.can_send) {
            Ok(ClientFrame::Ping) => {
                let _ = ws.send_with_str(r#"{"type":"pong"}"#);
            }
            Ok(ClientFrame::Message(data)) => {
                let now_ms = worker::Date::now().as_millis() as i64;
                let state = self.sends.borrow().get(&me.user_id).copied();
                let (verdict, window) = rooms::may_post(state, now_ms, self.send_limit);
                self.sends.borrow_mut().insert(me.user_id.clone(), window);
                if let Err(frame) = verdict {
                    let _ = ws.send_with_str(&frame);
                    return Ok(());
                }
                if let Err(e) = self.post(&me, &data) {
                    worker::console_error!("room message not stored: {e}");
                    let _ = ws.send_with_str(
                        json!({"type": "error", "code": "internal", "detail": "The message could not be stored."})
                            .to_string(),
                    );
                }
            }
            Err(e) => {
                let _ = ws.send_with_str(e.frame());
            }
        }
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        // Complete the closing handshake; the socket may already be gone.
        let _ = ws.close(Some(1000), Some("closed"));
        if let Some(id) = attachment(&ws).filter(|i| !i.gone) {
            self.depart(&ws, id).await;
        }
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        let closed = self.close_expired().await?;
        Response::from_json(&json!({ "closed": closed }))
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        if let Some(id) = attachment(&ws).filter(|i| !i.gone) {
            self.depart(&ws, id).await;
        }
        Ok(())
    }
}

fn attachment(ws: &WebSocket) -> Option<Identity> {
    ws.deserialize_attachment::<Identity>().ok().flatten()
}

fn now_rfc3339() -> String {
    worker::js_sys::Date::new_0().to_iso_string().into()
}

impl Room {
    /// The live sockets with their identities, without `except` (a connection id).
    fn live(&self, except: Option<&str>) -> Vec<(WebSocket, Identity)> {
        self.state
            .get_websockets()
            .into_iter()
            .filter_map(|ws| attachment(&ws).map(|id| (ws, id)))
            .filter(|(_, id)| !id.gone && Some(id.conn.as_str()) != except)
            .collect()
    }

    /// Sends `text` to every live socket (but `except`); how many took it.
    fn broadcast(&self, text: &str, except: Option<&str>) -> usize {
        self.live(except)
            .iter()
            .filter(|(ws, _)| ws.send_with_str(text).is_ok())
            .count()
    }

    async fn accept(&self, req: &Request, sql: &SqlStorage) -> Result<Response> {
        let me: Identity = req
            .headers()
            .get("X-Room-Identity")?
            .and_then(|h| edge_core::encoding::unbase64url(&h))
            .and_then(|json| serde_json::from_slice(&json).ok())
            .ok_or_else(|| worker::Error::RustError("connect without identity".into()))?;
        if let Some(ticket) = req.headers().get("X-Room-Ticket")? {
            let (id, exp) = ticket.split_once(' ').unwrap_or((&ticket, "0"));
            let exp: i64 = exp.parse().unwrap_or(0);
            let now = worker::Date::now().as_millis() as i64 / 1000;
            sql.exec("DELETE FROM spent_tickets WHERE exp < ?", vec![now.into()])?;
            let spent: Vec<Value> = sql
                .exec(
                    "SELECT 1 AS x FROM spent_tickets WHERE id = ?",
                    vec![id.into()],
                )?
                .to_array()?;
            if !spent.is_empty() {
                return Response::error("ticket_used", 401);
            }
            sql.exec(
                "INSERT INTO spent_tickets (id, exp) VALUES (?, ?)",
                vec![id.into(), exp.into()],
            )?;
        }
        let pair = WebSocketPair::new()?;
        let server = pair.server;
        let tags = me.tags();
        let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        self.state.accept_websocket_with_tags(&server, &tag_refs);
        server.serialize_attachment(&me)?;

        let others = self.live(Some(&me.conn));
        let other_ids: Vec<&Identity> = others.iter().map(|(_, i)| i).collect();
        let mut members: Vec<&Identity> = other_ids.clone();
        members.push(&me);
        let welcome = rooms::welcome(&me, rooms::members(members), self.history(sql)?);
        server.send_with_str(welcome.to_string())?;
        if let Some(joined) = rooms::joined(&me, other_ids) {
            let text = joined.to_string();
            for (ws, _) in &others {
                let _ = ws.send_with_str(&text);
            }
        }
        if let Some(at) = me.expires_at {
            self.wake_by(at).await?;
        }
        Response::from_websocket(pair.client)
    }

    fn history(&self, sql: &SqlStorage) -> Result<Vec<Value>> {
        let rows: Vec<Body> = sql
            .exec(
                "SELECT body FROM messages ORDER BY seq DESC LIMIT ?",
                vec![(rooms::HISTORY as i64).into()],
            )?
            .to_array()?;
        Ok(rows
            .iter()
            .rev()
            .filter_map(|r| serde_json::from_str(&r.body).ok())
            .collect())
    }

    /// Stores the next message of the room and sends it to every socket, the sender included.
    fn post(&self, from: &Identity, data: &Value) -> Result<()> {
        #[derive(Deserialize)]
        struct Next {
            next: i64,
        }
        let sql = self.state.storage().sql();
        let next: Vec<Next> = sql
            .exec(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM messages",
                None,
            )?
            .to_array()?;
        let seq = next.first().map_or(1, |n| n.next);
        let frame = rooms::message_frame(seq, from, data, &now_rfc3339()).to_string();
        sql.exec(
            "INSERT INTO messages (seq, body) VALUES (?, ?)",
            vec![seq.into(), frame.as_str().into()],
        )?;
        sql.exec(
            "DELETE FROM messages WHERE seq <= ?",
            vec![(seq - rooms::HISTORY as i64).into()],
        )?;
        self.broadcast(&frame, None);
        Ok(())
    }

    /// A socket left (closed by either side, or broken): mark it, tell the others if it was
    /// the user's last socket, and release its connection in the organization's TENANT.
    async fn depart(&self, ws: &WebSocket, mut me: Identity) {
        me.gone = true;
        let _ = ws.serialize_attachment(&me);
        let remaining = self.live(Some(&me.conn));
        if let Some(left) = rooms::left(&me, remaining.iter().map(|(_, i)| i)) {
            let text = left.to_string();
            for (other, _) in &remaining {
                let _ = other.send_with_str(&text);
            }
        }
        if let Err(e) = self.release(&me).await {
            worker::console_error!("room connection not released: {e}");
        }
    }

    async fn release(&self, me: &Identity) -> Result<()> {
        let stub = self.env.durable_object("TENANT")?.get_by_name(&me.org)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(wasm_bindgen::JsValue::from_str(
                &json!({"conn": me.conn}).to_string(),
            )));
        let req = Request::new_with_init("https://tenant.internal/rooms/disconnect", &init)?;
        stub.fetch_with_request(req).await?;
        Ok(())
    }
}
