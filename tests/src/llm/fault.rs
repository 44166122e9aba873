//! A fault injector between the worker and the model server, on loopback: each request takes
//! the next scripted [`Fault`] (then [`Fault::Pass`]) and is relayed to the real upstream
//! (`@dwmkerr/mock-llm`) or answered as the fault says. It changes only the transport (status,
//! a cut, a hang) or adds the `usage` chunk OpenAI sends when asked for
//! `stream_options.include_usage`, which the mock does not; the text always comes from the
//! mock. Like toxiproxy, which this machine's registries do not carry.

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// What one request to the proxy gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Relayed as the upstream answers.
    Pass,
    /// This status with an OpenAI error object, before any byte of a stream.
    Status(u16),
    /// Relayed until this many SSE events went out, then the connection is cut (no `[DONE]`).
    CutAfter(usize),
    /// A 200 event stream whose first byte never comes.
    Hang,
    /// Relayed, with a final `usage` chunk (these prompt and completion tokens) before `[DONE]`.
    Usage { prompt: u64, completion: u64 },
}

type Body = StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, String>>>;

struct State {
    upstream: String,
    script: Mutex<VecDeque<Fault>>,
    /// Default once the script is used up.
    then: Mutex<Fault>,
    requests: Mutex<Vec<Value>>,
    /// Per relayed request, when each SSE event was handed to the socket.
    relayed: Mutex<Vec<Arc<Mutex<Vec<Instant>>>>>,
}

pub struct FaultProxy {
    port: u16,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Relays to `upstream_base` (e.g. `http://127.0.0.1:N/v1`).
    pub async fn start(upstream_base: String) -> Result<FaultProxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let state = Arc::new(State {
            upstream: upstream_base,
            script: Mutex::default(),
            then: Mutex::new(Fault::Pass),
            requests: Mutex::default(),
            relayed: Mutex::default(),
        });
        let served = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(FaultProxy { port, state, task })
    }

    /// The next requests get these faults, in order; later ones get `then`.
    pub fn script(&self, faults: Vec<Fault>, then: Fault) {
        *lock(&self.state.script) = faults.into();
        *lock(&self.state.then) = then;
    }

    /// The bodies of the requests received so far.
    pub fn requests(&self) -> Vec<Value> {
        lock(&self.state.requests).clone()
    }

    /// For each relayed request in arrival order, when each of its SSE events went out (the
    /// benchmark's "chunk sent" clock).
    pub fn relayed_at(&self) -> Vec<Vec<Instant>> {
        lock(&self.state.relayed)
            .iter()
            .map(|times| lock(times).clone())
            .collect()
    }

    /// The `AI_BASE_URL` for it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn body(stream: futures_util::stream::BoxStream<'static, Result<Bytes, String>>) -> Body {
    StreamBody::new(stream.map(|r| r.map(Frame::data)).boxed())
}

fn once(bytes: Bytes) -> Body {
    body(futures_util::stream::once(async move { Ok(bytes) }).boxed())
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, String> {
    let (parts, incoming) = req.into_parts();
    let sent = incoming
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    lock(&state.requests).push(serde_json::from_slice(&sent).unwrap_or(Value::Null));
    let fault = lock(&state.script)
        .pop_front()
        .unwrap_or_else(|| lock(&state.then).clone());
    let sse = |b: Body| {
        Response::builder()
            .status(200)
            .header("content-type", "text/event-stream")
            .body(b)
            .map_err(|e| e.to_string())
    };
    match fault {
        Fault::Status(status) => {
            let error = json!({"error": {"message": format!("injected {status}"),
                "type": "server_error", "code": null}});
            return Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(once(Bytes::from(error.to_string())))
                .map_err(|e| e.to_string());
        }
        Fault::Hang => return sse(body(futures_util::stream::pending().boxed())),
        Fault::Pass | Fault::CutAfter(_) | Fault::Usage { .. } => {}
    }
    let path = parts
        .uri
        .path()
        .strip_prefix("/v1")
        .unwrap_or(parts.uri.path());
    let upstream = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?
        .post(format!("{}{path}", state.upstream))
        .header("content-type", "application/json")
        .body(sent)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = upstream.status().as_u16();
    let times = Arc::new(Mutex::new(Vec::new()));
    lock(&state.relayed).push(times.clone());
    let events = sse_events(
        upstream
            .bytes_stream()
            .map(|r| r.map_err(|e| e.to_string())),
    )
    .inspect(move |e| {
        if e.is_ok() {
            lock(&times).push(Instant::now());
        }
    })
    .boxed();
    let relayed = match fault {
        Fault::CutAfter(n) => events
            .take(n)
            .chain(futures_util::stream::once(async {
                // Let the relayed events reach the worker before the cut.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                Err("cut by the fault proxy".to_owned())
            }))
            .boxed(),
        Fault::Usage { prompt, completion } => {
            let usage = json!({"id": "chatcmpl-usage", "object": "chat.completion.chunk",
                "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}});
            let chunk = Bytes::from(format!("data: {usage}\n\n"));
            events
                .flat_map(move |e| {
                    let done = matches!(&e, Ok(b) if b.starts_with(b"data: [DONE]"));
                    let items = if done {
                        vec![Ok(chunk.clone()), e]
                    } else {
                        vec![e]
                    };
                    futures_util::stream::iter(items)
                })
                .boxed()
        }
        _ => events,
    };
    Response::builder()
        .status(status)
        .header("content-type", "text/event-stream")
        .body(body(relayed))
        .map_err(|e| e.to_string())
}

/// The upstream's bytes regrouped as whole SSE events (each ending in a blank line).
fn sse_events(
    bytes: impl futures_util::Stream<Item = Result<Bytes, String>> + Send + 'static,
) -> futures_util::stream::BoxStream<'static, Result<Bytes, String>> {
    let mut buf: Vec<u8> = Vec::new();
    bytes
        .flat_map(move |chunk| {
            let mut out = Vec::new();
            match chunk {
                Ok(b) => {
                    buf.extend_from_slice(&b);
                    while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                        let event: Vec<u8> = buf.drain(..end + 2).collect();
                        out.push(Ok(Bytes::from(event)));
                    }
                }
                Err(e) => out.push(Err(e)),
            }
            futures_util::stream::iter(out)
        })
        .boxed()
}
