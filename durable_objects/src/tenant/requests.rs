//! A `TENANT`'s monthly `requests` usage: every allowed authenticated request of the
//! organization, counted and refunded (`/requests`, and by the window routes). A quota without
//! a limit; it may only count, never refuse.

use super::Tenant;
use edge_core::limits;
use serde::Deserialize;
use serde_json::json;
use worker::{Response, Result, SqlStorage};

#[derive(Deserialize)]
pub(super) struct RequestsReq {
    org_id: String,
    /// 1 to count, -1 to refund one counted by `/count`.
    #[serde(default = "one_i")]
    amount: i64,
}

fn one_i() -> i64 {
    1
}

impl Tenant {
    /// `POST /requests`: counts (or refunds) one request of the organization.
    pub(super) async fn post_requests(
        &self,
        sql: &SqlStorage,
        r: RequestsReq,
        now_ms: i64,
    ) -> Result<Response> {
        self.remember_org(sql, Some(&r.org_id))?;
        self.count_requests(sql, now_ms, r.amount).await?;
        Response::from_json(&json!({"counted": r.amount}))
    }

    /// Every allowed authenticated request counts towards the month's `requests` usage
    /// (`amount` -1 refunds one counted for a request that was then refused).
    pub(super) async fn count_requests(
        &self,
        sql: &SqlStorage,
        now_ms: i64,
        amount: i64,
    ) -> Result<()> {
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
}
