//! `TENANT`: one object per organization (`get_by_name(org_id)`), and per auth-limit subject
//! (`auth-ip:…`, `auth-account:…`). Single-threaded, so its counters are exact without locks:
//! rate-limit windows, quotas and usage live in the object's SQLite storage and survive
//! eviction and restarts. An alarm copies usage to D1 for reporting.
//!
//! This file is the class, its tables and the dispatch; it may not hold a route's logic (each
//! concern below has its own file, and they reach each other only through `Tenant` methods).
//! - `windows.rs`: rate-limit windows (`/limit`, `/count`, `/windows`)
//! - `quotas.rs`: counted quotas (`/quota`, `/release`, `/usage`)
//! - `requests.rs`: the month's request usage (`/requests`)
//! - `rooms.rs`: the room-connection gauge and who holds which connection (`/rooms/…`)
//! - `flush.rs`: copying usage to D1 on an alarm
//!
//! Internal protocol (JSON over `fetch`, called only by the worker):
//! - `POST /limit`   `{org_id?, key, limit, window, cost}` → [`Decision`]
//! - `GET /count?key=&window=&usage_of=` → [`Counted`]: counted whatever the limit, which the
//!   caller applies (the per-user limiter objects `rl:user:{id}`, asked in parallel with the
//!   D1 read that yields the organization's plan)
//! - `POST /requests` `{org_id}` → `{used}`: one authenticated request of the organization
//! - `POST /quota`   `{org_id?, kind, period, limit, amount}` → `{allowed, used, limit}`
//! - `POST /release` `{org_id?, kind, period, amount}` → `{used}`
//! - `POST /settle`  `{org_id?, key, period, entries: [{kind, amount}]}` → `{applied, used}`
//!   (once per `key`; a positive amount is taken past any limit, a negative one given back)
//! - `GET /usage` → `{kind: {period, used}}`; `GET /windows` → `{keys}` (the rate-limit keys
//!   counted here: what the test routes observe)
//! - `POST /rooms/connect` `{org_id, conn, room, user_id, session?, limit}` → `{allowed, used,
//!   limit}`: takes one `room_connections` and remembers the connection (who, which room).
//! - `POST /rooms/disconnect` `{conn}` → `{used}`: gives it back, once per connection.
//! - `POST /rooms/reconcile` `{before, live: {room: [conn]}}` → `{used}`: forgets connections
//!   registered before `before` that their room no longer holds, and recounts.
//! - `POST /rooms/find` `{user_id?, session?, all?}` → `{rooms}`: rooms where they have sockets, so
//!   a revoked session or a removed member can be closed without enumerating every room.
//!
//! [`Decision`]: edge_core::limits::Decision
//! [`Counted`]: edge_core::limits::Counted

mod flush;
mod quotas;
mod requests;
mod rooms;
mod windows;

use crate::internal;
use edge_core::limits::{Quota, Window};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use worker::{
    durable_object, wasm_bindgen, DurableObject, Env, Method, Request, Response, Result, State,
};

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

impl DurableObject for Tenant {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        for ddl in [
            "CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, start_ms INTEGER NOT NULL, count INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS quotas (kind TEXT PRIMARY KEY, period TEXT NOT NULL, used INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS settlements (key TEXT PRIMARY KEY, at INTEGER NOT NULL)",
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
            (Method::Post, "/limit") => self.post_limit(&sql, req.json().await?, now_ms).await,
            (Method::Get, "/count") => {
                let r = windows::CountReq::from_url(&req.url()?);
                self.get_count(&sql, r, now_ms).await
            }
            (Method::Post, "/requests") => {
                self.post_requests(&sql, req.json().await?, now_ms).await
            }
            (Method::Post, "/quota") => self.post_quota(&sql, req.json().await?).await,
            (Method::Post, "/release") => self.post_release(&sql, req.json().await?).await,
            (Method::Post, "/settle") => self.post_settle(&sql, req.json().await?).await,
            (Method::Post, "/rooms/connect") => {
                self.rooms_connect(&sql, req.json().await?, now_ms).await
            }
            (Method::Post, "/rooms/reconcile") => {
                self.rooms_reconcile(&sql, req.json().await?).await
            }
            (Method::Post, "/rooms/disconnect") => {
                self.rooms_disconnect(&sql, req.json().await?).await
            }
            (Method::Post, "/rooms/find") => self.rooms_find(&sql, req.json().await?),
            (Method::Get, "/windows") => self.window_keys(&sql),
            (Method::Get, "/usage") => self.usage(&sql),
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
