//! One delivery of a job, bounded by the timeout: to `${ORIGIN_URL}/jobs/{type}` with the
//! job envelope signed with `ORIGIN_SECRET` (`edge_core::origin_signing::sign_job`), or — for
//! `webhook.deliver` — to the webhook's own URL (see the jobs webhook module), which is user-supplied and
//! therefore checked (`edge_core::webhook_target`), redirects included: they are followed by
//! hand, each hop checked, at most three.

use crate::platform;
use edge_core::config::Config;
use edge_core::jobs::OriginOutcome;
use edge_core::origin_signing::{self, JobFields};
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
    /// The first KiB of any answer's body (the webhook attempt log keeps it).
    pub head: Option<String>,
}

impl Delivery {
    pub fn blocked(why: impl Into<String>) -> Self {
        Delivery {
            outcome: OriginOutcome::Blocked(why.into()),
            result: None,
            head: None,
        }
    }
}

/// One POST: where, with which headers (besides `Content-Type` and `User-Agent`), and
/// whether each hop must pass the webhook destination check (redirects then followed by hand).
pub struct Post<'a> {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: &'a str,
    pub checked: bool,
}

/// Delivers a job envelope `body` to `${ORIGIN_URL}/jobs/{type}` with `X-Job-Id`,
/// `X-Job-Type`, `X-Org-Id` (empty for account-level jobs), `X-Attempt` and
/// `X-Signature: t=<unix>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, "edge-job.v1\n{t}\n{id}\n{type}\n{org}\n{attempt}\n{body}")>`.
pub async fn deliver_job(
    config: &Config,
    job_id: &str,
    job_type: &str,
    org_id: Option<&str>,
    attempt: u32,
    body: &str,
) -> Delivery {
    let fields = JobFields {
        t: platform::now_ms() / 1000,
        job_id,
        job_type,
        org_id,
        attempt,
        body: body.as_bytes(),
    };
    let sig = match origin_signing::sign_job(config.origin_secret.as_bytes(), &fields) {
        Ok(sig) => sig,
        Err(e) => return Delivery::blocked(format!("unsignable job: line break in {}", e.0)),
    };
    let post = Post {
        url: format!("{}/jobs/{job_type}", config.origin_url),
        headers: vec![
            ("X-Job-Id", job_id.to_owned()),
            ("X-Job-Type", job_type.to_owned()),
            ("X-Org-Id", org_id.unwrap_or_default().to_owned()),
            ("X-Attempt", attempt.to_string()),
            ("X-Signature", sig),
        ],
        body,
        checked: false,
    };
    send(config, post).await
}

/// POSTs `post.body` as JSON, within `ORIGIN_TIMEOUT_MS`.
pub async fn send(config: &Config, post: Post<'_>) -> Delivery {
    let Post {
        mut url,
        headers: extra,
        body,
        checked,
    } = post;
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async move {
        for _ in 0..=MAX_REDIRECTS {
            if checked {
                // The webhook destination rule, at every hop (as at creation).
                let rule = edge_core::webhook_target::check(
                    &url,
                    &config.origin_url,
                    &config.outbound_allow_hosts,
                );
                if let Err(why) = rule {
                    return Ok(Err(why));
                }
            }
            let headers = Headers::new();
            headers.set("Content-Type", "application/json")?;
            headers.set("User-Agent", "edge-api-jobs/1")?;
            for (name, value) in &extra {
                headers.set(name, value)?;
            }
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
            let bytes = resp.bytes().await?;
            return Ok(Ok((status, bytes)));
        }
        Ok::<_, worker::Error>(Err(format!("more than {MAX_REDIRECTS} redirects")))
    };
    let timeout = Delay::from(Duration::from_millis(config.origin_timeout_ms as u64));
    match select(Box::pin(call), timeout).await {
        Either::Left((Ok(Ok((status, bytes))), _)) => Delivery {
            outcome: OriginOutcome::Answered(status),
            result: if (200..300).contains(&status) {
                keep_result(&bytes)
            } else {
                None
            },
            head: Some(edge_core::webhooks::response_head(&bytes)),
        },
        Either::Left((Ok(Err(why)), _)) => Delivery::blocked(why),
        Either::Left((Err(e), _)) => {
            let why: String = e.to_string().chars().take(200).collect();
            Delivery {
                outcome: OriginOutcome::Unreachable(why),
                result: None,
                head: None,
            }
        }
        Either::Right(_) => {
            controller.abort();
            Delivery {
                outcome: OriginOutcome::TimedOut,
                result: None,
                head: None,
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
