//! One attempt at the model provider: `POST ${AI_BASE_URL}/chat/completions` with
//! `stream: true`, answered by an SSE body that the caller reads chunk by chunk. Calls under
//! `ORIGIN_URL` are signed like every origin call (`edge_core::origin_signing::sign_job`, type
//! `ai.generate`, the generation id as the job id); `AI_API_KEY`, when set, goes as a bearer
//! token. The prompt is in the body only: nothing here logs it.

use crate::platform;
use edge_core::config::Config;
use edge_core::generations::UpstreamFailure;
use edge_core::origin_signing::{self, JobFields};
use wasm_bindgen::JsValue;
use worker::{AbortSignal, ByteStream, Fetch, Headers, Method, Request, RequestInit};

/// Who is asking, for the signature headers.
pub struct Caller<'a> {
    pub generation_id: &'a str,
    pub org_id: &'a str,
    pub attempt: u32,
}

/// Sends the request; the body stream on a 2xx, else why not.
pub async fn open(
    config: &Config,
    who: &Caller<'_>,
    body: &str,
    signal: &AbortSignal,
) -> Result<ByteStream, UpstreamFailure> {
    let unreachable =
        |e: worker::Error| UpstreamFailure::Unreachable(e.to_string().chars().take(200).collect());
    let headers = Headers::new();
    let set = |k: &str, v: &str| headers.set(k, v).map_err(unreachable);
    set("Content-Type", "application/json")?;
    set("Accept", "text/event-stream")?;
    set("User-Agent", "edge-api-generations/1")?;
    if let Some(key) = &config.ai_api_key {
        set("Authorization", &format!("Bearer {}", key.expose()))?;
    }
    if under_origin(&config.ai.base_url, &config.origin_url) {
        let fields = JobFields {
            t: platform::now_ms() / 1000,
            job_id: who.generation_id,
            job_type: "ai.generate",
            org_id: Some(who.org_id),
            attempt: who.attempt,
            body: body.as_bytes(),
        };
        let sig = origin_signing::sign_job(config.origin_secret.as_bytes(), &fields)
            .map_err(|e| UpstreamFailure::Unreachable(format!("unsignable: {}", e.0)))?;
        set("X-Generation-Id", who.generation_id)?;
        set("X-Org-Id", who.org_id)?;
        set("X-Attempt", &who.attempt.to_string())?;
        set("X-Signature", &sig)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(JsValue::from_str(body)));
    let req = Request::new_with_init(&config.ai.endpoint(), &init).map_err(unreachable)?;
    let mut resp = Fetch::Request(req)
        .send_with_signal(signal)
        .await
        .map_err(unreachable)?;
    let status = resp.status_code();
    if !(200..300).contains(&status) {
        return Err(UpstreamFailure::Status(status));
    }
    resp.stream().map_err(unreachable)
}

/// Whether `url` is the origin or below it (then the call is signed).
fn under_origin(url: &str, origin: &str) -> bool {
    url == origin
        || url
            .strip_prefix(origin)
            .is_some_and(|rest| rest.starts_with('/'))
}
