//! Plans and their limits and quotas: the defaults, and the `PLAN_LIMITS` overrides.

use serde::Deserialize;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    Free,
    Pro,
    Enterprise,
}

impl Plan {
    pub const ALL: [Plan; 3] = [Plan::Free, Plan::Pro, Plan::Enterprise];

    pub const fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// What a plan allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    /// Authenticated requests per minute, per user per organization and per API key.
    pub requests_per_minute: u32,
    pub documents_per_month: u64,
    pub storage_bytes: u64,
    pub jobs_per_day: u64,
    /// Concurrent realtime connections across the organization's rooms.
    pub room_connections: u64,
    pub max_upload_bytes: u64,
    /// Events per UTC day that reach webhook endpoints (later ones are only recorded).
    pub webhook_events_per_day: u64,
    /// AI generation tokens (prompt + completion, as the upstream counts them) per month.
    pub ai_tokens_per_month: u64,
    /// AI generations one user may start per minute in one organization.
    pub ai_generations_per_minute: u32,
}

/// Partial overrides of a plan, as given in the `PLAN_LIMITS` variable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanOverride {
    requests_per_minute: Option<u32>,
    documents_per_month: Option<u64>,
    storage_bytes: Option<u64>,
    jobs_per_day: Option<u64>,
    room_connections: Option<u64>,
    max_upload_bytes: Option<u64>,
    webhook_events_per_day: Option<u64>,
    ai_tokens_per_month: Option<u64>,
    ai_generations_per_minute: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Overrides {
    free: Option<PlanOverride>,
    pro: Option<PlanOverride>,
    enterprise: Option<PlanOverride>,
    auth_per_minute: Option<u32>,
    mfa_attempts_per_5_minutes: Option<u32>,
}

/// Every limit of the product, from one typed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub free: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
    /// Attempts per minute at signup, login and password reset, per IP and per account.
    pub auth_per_minute: u32,
    /// Second-factor attempts per user per 5 minutes, all routes together (a lockout
    /// policy: 10 keeps guessing a 6-digit code hopeless).
    pub mfa_attempts: u32,
}

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

impl Default for Limits {
    fn default() -> Self {
        Self {
            free: PlanLimits {
                requests_per_minute: 100,
                documents_per_month: 1_000,
                storage_bytes: GIB,
                jobs_per_day: 100,
                room_connections: 20,
                max_upload_bytes: 100 * MIB,
                webhook_events_per_day: 10_000,
                ai_tokens_per_month: 100_000,
                ai_generations_per_minute: 10,
            },
            pro: PlanLimits {
                requests_per_minute: 1_000,
                documents_per_month: 100_000,
                storage_bytes: 100 * GIB,
                jobs_per_day: 10_000,
                room_connections: 500,
                max_upload_bytes: 100 * MIB,
                webhook_events_per_day: 250_000,
                ai_tokens_per_month: 5_000_000,
                ai_generations_per_minute: 60,
            },
            enterprise: PlanLimits {
                requests_per_minute: 10_000,
                documents_per_month: 10_000_000,
                storage_bytes: 10 * 1024 * GIB,
                jobs_per_day: 1_000_000,
                room_connections: 10_000,
                max_upload_bytes: 100 * MIB,
                webhook_events_per_day: 5_000_000,
                ai_tokens_per_month: 100_000_000,
                ai_generations_per_minute: 600,
            },
            auth_per_minute: 5,
            mfa_attempts: crate::mfa::ATTEMPTS,
        }
    }
}

impl Limits {
    /// The defaults with the overrides of `json` (`PLAN_LIMITS`, e.g.
    /// `{"free":{"requests_per_minute":5},"auth_per_minute":3,"mfa_attempts_per_5_minutes":10}`);
    /// empty means none.
    pub fn with_overrides(json: &str) -> Result<Self, String> {
        let mut limits = Self::default();
        if json.trim().is_empty() {
            return Ok(limits);
        }
        let o: Overrides = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for (plan, over) in [
            (&mut limits.free, o.free),
            (&mut limits.pro, o.pro),
            (&mut limits.enterprise, o.enterprise),
        ] {
            let Some(over) = over else { continue };
            // Each field given replaces the plan's default.
            macro_rules! take {
                ($($f:ident),*) => { $(if let Some(v) = over.$f { plan.$f = v; })* };
            }
            take!(
                requests_per_minute,
                documents_per_month,
                storage_bytes,
                jobs_per_day,
                room_connections,
                max_upload_bytes,
                webhook_events_per_day,
                ai_tokens_per_month,
                ai_generations_per_minute
            );
        }
        if let Some(v) = o.auth_per_minute {
            limits.auth_per_minute = v;
        }
        if let Some(v) = o.mfa_attempts_per_5_minutes {
            limits.mfa_attempts = v;
        }
        if [&limits.free, &limits.pro, &limits.enterprise]
            .iter()
            .any(|p| p.requests_per_minute == 0)
            || limits.auth_per_minute == 0
            || limits.mfa_attempts == 0
        {
            return Err("request limits must be at least 1".into());
        }
        Ok(limits)
    }

    pub fn plan(&self, plan: Plan) -> &PlanLimits {
        match plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
            Plan::Enterprise => &self.enterprise,
        }
    }
}
