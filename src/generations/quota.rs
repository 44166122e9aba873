//! A generation's tokens against the organization's monthly `ai_tokens` quota in `TENANT`:
//! reserved as the text streams (estimates, exact under concurrency because the object is
//! single-threaded), and settled to the upstream's `usage` at the end. When a reservation does
//! not fit, the rest of the quota is taken so the organization stands exactly at its limit and
//! the next request is refused.

use super::repo::GenRow;
use edge_core::generations::text::estimate_tokens;
use edge_core::limits;
use edge_core::ApiError;
use worker::Env;

pub const KIND: &str = "ai_tokens";
/// Counters shown in usage beside the quota (no limit of their own).
pub const PROMPT_KIND: &str = "ai_prompt_tokens";
pub const COMPLETION_KIND: &str = "ai_completion_tokens";
/// "No limit" as a JSON number every side reads exactly.
pub const UNLIMITED: u64 = 1 << 52;

pub struct Meter<'a> {
    env: &'a Env,
    org_id: String,
    limit: u64,
    period: String,
    prompt: u64,
    reserved: u64,
}

impl<'a> Meter<'a> {
    pub fn new(env: &'a Env, row: &GenRow) -> Self {
        Self {
            env,
            org_id: row.org_id.clone(),
            limit: row.token_limit.max(0) as u64,
            period: limits::month(crate::platform::now_ms()),
            prompt: estimate_tokens(&row.prompt),
            reserved: row.tokens_reserved.max(0) as u64,
        }
    }

    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// Reserves the prompt's estimate; `false` when the quota has no room for it.
    pub async fn reserve_prompt(&mut self) -> Result<bool, ApiError> {
        self.reserve_up_to(self.prompt).await
    }

    /// Reserves what `text` (everything written so far) adds; `false` at the quota.
    pub async fn reserve_text(&mut self, text: &str) -> Result<bool, ApiError> {
        self.reserve_up_to(self.prompt + estimate_tokens(text))
            .await
    }

    async fn reserve_up_to(&mut self, total: u64) -> Result<bool, ApiError> {
        let need = total.saturating_sub(self.reserved);
        if need == 0 {
            return Ok(true);
        }
        match crate::limits::consume(self.env, &self.org_id, KIND, &self.period, self.limit, need)
            .await
        {
            Ok(used) => {
                self.reserved += need;
                self.announce(used, need).await;
                Ok(true)
            }
            Err(e) if e.status == 429 => {
                self.take_the_rest().await?;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Takes what is left of the quota (the stream stops there).
    async fn take_the_rest(&mut self) -> Result<(), ApiError> {
        let used = used(self.env, &self.org_id, KIND, &self.period).await?;
        let rest = self.limit.saturating_sub(used);
        if rest > 0 {
            let taken = crate::limits::consume(
                self.env,
                &self.org_id,
                KIND,
                &self.period,
                self.limit,
                rest,
            )
            .await;
            if let Ok(used) = taken {
                self.reserved += rest;
                self.announce(used, rest).await;
            }
        }
        Ok(())
    }

    /// `quota.threshold_crossed` when taking `amount` brought the quota to `used` across 80 %
    /// or 100 % (exact under concurrency: `used` is `TENANT`'s answer to this very take).
    async fn announce(&self, used: u64, amount: u64) {
        let crossed = crate::events::quota_crossed(
            &self.org_id,
            KIND,
            used,
            amount,
            self.limit,
            &self.period,
        );
        if let (Some(event), Ok(db)) = (crossed, crate::db::database(self.env)) {
            crate::events::write_alone_now(self.env, &db, &event).await;
        }
    }

    /// Makes the quota count exactly `prompt + completion` for this generation (given the
    /// `correction` from `edge_core::generations::settle`), and adds both to the usage counters:
    /// one `TENANT` call, applied once per generation (`key`), so a landing retried after a
    /// crash counts nothing twice.
    pub async fn settle(
        &self,
        key: &str,
        prompt: u64,
        completion: u64,
        correction: i64,
    ) -> Result<(), ApiError> {
        let entries = [
            (KIND, correction),
            (PROMPT_KIND, prompt.min(i64::MAX as u64) as i64),
            (COMPLETION_KIND, completion.min(i64::MAX as u64) as i64),
        ];
        let (applied, used) =
            crate::limits::settle(self.env, &self.org_id, key, &self.period, &entries).await?;
        if applied && correction > 0 {
            if let Some(used) = used[KIND].as_u64() {
                self.announce(used, correction as u64).await;
            }
        }
        Ok(())
    }
}

/// What the organization used of counter `kind` in `period`.
pub async fn used(env: &Env, org_id: &str, kind: &str, period: &str) -> Result<u64, ApiError> {
    let counters = crate::limits::usage(env, org_id).await?;
    Ok(counters
        .get(kind)
        .filter(|c| c["period"].as_str() == Some(period))
        .and_then(|c| c["used"].as_u64())
        .unwrap_or(0))
}
