//! The breached-password check (`edge_core::pwned`): one range query to `PWNED_PASSWORDS_URL`
//! under the outbound rules of webhooks (no private or loopback address unless allow-listed,
//! redirects not followed), bounded by [`pwned::TIMEOUT_MS`]. It fails open: when the service
//! cannot answer, the password passes and a warning line is logged.

use crate::ctx::Ctx;
use edge_core::pwned;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{
    AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect,
};

/// How often `password` was seen in breaches; `None` when the check is off or the service
/// could not answer (logged).
pub async fn times_seen(cx: &Ctx, password: &str) -> Option<u64> {
    let base = cx.config.pwned_passwords_url.as_deref()?;
    let q = pwned::query(password);
    let url = pwned::url(base, &q.prefix);
    match fetch_range(cx, &url).await {
        Ok(body) => Some(pwned::times_seen(&body, &q.suffix)),
        Err(why) => {
            worker::console_warn!(
                "{}",
                serde_json::json!({"msg": "breached-password check skipped (fail open)", "why": why, "request_id": cx.request_id})
            );
            None
        }
    }
}

async fn fetch_range(cx: &Ctx, url: &str) -> Result<String, String> {
    edge_core::webhook_target::check(url, &cx.config.origin_url, &cx.config.outbound_allow_hosts)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let url = url.to_owned();
    let call = async move {
        let headers = Headers::new();
        headers.set("Add-Padding", "true")?;
        headers.set("User-Agent", "edge-api/1")?;
        let mut init = RequestInit::new();
        init.with_method(Method::Get)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        let mut resp = Fetch::Request(Request::new_with_init(&url, &init)?)
            .send_with_signal(&signal)
            .await?;
        let status = resp.status_code();
        let bytes = resp.bytes().await?;
        Ok::<_, worker::Error>((status, bytes))
    };
    let timeout = Delay::from(Duration::from_millis(pwned::TIMEOUT_MS));
    match select(Box::pin(call), timeout).await {
        Either::Left((Ok((200, bytes)), _)) if bytes.len() <= pwned::MAX_BODY => {
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        }
        Either::Left((Ok((status, _)), _)) => Err(format!("answered {status}")),
        Either::Left((Err(e), _)) => Err(e.to_string().chars().take(200).collect()),
        Either::Right(_) => {
            controller.abort();
            Err(format!("no answer within {} ms", pwned::TIMEOUT_MS))
        }
    }
}

/// 400 on `field` when `password` is known from breaches; nothing when it is not, or when the
/// check is off or unavailable.
pub async fn refuse_breached(
    cx: &Ctx,
    field: &str,
    password: &str,
) -> Result<(), edge_core::ApiError> {
    match times_seen(cx, password).await {
        Some(n) if n > 0 => Err(edge_core::ApiError::validation_failed(
            "The password is known from data breaches.",
        )
        .with_errors(vec![edge_core::FieldError::new(field, pwned::refusal(n))])),
        _ => Ok(()),
    }
}
