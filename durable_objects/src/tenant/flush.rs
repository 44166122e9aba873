//! Copying a `TENANT`'s usage counters to D1, and what the test routes observe of it.

use super::{QuotaRow, Tenant};
use serde::Deserialize;
use worker::{Response, Result, SqlStorage};

impl Tenant {
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
}
