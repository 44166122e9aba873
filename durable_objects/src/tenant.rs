//! `TENANT`: one object per organization (`get_by_name(org_id)`), and per auth-limit subject
//! (`auth-ip:…`, `auth-account:…`). Single-threaded, so its counters are exact without locks:
//! rate-limit windows, quotas and usage live in the object's SQLite storage and survive
//! eviction and restarts. An alarm copies usage to D1 for reporting.
//!
//! Internal protocol (JSON over `fetch`, called only by the worker):
//! - `POST /limit`   `{org_id?, key, limit, window, cost}` → [`Decision`]
//! - `POST /quota`   `{org_id?, kind, period, limit, amount}` → `{allowed, used, limit}`
//! - `POST /release` `{org_id?, kind, period, amount}` → `{used}`
//! - `GET /usage` → `{kind: {period, used}}`
//! - `POST /rooms/connect` `{org_id, conn, room, user_id, session?, limit}` → `{allowed, used,
//!   limit}`: takes one `room_connections` and remembers the connection (who, which room).
//! - `POST /rooms/disconnect` `{conn}` → `{used}`: gives it back, once per connection.
//! - `POST /rooms/reconcile` `{before, live: {room: [conn]}}` → `{used}`: forgets connections
//!   registered before `before` that their room no longer holds, and recounts.
//! - `POST /rooms/find` `{user_id?, session?, all?}` → `{rooms}`: rooms where they have sockets, so
//!   a revoked session or a removed member can be closed without enumerating every room.

use crate::internal;
use edge_core::limits::{self, Decision, Quota, Window};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result,
    SqlStorage, State,
};

/// Usage is copied to D1 at most this often.
const FLUSH_EVERY_MS: i64 = 60_000;

#[durable_object]
pub struct Tenant {
    state: State,
    env: Env,
}

#[derive(Deserialize)]
struct LimitReq {
    org_id: Option<String>,
    key: String,
    limit: u32,
    window: u32,
    #[serde(default = "one")]
    cost: u32,
}

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

/// Live connection ids per room, as the rooms see them, for connections registered `before`.
#[derive(Deserialize)]
struct Reconcile {
    before: i64,
    live: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize)]
struct RoomConnect {
    org_id: String,
    conn: String,
    room: String,
    user_id: String,
    session: Option<String>,
    limit: u64,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct QuotaReq {
    org_id: Option<String>,
    kind: String,
    period: String,
    #[serde(default)]
    limit: u64,
    amount: u64,
}

#[derive(Serialize, Deserialize)]
struct WindowRow {
    start_ms: i64,
    count: i64,
}

#[derive(Serialize, Deserialize)]
struct QuotaRow {
    kind: String,
    period: String,
    used: i64,
}

impl DurableObject for Tenant {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for ddl in [
            "CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, start_ms INTEGER NOT NULL, count INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS quotas (kind TEXT PRIMARY KEY, period TEXT NOT NULL, used INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS room_conns (conn TEXT PRIMARY KEY, room TEXT NOT NULL, user_id TEXT NOT NULL, session TEXT, at INTEGER NOT NULL)",
        ] {
            // Idempotent DDL; a failure here surfaces on the first query instead.
            let _ = sql.exec(ddl, None);
        }
        Self { state, env }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let sql = self.state.storage().sql();
        if let Some(resp) = internal::shared_routes(&req, &sql) {
            return resp;
        }
        let now_ms = worker::Date::now().as_millis() as i64;
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/limit") => {
                let r: LimitReq = req.json().await?;
                self.remember_org(&sql, r.org_id.as_deref())?;
                let d = self.limit(&sql, &r, now_ms)?;
                if d.allowed && r.org_id.is_some() {
                    self.count_request(&sql, now_ms).await?;
                }
                Response::from_json(&d)
            }
            (Method::Post, "/quota") => {
                let r: QuotaReq = req.json().await?;
                self.remember_org(&sql, r.org_id.as_deref())?;
                let (allowed, q) =
                    limits::consume(quota(&sql, &r.kind)?, &r.period, r.limit, r.amount);
                if allowed {
                    put_quota(&sql, &r.kind, &q)?;
                    self.schedule_flush().await?;
                }
                Response::from_json(&json!({"allowed": allowed, "used": q.used, "limit": r.limit}))
            }
            (Method::Post, "/release") => {
                let r: QuotaReq = req.json().await?;
                let q = limits::release(quota(&sql, &r.kind)?, &r.period, r.amount);
                put_quota(&sql, &r.kind, &q)?;
                self.schedule_flush().await?;
                Response::from_json(&json!({"used": q.used}))
            }
            (Method::Post, "/rooms/connect") => {
                let r: RoomConnect = req.json().await?;
                self.remember_org(&sql, Some(&r.org_id))?;
                let (allowed, q) = limits::consume(quota(&sql, ROOM_CONNECTIONS)?, "", r.limit, 1);
                if allowed {
                    put_quota(&sql, ROOM_CONNECTIONS, &q)?;
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
            (Method::Post, "/rooms/reconcile") => {
                let r: Reconcile = req.json().await?;
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
                put_quota(
                    &sql,
                    ROOM_CONNECTIONS,
                    &Quota {
                        period: String::new(),
                        used,
                    },
                )?;
                self.schedule_flush().await?;
                Response::from_json(&json!({ "used": used }))
            }
            (Method::Post, "/rooms/disconnect") => {
                #[derive(Deserialize)]
                struct Conn {
                    conn: String,
                }
                let r: Conn = req.json().await?;
                let known: Vec<serde_json::Value> = sql
                    .exec(
                        "SELECT 1 AS x FROM room_conns WHERE conn = ?",
                        vec![r.conn.as_str().into()],
                    )?
                    .to_array()?;
                let mut q = quota(&sql, ROOM_CONNECTIONS)?;
                if !known.is_empty() {
                    sql.exec(
                        "DELETE FROM room_conns WHERE conn = ?",
                        vec![r.conn.as_str().into()],
                    )?;
                    let released = limits::release(q, "", 1);
                    put_quota(&sql, ROOM_CONNECTIONS, &released)?;
                    self.schedule_flush().await?;
                    q = Some(released);
                }
                Response::from_json(&json!({"used": q.map_or(0, |q| q.used)}))
            }
            (Method::Post, "/rooms/find") => {
                #[derive(Deserialize)]
                struct Find {
                    user_id: Option<String>,
                    session: Option<String>,
                    #[serde(default)]
                    all: bool,
                }
                let r: Find = req.json().await?;
                let rows: Vec<RoomRow> = sql
                    .exec(
                        "SELECT DISTINCT room FROM room_conns WHERE ?3 OR (?1 IS NOT NULL AND user_id = ?1) OR (?2 IS NOT NULL AND session = ?2)",
                        vec![r.user_id.as_deref().into(), r.session.as_deref().into(), i64::from(r.all).into()],
                    )?
                    .to_array()?;
                let rooms: Vec<String> = rows.into_iter().map(|r| r.room).collect();
                Response::from_json(&json!({ "rooms": rooms }))
            }
            (Method::Get, "/usage") => {
                let rows: Vec<QuotaRow> = sql
                    .exec("SELECT kind, period, used FROM quotas", None)?
                    .to_array()?;
                let usage: serde_json::Map<String, serde_json::Value> = rows
                    .into_iter()
                    .map(|r| (r.kind, json!({"period": r.period, "used": r.used})))
                    .collect();
                Response::from_json(&usage)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.flush_usage().await?;
        Response::ok("flushed")
    }
}

impl Tenant {
    fn limit(&self, sql: &SqlStorage, r: &LimitReq, now_ms: i64) -> Result<Decision> {
        let rows: Vec<WindowRow> = sql
            .exec(
                "SELECT start_ms, count FROM windows WHERE key = ?",
                vec![r.key.as_str().into()],
            )?
            .to_array()?;
        let state = rows.first().map(|w| Window {
            start_ms: w.start_ms,
            count: w.count.max(0) as u32,
        });
        let (decision, w) = limits::check(state, now_ms, r.limit, r.window, r.cost);
        sql.exec(
            "INSERT INTO windows (key, start_ms, count) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET start_ms = excluded.start_ms, count = excluded.count",
            vec![
                r.key.as_str().into(),
                w.start_ms.into(),
                i64::from(w.count).into(),
            ],
        )?;
        if state.is_none() {
            // A new key: drop windows that ended over an hour ago so the table stays small.
            sql.exec(
                "DELETE FROM windows WHERE start_ms < ?",
                vec![(now_ms - 3_600_000).into()],
            )?;
        }
        Ok(decision)
    }

    /// Every allowed authenticated request counts towards the month's `requests` usage.
    async fn count_request(&self, sql: &SqlStorage, now_ms: i64) -> Result<()> {
        let period = limits::month(now_ms);
        let (_, q) = limits::consume(quota(sql, "requests")?, &period, u64::MAX, 1);
        put_quota(sql, "requests", &q)?;
        self.schedule_flush().await
    }

    fn remember_org(&self, sql: &SqlStorage, org_id: Option<&str>) -> Result<()> {
        if let Some(org) = org_id {
            sql.exec(
                "INSERT INTO meta (k, v) VALUES ('org_id', ?) ON CONFLICT (k) DO NOTHING",
                vec![org.into()],
            )?;
        }
        Ok(())
    }

    async fn schedule_flush(&self) -> Result<()> {
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(FLUSH_EVERY_MS).await?;
        }
        Ok(())
    }

    /// Copies the usage counters to D1 (`usage_counters`), one upsert per counter, in one batch.
    async fn flush_usage(&self) -> Result<()> {
        let sql = self.state.storage().sql();
        #[derive(Deserialize)]
        struct Meta {
            v: String,
        }
        let org: Vec<Meta> = sql
            .exec("SELECT v FROM meta WHERE k = 'org_id'", None)?
            .to_array()?;
        let Some(org) = org.into_iter().next().map(|m| m.v) else {
            return Ok(());
        };
        let rows: Vec<QuotaRow> = sql
            .exec("SELECT kind, period, used FROM quotas", None)?
            .to_array()?;
        if rows.is_empty() {
            return Ok(());
        }
        let db = self.env.d1("DB")?;
        let now = worker::Date::now().to_string();
        let mut stmts = Vec::new();
        for r in rows {
            stmts.push(
                db.prepare(
                    "INSERT INTO usage_counters (org_id, metric, period, value, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                     ON CONFLICT (org_id, metric, period) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                )
                .bind(&[
                    org.as_str().into(),
                    r.kind.as_str().into(),
                    r.period.as_str().into(),
                    (r.used as f64).into(),
                    now.as_str().into(),
                ])?,
            );
        }
        db.batch(stmts).await?;
        Ok(())
    }
}

fn quota(sql: &SqlStorage, kind: &str) -> Result<Option<Quota>> {
    let rows: Vec<QuotaRow> = sql
        .exec(
            "SELECT kind, period, used FROM quotas WHERE kind = ?",
            vec![kind.into()],
        )?
        .to_array()?;
    Ok(rows.into_iter().next().map(|r| Quota {
        period: r.period,
        used: r.used.max(0) as u64,
    }))
}

fn put_quota(sql: &SqlStorage, kind: &str, q: &Quota) -> Result<()> {
    sql.exec(
        "INSERT INTO quotas (kind, period, used) VALUES (?, ?, ?) \
         ON CONFLICT (kind) DO UPDATE SET period = excluded.period, used = excluded.used",
        vec![
            kind.into(),
            q.period.as_str().into(),
            (q.used.min(i64::MAX as u64) as i64).into(),
        ],
    )?;
    Ok(())
}
