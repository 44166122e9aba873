//! The origin's HTTP/1.1 server: record each request, then answer from its key's script.

use super::{Answer, Recorded, State};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;

pub(super) async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let at = SystemTime::now();
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (n.as_str().to_owned(), value)
        })
        .collect();
    let key = test_key(&headers, parts.uri.query(), &body);
    let answer = state.next_answer(key.as_deref());
    state
        .requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Recorded {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
            at,
            key,
        });
    state.arrived.notify_waiters();
    Ok(respond(answer).await)
}

fn test_key(headers: &[(String, String)], query: Option<&str>, body: &[u8]) -> Option<String> {
    if let Some((_, v)) = headers.iter().find(|(n, _)| n == "x-test-key") {
        return Some(v.clone());
    }
    // Proxied calls forward no custom headers: their key rides in the query.
    let from_query = query.and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("test_key="))
            .map(str::to_owned)
    });
    if from_query.is_some() {
        return from_query;
    }
    let json: Value = serde_json::from_slice(body).ok()?;
    json.pointer("/payload/test_key")?
        .as_str()
        .map(str::to_owned)
}

async fn respond(mut answer: Answer) -> Response<Full<Bytes>> {
    let mut extra = Vec::new();
    loop {
        match answer {
            Answer::Slow(ms, then) => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                answer = *then;
            }
            Answer::Headers(headers, then) => {
                extra.extend(headers);
                answer = *then;
            }
            _ => break,
        }
    }
    let (status, body, json) = match answer {
        Answer::Status(s) => (s, Bytes::new(), false),
        Answer::Json(s, v) => (s, Bytes::from(v.to_string()), true),
        Answer::Slow(..) | Answer::Headers(..) => unreachable!("unwrapped above"),
    };
    let mut resp = Response::builder().status(status);
    if json {
        resp = resp.header("content-type", "application/json");
    }
    for (name, value) in extra {
        resp = resp.header(name, value);
    }
    resp.body(Full::new(body))
        .expect("a valid scripted response")
}
