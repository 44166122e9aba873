//! A `TENANT`'s rate-limit windows: the `windows` table behind its write-through cache, and the
//! `/limit`, `/count` and `/windows` routes. The counting rules are `edge_core::limits`; this
//! file may only store and load their state, never decide.

use super::Tenant;
use edge_core::limits::{self, Counted, Decision, Window};
use serde::{Deserialize, Serialize};
use worker::{Response, Result, SqlStorage};

#[derive(Deserialize)]
pub(super) struct LimitReq {
    org_id: Option<String>,
    key: String,
    limit: u32,
    window: u32,
    #[serde(default = "one")]
    cost: u32,
}

fn one() -> u32 {
    1
}

pub(super) struct CountReq {
    key: String,
    window: u32,
    cost: u32,
    /// Also count one request towards this organization's usage (the caller refunds it with
    /// `/requests` `amount: -1` if the request turns out refused).
    usage_of: Option<String>,
}

impl CountReq {
    /// `?key=&window=&usage_of=`; a missing window is a minute.
    pub(super) fn from_url(url: &worker::Url) -> Self {
        let arg = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        CountReq {
            key: arg("key").unwrap_or_default(),
            window: arg("window").and_then(|w| w.parse().ok()).unwrap_or(60),
            cost: 1,
            usage_of: arg("usage_of"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WindowRow {
    start_ms: i64,
    count: i64,
}

impl Tenant {
    /// `POST /limit`: checks and counts one window; an allowed request of an organization also
    /// counts towards its usage.
    pub(super) async fn post_limit(
        &self,
        sql: &SqlStorage,
        r: LimitReq,
        now_ms: i64,
    ) -> Result<Response> {
        self.remember_org(sql, r.org_id.as_deref())?;
        let d = self.limit(sql, &r, now_ms)?;
        if d.allowed && r.org_id.is_some() {
            self.count_requests(sql, now_ms, 1).await?;
        }
        Response::from_json(&d)
    }

    /// `GET /count`: counts whatever the limit (the caller applies it).
    pub(super) async fn get_count(
        &self,
        sql: &SqlStorage,
        r: CountReq,
        now_ms: i64,
    ) -> Result<Response> {
        let state = self.window(sql, &r.key)?;
        let (counted, w) = limits::count(state, now_ms, r.window, r.cost);
        self.store_window(sql, &r.key, w, state.is_none(), now_ms)?;
        if let Some(org) = r.usage_of.as_deref() {
            self.remember_org(sql, Some(org))?;
            self.count_requests(sql, now_ms, 1).await?;
        }
        Response::from_json::<Counted>(&counted)
    }

    /// The rate-limit keys with a window in this object (`GET /windows`).
    pub(super) fn window_keys(&self, sql: &SqlStorage) -> Result<Response> {
        #[derive(Deserialize)]
        struct Key {
            key: String,
        }
        let rows: Vec<Key> = sql
            .exec("SELECT key FROM windows ORDER BY key", None)?
            .to_array()?;
        let keys: Vec<String> = rows.into_iter().map(|k| k.key).collect();
        Response::from_json(&serde_json::json!({ "keys": keys }))
    }

    fn limit(&self, sql: &SqlStorage, r: &LimitReq, now_ms: i64) -> Result<Decision> {
        let state = self.window(sql, &r.key)?;
        let (decision, w) = limits::check(state, now_ms, r.limit, r.window, r.cost);
        self.store_window(sql, &r.key, w, state.is_none(), now_ms)?;
        Ok(decision)
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
}
