//! AI generations into documents: the request's rules (prompt and output limits, modes, the
//! plan's model allow-list), the state machine (`queued` → `running` → `succeeded` | `failed` |
//! `cancelled`; retries only before the first token), the upstream request (OpenAI-compatible
//! Chat Completions with streaming), how upstream failures become problems, and the token
//! arithmetic against the organization's quota. Pure; the glue is `src/generations/`.

pub mod sse;
pub mod text;

use crate::json::Checks;
use crate::limits::Plan;
use crate::problem::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Where the generated text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Append,
    Replace,
    InsertAt,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "append" => Some(Mode::Append),
            "replace" => Some(Mode::Replace),
            "insert_at" => Some(Mode::InsertAt),
            _ => None,
        }
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Mode::Append => "append",
            Mode::Replace => "replace",
            Mode::InsertAt => "insert_at",
        }
    }
}

/// A generation's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Queued,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::Cancelled,
    ];
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Succeeded => "succeeded",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }
    pub const fn is_final(self) -> bool {
        matches!(self, Status::Succeeded | Status::Failed | Status::Cancelled)
    }
    /// The allowed moves: a queued generation starts or is cancelled (or fails, when the sweep
    /// finds its message lost too long); a running one ends in any final state; final is final.
    pub fn may_become(self, next: Status) -> bool {
        match self {
            Status::Queued => matches!(next, Status::Running | Status::Cancelled | Status::Failed),
            Status::Running => next.is_final(),
            _ => false,
        }
    }
}

/// The deployer's settings (`AI_*` variables), parsed once with the rest of the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The Chat Completions base URL, without a trailing slash (`…/v1`).
    pub base_url: String,
    /// Characters a prompt may have.
    pub max_prompt_chars: usize,
    /// Characters a generation may write; the stream is stopped there.
    pub max_output_chars: usize,
    /// The `max_tokens` a caller may ask for (and the default).
    pub max_tokens: u32,
    /// The whole upstream exchange, all attempts, must end within this.
    pub deadline_ms: u32,
    /// Attempts before the first token (1 + retries).
    pub max_attempts: u32,
    /// Models each plan may use; the first is the default.
    pub models: Vec<(Plan, Vec<String>)>,
}

impl Settings {
    pub const DEFAULT_MODELS: &'static str = r#"{"free":["gpt-4o-mini"],"pro":["gpt-4o-mini","gpt-4o"],"enterprise":["gpt-4o-mini","gpt-4o"]}"#;

    /// `AI_MODELS`: `{"free":["m1"],"pro":["m1","m2"],…}`; a plan left out may use no model.
    pub fn parse_models(json: &str) -> Result<Vec<(Plan, Vec<String>)>, String> {
        let map: std::collections::BTreeMap<String, Vec<String>> = serde_json::from_str(json)
            .map_err(|e| format!("must be a JSON object of plan → [model]: {e}"))?;
        map.into_iter()
            .map(|(plan, models)| {
                let plan = Plan::parse(&plan).ok_or(format!("unknown plan {plan:?}"))?;
                Ok((plan, models))
            })
            .collect()
    }

    pub fn models_of(&self, plan: Plan) -> &[String] {
        self.models
            .iter()
            .find(|(p, _)| *p == plan)
            .map(|(_, m)| m.as_slice())
            .unwrap_or(&[])
    }

    /// The Chat Completions endpoint.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url)
    }
}

/// `POST …/generations` as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    pub prompt: String,
    pub mode: String,
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    pub position: Option<i64>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, deserialize_with = "crate::json::optional_integer")]
    pub max_tokens: Option<i64>,
    #[serde(default)]
    pub temperature: Option<f64>,
}

/// A checked generation request.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub prompt: String,
    pub mode: Mode,
    pub position: usize,
    pub model: String,
    pub max_tokens: u32,
    pub temperature: Option<f64>,
}

impl Spec {
    /// Checks `body` against the settings and the plan: every problem is a 400 naming its field.
    pub fn parse(body: CreateBody, settings: &Settings, plan: Plan) -> Result<Spec, ApiError> {
        let models = settings.models_of(plan);
        let mode = Mode::parse(&body.mode);
        let chars = body.prompt.chars().count();
        let model = body.model.clone().or_else(|| models.first().cloned());
        let mut c = Checks::new();
        c.check(
            !body.prompt.trim().is_empty(),
            "prompt",
            "must not be empty",
        )
        .check(
            chars <= settings.max_prompt_chars,
            "prompt",
            format!("must be at most {} characters", settings.max_prompt_chars),
        )
        .check(
            mode.is_some(),
            "mode",
            "must be append, replace or insert_at",
        )
        .check(
            match (mode, body.position) {
                (Some(Mode::InsertAt), p) => p.is_some_and(|p| p >= 0),
                (_, p) => p.is_none(),
            },
            "position",
            "is required (a character offset ≥ 0) with insert_at, and only then",
        )
        .check(
            model.as_ref().is_some_and(|m| models.contains(m)),
            "model",
            if models.is_empty() {
                "no model is available on this organization's plan".to_owned()
            } else {
                format!("must be one of {}", models.join(", "))
            },
        )
        .check(
            body.max_tokens
                .is_none_or(|n| (1..=i64::from(settings.max_tokens)).contains(&n)),
            "max_tokens",
            format!("must be from 1 to {}", settings.max_tokens),
        )
        .check(
            body.temperature
                .is_none_or(|t| t.is_finite() && (0.0..=2.0).contains(&t)),
            "temperature",
            "must be from 0 to 2",
        );
        c.finish()?;
        Ok(Spec {
            prompt: body.prompt,
            mode: mode.unwrap_or(Mode::Append),
            position: body.position.unwrap_or(0).max(0) as usize,
            model: model.unwrap_or_default(),
            max_tokens: body
                .max_tokens
                .map(|n| n as u32)
                .unwrap_or(settings.max_tokens),
            temperature: body.temperature,
        })
    }

    /// The Chat Completions request: streamed, with the usage block asked for.
    pub fn upstream_body(&self) -> Value {
        let mut body = json!({
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt}],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": self.max_tokens,
        });
        if let Some(t) = self.temperature {
            body["temperature"] = json!(t);
        }
        body
    }
}

/// How one upstream attempt ended before it produced anything, or broke after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// A non-2xx answer.
    Status(u16),
    /// No connection, reset, a broken stream.
    Unreachable(String),
    /// An error object inside the stream.
    InStream(String),
    /// The deadline passed.
    Deadline,
}

impl UpstreamFailure {
    /// Worth another attempt (before the first token only): 408, 429, 5xx, network failures.
    pub fn transient(&self) -> bool {
        match self {
            UpstreamFailure::Status(s) => matches!(s, 408 | 429) || *s >= 500,
            // An error object in the stream is how providers (and OpenAI) report a server
            // error once the answer has started as 200; before any token it is retried.
            UpstreamFailure::Unreachable(_) | UpstreamFailure::InStream(_) => true,
            UpstreamFailure::Deadline => false,
        }
    }

    /// The problem kept as the generation's `error`: 504 `upstream_timeout` on the deadline,
    /// else 502 `upstream_failed` with the upstream's status when there was one.
    pub fn problem(&self) -> Value {
        match self {
            UpstreamFailure::Deadline => json!({
                "code": "upstream_timeout", "status": 504,
                "detail": "The model provider did not finish within the deadline.",
            }),
            UpstreamFailure::Status(s) => json!({
                "code": "upstream_failed", "status": 502, "upstream_status": s,
                "detail": format!("The model provider answered {s}."),
            }),
            UpstreamFailure::Unreachable(why) => json!({
                "code": "upstream_failed", "status": 502,
                "detail": format!("The model provider could not be reached: {why}"),
            }),
            UpstreamFailure::InStream(why) => json!({
                "code": "upstream_failed", "status": 502,
                "detail": format!("The model provider reported an error: {why}"),
            }),
        }
    }
}

/// What to do after attempt `attempt` (1-based) failed with `failure`.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    RetryIn(u32),
    Fail(Value),
}

/// Retries only before the first token (`tokens_seen` false), only transient failures, at most
/// `max_attempts` in all, with a short doubling delay that must fit before the deadline.
pub fn after_failure(
    failure: &UpstreamFailure,
    attempt: u32,
    tokens_seen: bool,
    max_attempts: u32,
    ms_left: i64,
) -> Next {
    let delay = 200u32.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    if !tokens_seen && failure.transient() && attempt < max_attempts && i64::from(delay) < ms_left {
        Next::RetryIn(delay)
    } else {
        Next::Fail(failure.problem())
    }
}

/// The quota problem a stopped generation keeps, and the 429 a refused request gets.
pub fn quota_problem() -> Value {
    json!({
        "code": "rate_limited", "status": 429, "quota": "ai_tokens",
        "detail": "The organization's monthly AI token quota was reached; the generation stopped there.",
    })
}

/// Tokens to count once the generation ends: `reserved` were taken from the quota while it
/// streamed (estimates); the upstream's `usage`, when it sent one, is the truth. Returns the
/// tokens to record (prompt, completion), whether they are estimated, and the correction to the
/// quota (positive: take more; negative: give back), so the quota ends equal to the recorded sum.
pub fn settle(reserved: u64, usage: Option<sse::Usage>, prompt: &str) -> (u64, u64, bool, i64) {
    match usage {
        Some(u) => {
            let actual = u.prompt_tokens.saturating_add(u.completion_tokens);
            (
                u.prompt_tokens,
                u.completion_tokens,
                false,
                actual as i64 - reserved as i64,
            )
        }
        // No usage from upstream: what was reserved (the estimates, or up to the quota when it
        // stopped the stream) is what counts, prompt first.
        None => {
            let p = text::estimate_tokens(prompt).min(reserved);
            (p, reserved - p, true, 0)
        }
    }
}

/// Who a generation's version is authored by.
pub fn author(generation_id: &str, user_id: &str) -> String {
    format!("generation {generation_id} by {user_id}")
}

#[cfg(test)]
mod tests;
