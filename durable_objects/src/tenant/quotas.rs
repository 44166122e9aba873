//! A `TENANT`'s counted quotas: the `quotas` table behind its write-through cache, and the
//! `/quota`, `/release`, `/settle` and `/usage` routes. Consuming and releasing are `edge_core::limits`;
//! this file may only store and load their state, never decide.

use super::Tenant;
use edge_core::limits::{self, Quota};
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{Response, Result, SqlStorage};

#[derive(Deserialize)]
pub(super) struct QuotaReq {
    org_id: Option<String>,
    kind: String,
    period: String,
    #[serde(default)]
    limit: u64,
    amount: u64,
}

#[derive(Deserialize)]
pub(super) struct SettleReq {
    org_id: Option<String>,
    /// Applied once: a settlement with a key already seen changes nothing.
    key: String,
    period: String,
    entries: Vec<SettleEntry>,
}

#[derive(Deserialize)]
pub(super) struct SettleEntry {
    kind: String,
    amount: i64,
}

#[derive(Deserialize)]
struct KeyRow {
    #[allow(dead_code)]
    key: String,
}

/// One row of the `quotas` table (also what the flush copies to D1).
#[derive(Serialize, Deserialize)]
pub(super) struct QuotaRow {
    pub(super) kind: String,
    pub(super) period: String,
    pub(super) used: i64,
}

impl Tenant {
    /// `POST /quota`: consumes `amount` if it fits under `limit`.
    pub(super) async fn post_quota(&self, sql: &SqlStorage, r: QuotaReq) -> Result<Response> {
        self.remember_org(sql, r.org_id.as_deref())?;
        let (allowed, q) = limits::consume(self.quota(sql, &r.kind)?, &r.period, r.limit, r.amount);
        if allowed {
            self.put_quota(sql, &r.kind, q.clone())?;
            self.schedule_flush().await?;
        }
        Response::from_json(&json!({"allowed": allowed, "used": q.used, "limit": r.limit}))
    }

    /// `POST /release`: gives `amount` back.
    pub(super) async fn post_release(&self, sql: &SqlStorage, r: QuotaReq) -> Result<Response> {
        let q = limits::release(self.quota(sql, &r.kind)?, &r.period, r.amount);
        self.put_quota(sql, &r.kind, q.clone())?;
        self.schedule_flush().await?;
        Response::from_json(&json!({"used": q.used}))
    }

    /// `POST /settle`: applies every entry (`edge_core::limits::adjust`) at once, once per
    /// `key` (a retried or repeated settlement, e.g. after a crash between it and the caller's
    /// own write, counts nothing twice). Answers `{applied, used: {kind: used}}`.
    pub(super) async fn post_settle(&self, sql: &SqlStorage, r: SettleReq) -> Result<Response> {
        self.remember_org(sql, r.org_id.as_deref())?;
        let seen: Vec<KeyRow> = sql
            .exec(
                "SELECT key FROM settlements WHERE key = ?",
                vec![r.key.as_str().into()],
            )?
            .to_array()?;
        let applied = seen.is_empty();
        let mut used = serde_json::Map::new();
        for e in &r.entries {
            let current = self.quota(sql, &e.kind)?;
            let q = if applied {
                let q = limits::adjust(current, &r.period, e.amount);
                self.put_quota(sql, &e.kind, q.clone())?;
                q
            } else {
                current.unwrap_or(Quota {
                    period: r.period.clone(),
                    used: 0,
                })
            };
            used.insert(e.kind.clone(), json!(q.used));
        }
        if applied {
            let now = worker::Date::now().as_millis() as i64;
            sql.exec(
                "INSERT INTO settlements (key, at) VALUES (?, ?)",
                vec![r.key.as_str().into(), now.into()],
            )?;
            // Keys outlive any retry by far: keep 40 days.
            sql.exec(
                "DELETE FROM settlements WHERE at < ?",
                vec![(now - 40 * 86_400_000).into()],
            )?;
            self.schedule_flush().await?;
        }
        Response::from_json(&json!({"applied": applied, "used": used}))
    }

    /// `GET /usage`: every quota with its period.
    pub(super) fn usage(&self, sql: &SqlStorage) -> Result<Response> {
        let rows: Vec<QuotaRow> = sql
            .exec("SELECT kind, period, used FROM quotas", None)?
            .to_array()?;
        let usage: serde_json::Map<String, serde_json::Value> = rows
            .into_iter()
            .map(|r| (r.kind, json!({"period": r.period, "used": r.used})))
            .collect();
        Response::from_json(&usage)
    }

    pub(super) fn quota(&self, sql: &SqlStorage, kind: &str) -> Result<Option<Quota>> {
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

    pub(super) fn put_quota(&self, sql: &SqlStorage, kind: &str, q: Quota) -> Result<()> {
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
}
