//! One signed delivery of a job, bounded by the timeout: to `${ORIGIN_URL}/jobs/{type}` for
//! work the customer's backend does, or — for `webhook.deliver` — to the webhook's own URL,
//! which is user-supplied and therefore checked (`edge_core::outbound`), redirects included:
//! they are followed by hand, each hop checked, at most three.

use crate::platform;
use edge_core::config::Config;
use edge_core::jobs::OriginOutcome;
use edge_core::{outbound, signature};
use futures_util::future::{select, Either};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Url,
};

/// The answer is kept as the job's `result` up to this size.
pub const MAX_RESULT_BYTES: usize = 64 * 1024;
const MAX_REDIRECTS: usize = 3;

pub struct Delivery {
    pub outcome: OriginOutcome,
    /// The answer's body as JSON text, for a 2xx within the size limit.
    pub result: Option<String>,
}

/// Where a delivery goes.
pub enum Target<'a> {
    /// `${ORIGIN_URL}/jobs/{type}` with the job envelope.
    Origin { job_type: &'a str },
    /// A user-supplied webhook URL.
    Webhook { url: &'a str },
}

/// Whether `url` is on the configured origin (the one destination exempt from the checks).
pub fn is_origin(config: &Config, url: &str) -> bool {
    let base = |u: &str| Url::parse(u).ok().map(|u| u.origin().ascii_serialization());
    base(url).is_some() && base(url) == base(&config.origin_url)
}

/// `outbound::check`, except for the configured origin.
pub fn allowed(config: &Config, url: &str) -> Result<(), String> {
    if is_origin(config, url) {
        return Ok(());
    }
    outbound::check(url).map(|_| ())
}

/// POSTs `body` with `X-Job-Id`, `X-Org-Id`, `X-Attempt` and
/// `X-Signature: t=<unix>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, "{t}.{body}")>`.
pub async fn deliver(
    config: &Config,
    target: Target<'_>,
    job_id: &str,
    org_id: Option<&str>,
    attempt: u32,
    body: &str,
) -> Delivery {
    let (mut url, checked) = match target {
        Target::Origin { job_type } => (format!("{}/jobs/{job_type}", config.origin_url), false),
        Target::Webhook { url } => (url.to_owned(), true),
    };
    let t = platform::now_ms() / 1000;
    let sig = signature::sign(config.origin_secret.as_bytes(), t, &[body.as_bytes()]);
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move {
        for _ in 0..=MAX_REDIRECTS {
            if checked {
                if let Err(why) = allowed(config, &url) {
                    return Ok(Err(why));
                }
            }
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
                .with_body(Some(JsValue::from_str(body)))
                .with_redirect(if checked {
                    RequestRedirect::Manual
                } else {
                    RequestRedirect::Follow
                });
            let mut resp = Fetch::Request(Request::new_with_init(&url, &init)?)
                .send_with_signal(&signal)
                .await?;
            let status = resp.status_code();
            if checked && (300..400).contains(&status) {
                let location = resp.headers().get("Location")?.unwrap_or_default();
                let next = Url::parse(&url).and_then(|base| base.join(&location));
                match next {
                    Ok(next) => {
                        url = next.to_string();
                        continue;
                    }
                    Err(_) => {
                        return Ok(Err(format!("redirect to an invalid location {location:?}")))
                    }
                }
            }
            let bytes = if (200..300).contains(&status) {
                resp.bytes().await?
            } else {
                Vec::new()
            };
            return Ok(Ok((status, bytes)));
        }
        Ok::<_, worker::Error>(Err(format!("more than {MAX_REDIRECTS} redirects")))
    };
    let timeout = Delay::from(Duration::from_millis(config.origin_timeout_ms as u64));
    match select(Box::pin(call), timeout).await {
        Either::Left((Ok(Ok((status, bytes))), _)) => Delivery {
            outcome: OriginOutcome::Answered(status),
            result: keep_result(&bytes),
        },
        Either::Left((Ok(Err(why)), _)) => Delivery {
            outcome: OriginOutcome::Blocked(why),
            result: None,
        },
        Either::Left((Err(e), _)) => {
            let why: String = e.to_string().chars().take(200).collect();
            Delivery {
                outcome: OriginOutcome::Unreachable(why),
                result: None,
            }
        }
        Either::Right(_) => {
            controller.abort();
            Delivery {
                outcome: OriginOutcome::TimedOut,
                result: None,
            }
        }
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
