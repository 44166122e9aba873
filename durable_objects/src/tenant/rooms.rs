//! A `TENANT`'s room connections: the `room_connections` gauge and the `room_conns` table of
//! who holds which connection in which room (`/rooms/…`). It may not talk to the rooms
//! themselves: the worker asks them and hands their answer in (`/rooms/reconcile`).

use super::Tenant;
use edge_core::limits::{self, Quota};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use worker::{Response, Result, SqlStorage};

/// The quota of concurrent room connections (no period: it is a gauge, not a counter).
const ROOM_CONNECTIONS: &str = "room_connections";

#[derive(Deserialize)]
struct RoomRow {
    room: String,
}

#[derive(Deserialize)]
struct ConnRow {
    conn: String,
}

#[derive(Deserialize)]
pub(super) struct RoomConnect {
    org_id: String,
    conn: String,
    room: String,
    user_id: String,
    session: Option<String>,
    limit: u64,
}

/// Live connection ids per room, as the rooms see them, for connections registered `before`.
#[derive(Deserialize)]
pub(super) struct Reconcile {
    before: i64,
    live: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
pub(super) struct Disconnect {
    conn: String,
}

#[derive(Deserialize)]
pub(super) struct Find {
    user_id: Option<String>,
    session: Option<String>,
    #[serde(default)]
    all: bool,
}

impl Tenant {
    /// `POST /rooms/connect`: takes one connection if the gauge allows and remembers it.
    pub(super) async fn rooms_connect(
        &self,
        sql: &SqlStorage,
        r: RoomConnect,
        now_ms: i64,
    ) -> Result<Response> {
        self.remember_org(sql, Some(&r.org_id))?;
        let (allowed, q) = limits::consume(self.quota(sql, ROOM_CONNECTIONS)?, "", r.limit, 1);
        if allowed {
            self.put_quota(sql, ROOM_CONNECTIONS, q.clone())?;
            sql.exec(
                "INSERT OR REPLACE INTO room_conns (conn, room, user_id, session, at) VALUES (?, ?, ?, ?, ?)",
                vec![
                    r.conn.as_str().into(),
                    r.room.as_str().into(),
                    r.user_id.as_str().into(),
                    r.session.as_deref().into(),
                    now_ms.into(),
                ],
            )?;
            self.schedule_flush().await?;
            return Response::from_json(
                &json!({"allowed": true, "used": q.used, "limit": r.limit}),
            );
        }
        // Refused: name the rooms holding connections, so the caller can check them
        // for connections that died without a close event (a runtime restart).
        let rows: Vec<RoomRow> = sql
            .exec("SELECT DISTINCT room FROM room_conns", None)?
            .to_array()?;
        let rooms: Vec<String> = rows.into_iter().map(|r| r.room).collect();
        Response::from_json(
            &json!({"allowed": false, "used": q.used, "limit": r.limit, "rooms": rooms}),
        )
    }

    /// `POST /rooms/reconcile`: forgets connections their room no longer holds, and recounts.
    pub(super) async fn rooms_reconcile(&self, sql: &SqlStorage, r: Reconcile) -> Result<Response> {
        for (room, live) in &r.live {
            let known: Vec<ConnRow> = sql
                .exec(
                    "SELECT conn FROM room_conns WHERE room = ? AND at < ?",
                    vec![room.as_str().into(), r.before.into()],
                )?
                .to_array()?;
            for c in known.iter().filter(|c| !live.contains(&c.conn)) {
                sql.exec(
                    "DELETE FROM room_conns WHERE conn = ?",
                    vec![c.conn.as_str().into()],
                )?;
            }
        }
        #[derive(Deserialize)]
        struct Count {
            n: i64,
        }
        let n: Vec<Count> = sql
            .exec("SELECT COUNT(*) AS n FROM room_conns", None)?
            .to_array()?;
        let used = n.first().map_or(0, |c| c.n.max(0) as u64);
        self.put_quota(
            sql,
            ROOM_CONNECTIONS,
            Quota {
                period: String::new(),
                used,
            },
        )?;
        self.schedule_flush().await?;
        Response::from_json(&json!({ "used": used }))
    }

    /// `POST /rooms/disconnect`: gives a connection back, once per connection.
    pub(super) async fn rooms_disconnect(
        &self,
        sql: &SqlStorage,
        r: Disconnect,
    ) -> Result<Response> {
        let known: Vec<serde_json::Value> = sql
            .exec(
                "SELECT 1 AS x FROM room_conns WHERE conn = ?",
                vec![r.conn.as_str().into()],
            )?
            .to_array()?;
        let mut q = self.quota(sql, ROOM_CONNECTIONS)?;
        if !known.is_empty() {
            sql.exec(
                "DELETE FROM room_conns WHERE conn = ?",
                vec![r.conn.as_str().into()],
            )?;
            let released = limits::release(q, "", 1);
            self.put_quota(sql, ROOM_CONNECTIONS, released.clone())?;
            self.schedule_flush().await?;
            q = Some(released);
        }
        Response::from_json(&json!({"used": q.map_or(0, |q| q.used)}))
    }

    /// `POST /rooms/find`: the rooms where a user, a session (or anyone) has sockets.
    pub(super) fn rooms_find(&self, sql: &SqlStorage, r: Find) -> Result<Response> {
        let rows: Vec<RoomRow> = sql
            .exec(
                "SELECT DISTINCT room FROM room_conns WHERE ?3 OR (?1 IS NOT NULL AND user_id = ?1) OR (?2 IS NOT NULL AND session = ?2)",
                vec![r.user_id.as_deref().into(), r.session.as_deref().into(), i64::from(r.all).into()],
            )?
            .to_array()?;
        let rooms: Vec<String> = rows.into_iter().map(|r| r.room).collect();
        Response::from_json(&json!({ "rooms": rooms }))
    }
}
