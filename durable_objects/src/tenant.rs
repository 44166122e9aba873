//! `TENANT`: one object per organization (`get_by_name(org_id)`), and per auth-limit subject
//! (`auth-ip:…`, `auth-account:…`). Single-threaded, so its counters are exact without locks:
//! rate-limit windows, quotas and usage live in the object's SQLite storage and survive
//! eviction and restarts. An alarm copies usage to D1 for reporting.
//!
//! Internal protocol (JSON over `fetch`, called only by the worker):
//! - `POST /limit`   `{org_id?, key, limit, window, cost}` → [`Decision`]
//! - `GET /count?key=&window=&usage_of=` → [`Counted`]: counted whatever the limit, which the
//!   caller applies (the per-user limiter objects `rl:user:{id}`, asked in parallel with the
//!   D1 read that yields the organization's plan)
//! - `POST /requests` `{org_id}` → `{used}`: one authenticated request of the organization
//! - `POST /quota`   `{org_id?, kind, period, limit, amount}` → `{allowed, used, limit}`
//! - `POST /release` `{org_id?, kind, period, amount}` → `{used}`
//! - `GET /usage` → `{kind: {period, used}}`; `GET /windows` → `{keys}` (the rate-limit keys
//!   counted here: what the test routes observe)
//! - `POST /rooms/connect` `{org_id, conn, room, user_id, session?, limit}` → `{allowed, used,
//!   limit}`: takes one `room_connections` and remembers the connection (who, which room).
//! - `POST /rooms/disconnect` `{conn}` → `{used}`: gives it back, once per connection.
//! - `POST /rooms/reconcile` `{before, live: {room: [conn]}}` → `{used}`: forgets connections
//!   registered before `before` that their room no longer holds, and recounts.
//! - `POST /rooms/find` `{user_id?, session?, all?}` → `{rooms}`: rooms where they have sockets, so
//!   a revoked session or a removed member can be closed without enumerating every room.

mod flush;

use crate::internal;
use edge_core::limits::{self, Counted, Decision, Quota, Window};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
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
    /// An alarm is known to be set (saves a storage read per counted request).
    alarm_set: Cell<bool>,
    /// The organization id is known to be stored.
    org_known: Cell<bool>,
    /// Write-through caches of the `windows` and `quotas` tables. The object is their only
    /// writer and runs one request at a time, so they never disagree with storage; they save
    /// a read per counted request. Empty after a restart, filled from storage on first use.
    windows: RefCell<HashMap<String, Window>>,
    quotas: RefCell<HashMap<String, Quota>>,
}

struct CountReq {
    key: String,
    window: u32,
    cost: u32,
    /// Also count one request towards this organization's usage (the caller refunds it with
    /// `/requests` `amount: -1` if the request turns out refused).
    usage_of: Option<String>,
}

#[derive(Deserialize)]
struct RequestsReq {
    org_id: String,
    /// 1 to count, -1 to refund one counted by `/count`.
    #[serde(default = "one_i")]
    amount: i64,
}

fn one_i() -> i64 {
    1
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
        Self {
            state,
            env,
            alarm_set: Cell::new(false),
            org_known: Cell::new(false),
            windows: RefCell::default(),
            quotas: RefCell::default(),
        }
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
                    self.count_requests(&sql, now_ms, 1).await?;
                }
                Response::from_json(&d)
            }
            (Method::Get, "/count") => {
                let url = req.url()?;
                let arg = |name: &str| {
                    url.query_pairs()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                };
                let r = CountReq {
                    key: arg("key").unwrap_or_default(),
                    window: arg("window").and_then(|w| w.parse().ok()).unwrap_or(60),
                    cost: 1,
                    usage_of: arg("usage_of"),
                };
                let state = self.window(&sql, &r.key)?;
                let (counted, w) = limits::count(state, now_ms, r.window, r.cost);
                self.store_window(&sql, &r.key, w, state.is_none(), now_ms)?;
                if let Some(org) = r.usage_of.as_deref() {
                    self.remember_org(&sql, Some(org))?;
                    self.count_requests(&sql, now_ms, 1).await?;
                }
                Response::from_json::<Counted>(&counted)
            }
            (Method::Post, "/requests") => {
                let r: RequestsReq = req.json().await?;
                self.remember_org(&sql, Some(&r.org_id))?;
                self.count_requests(&sql, now_ms, r.amount).await?;
                Response::from_json(&json!({"counted": r.amount}))
            }
            (Method::Post, "/quota") => {
                let r: QuotaReq = req.json().await?;
                self.remember_org(&sql, r.org_id.as_deref())?;
                let (allowed, q) =
                    limits::consume(self.quota(&sql, &r.kind)?, &r.period, r.limit, r.amount);
                if allowed {
                    self.put_quota(&sql, &r.kind, q.clone())?;
                    self.schedule_flush().await?;
                }
                Response::from_json(&json!({"allowed": allowed, "used": q.used, "limit": r.limit}))
            }
            (Method::Post, "/release") => {
                let r: QuotaReq = req.json().await?;
                let q = limits::release(self.quota(&sql, &r.kind)?, &r.period, r.amount);
                self.put_quota(&sql, &r.kind, q.clone())?;
                self.schedule_flush().await?;
                Response::from_json(&json!({"used": q.used}))
            }
            (Method::Post, "/rooms/connect") => {
                let r: RoomConnect = req.json().await?;
                self.remember_org(&sql, Some(&r.org_id))?;
                let (allowed, q) =
                    limits::consume(self.quota(&sql, ROOM_CONNECTIONS)?, "", r.limit, 1);
                if allowed {
                    self.put_quota(&sql, ROOM_CONNECTIONS, q.clone())?;
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
                self.put_quota(
                    &sql,
                    ROOM_CONNECTIONS,
                    Quota {
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
                let mut q = self.quota(&sql, ROOM_CONNECTIONS)?;
                if !known.is_empty() {
                    sql.exec(
                        "DELETE FROM room_conns WHERE conn = ?",
                        vec![r.conn.as_str().into()],
                    )?;
                    let released = limits::release(q, "", 1);
                    self.put_quota(&sql, ROOM_CONNECTIONS, released.clone())?;
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
            (Method::Get, "/windows") => self.window_keys(&sql),
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
        // The alarm that is running is spent: the next counted change schedules another.
        self.alarm_set.set(false);
        self.flush_usage().await?;
        Response::ok("flushed")
    }
}

impl Tenant {
    fn limit(&self, sql: &SqlStorage, r: &LimitReq, now_ms: i64) -> Result<Decision> {
        let state = self.window(sql, &r.key)?;
        let (decision, w) = limits::check(state, now_ms, r.limit, r.window, r.cost);
        self.store_window(sql, &r.key, w, state.is_none(), now_ms)?;
        Ok(decision)
    }

    /// Every allowed authenticated request counts towards the month's `requests` usage
    /// (`amount` -1 refunds one counted for a request that was then refused).
    async fn count_requests(&self, sql: &SqlStorage, now_ms: i64, amount: i64) -> Result<()> {
        let period = limits::month(now_ms);
        let current = self.quota(sql, "requests")?;
        let q = if amount >= 0 {
            limits::consume(current, &period, u64::MAX, amount as u64).1
        } else {
            limits::release(current, &period, amount.unsigned_abs())
        };
        self.put_quota(sql, "requests", q)?;
        self.schedule_flush().await
    }

    fn window(&self, sql: &SqlStorage, key: &str) -> Result<Option<Window>> {
        if let Some(w) = self.windows.borrow().get(key) {
            return Ok(Some(*w));
        }
        let rows: Vec<WindowRow> = sql
            .exec(
                "SELECT start_ms, count FROM windows WHERE key = ?",
                vec![key.into()],
            )?
            .to_array()?;
        Ok(rows.first().map(|w| Window {
            start_ms: w.start_ms,
            count: w.count.max(0) as u32,
        }))
    }

    fn store_window(
        &self,
        sql: &SqlStorage,
        key: &str,
        w: Window,
        new_key: bool,
        now_ms: i64,
    ) -> Result<()> {
        sql.exec(
            "INSERT INTO windows (key, start_ms, count) VALUES (?, ?, ?) \
             ON CONFLICT (key) DO UPDATE SET start_ms = excluded.start_ms, count = excluded.count",
            vec![key.into(), w.start_ms.into(), i64::from(w.count).into()],
        )?;
        let mut cache = self.windows.borrow_mut();
        if new_key {
            // A new key: drop windows that ended over an hour ago so the table stays small.
            sql.exec(
                "DELETE FROM windows WHERE start_ms < ?",
                vec![(now_ms - 3_600_000).into()],
            )?;
            cache.retain(|_, w| w.start_ms >= now_ms - 3_600_000);
        }
        cache.insert(key.to_owned(), w);
        Ok(())
    }

    fn quota(&self, sql: &SqlStorage, kind: &str) -> Result<Option<Quota>> {
        if let Some(q) = self.quotas.borrow().get(kind) {
            return Ok(Some(q.clone()));
        }
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

    fn put_quota(&self, sql: &SqlStorage, kind: &str, q: Quota) -> Result<()> {
        sql.exec(
            "INSERT INTO quotas (kind, period, used) VALUES (?, ?, ?) \
             ON CONFLICT (kind) DO UPDATE SET period = excluded.period, used = excluded.used",
            vec![
                kind.into(),
                q.period.as_str().into(),
                (q.used.min(i64::MAX as u64) as i64).into(),
            ],
        )?;
        self.quotas.borrow_mut().insert(kind.to_owned(), q);
        Ok(())
    }

    fn remember_org(&self, sql: &SqlStorage, org_id: Option<&str>) -> Result<()> {
        if self.org_known.get() {
            return Ok(());
        }
        if let Some(org) = org_id {
            self.org_known.set(true);
            sql.exec(
                "INSERT INTO meta (k, v) VALUES ('org_id', ?) ON CONFLICT (k) DO NOTHING",
                vec![org.into()],
            )?;
        }
        Ok(())
    }

    async fn schedule_flush(&self) -> Result<()> {
        if self.alarm_set.get() {
            return Ok(());
        }
        let storage = self.state.storage();
        if storage.get_alarm().await?.is_none() {
            storage.set_alarm(FLUSH_EVERY_MS).await?;
        }
        self.alarm_set.set(true);
        Ok(())
    }
}
