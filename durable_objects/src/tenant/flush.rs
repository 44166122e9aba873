//! Copying a `TENANT`'s usage counters to D1 for reporting: which organization they belong to
//! (`meta`), the alarm that schedules the copy, and the copy. It may only read the counters;
//! D1 is a report, never the source of a decision.

use super::quotas::QuotaRow;
use super::Tenant;
use serde::Deserialize;
use worker::{Result, SqlStorage};

/// Usage is copied to D1 at most this often.
const FLUSH_EVERY_MS: i64 = 60_000;

impl Tenant {
    /// Copies the usage counters to D1 (`usage_counters`), one upsert per counter, in one batch.
    pub(super) async fn flush_usage(&self) -> Result<()> {
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

    /// Stores the organization id once, so the flush knows whose counters these are.
    pub(super) fn remember_org(&self, sql: &SqlStorage, org_id: Option<&str>) -> Result<()> {
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

    /// Sets the flush alarm unless one is already set.
    pub(super) async fn schedule_flush(&self) -> Result<()> {
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
