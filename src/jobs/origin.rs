//! One signed delivery of a job to `${ORIGIN_URL}/jobs/{type}`, bounded by the timeout.

use crate::platform;
use edge_core::config::Config;
use edge_core::jobs::OriginOutcome;
use edge_core::signature;
use futures_util::future::{select, Either};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// The origin's answer is kept as the job's `result` up to this size.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;

pub struct Delivery {
    pub outcome: OriginOutcome,
    /// The answer's body as JSON text, for a 2xx within the size limit.
    pub result: Option<String>,
}

/// POSTs `body` with `X-Job-Id`, `X-Org-Id`, `X-Attempt` and
/// `X-Signature: t=<unix>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, "{t}.{body}")>`.
pub async fn deliver(
    config: &Config,
    job_type: &str,
    job_id: &str,
    org_id: Option<&str>,
    attempt: u32,
    body: &str,
) -> Delivery {
    let url = format!("{}/jobs/{job_type}", config.origin_url);
    let t = platform::now_ms() / 1000;
    let sig = signature::sign(config.origin_secret.as_bytes(), t, &[body.as_bytes()]);
    let request = (|| {
        let headers = Headers::new();
        headers.set("Content-Type", "application/json")?;
        headers.set("User-Agent", "edge-api-jobs/1")?;
        headers.set("X-Job-Id", job_id)?;
        if let Some(org_id) = org_id {
            headers.set("X-Org-Id", org_id)?;
        }
        headers.set("X-Attempt", &attempt.to_string())?;
        headers.set("X-Signature", &sig)?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(JsValue::from_str(body)));
        Request::new_with_init(&url, &init)
    })();
    let request = match request {
        Ok(r) => r,
        Err(e) => return unreachable_origin(e),
    };

    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move {
        let mut resp = Fetch::Request(request).send_with_signal(&signal).await?;
        let status = resp.status_code();
        let bytes = if (200..300).contains(&status) {
            resp.bytes().await?
        } else {
            Vec::new()
        };
        Ok::<_, worker::Error>((status, bytes))
    };
    let timeout = Delay::from(Duration::from_millis(config.origin_timeout_ms as u64));
    match select(Box::pin(call), timeout).await {
        Either::Left((Ok((status, bytes)), _)) => Delivery {
            outcome: OriginOutcome::Answered(status),
            result: keep_result(&bytes),
        },
        Either::Left((Err(e), _)) => unreachable_origin(e),
        Either::Right(_) => {
            controller.abort();
            Delivery {
                outcome: OriginOutcome::TimedOut,
                result: None,
            }
        }
    }
}

fn unreachable_origin(e: impl std::fmt::Display) -> Delivery {
    let why: String = e.to_string().chars().take(200).collect();
    Delivery {
        outcome: OriginOutcome::Unreachable(why),
        result: None,
    }
}

/// JSON answers are kept as they are, other text as a JSON string, oversized ones not at all.
fn keep_result(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.len() > MAX_RESULT_BYTES {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(v) => Some(v.to_string()),
        Err(_) => Some(serde_json::Value::from(String::from_utf8_lossy(bytes)).to_string()),
    }
}
