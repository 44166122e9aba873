//! A stand-in for the customer's backend on 127.0.0.1: it records every request and answers
//! from per-key scripts. The key is the request's `X-Test-Key` header, its `test_key` query
//! parameter or, in a job delivery (`{"id","type","org_id","attempt","source","payload":{…}}`),
//! `payload.test_key`. The suite runs two: the origin, and a separate webhook receiver.

mod server;

use bytes::Bytes;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This status, empty body.
    Status(u16),
    /// This status, this JSON body.
    Json(u16, Value),
    /// Waits this many milliseconds, then answers (past the worker's timeout, to test it).
    Slow(u64, Box<Answer>),
    /// Answers like the inner answer, with these extra response headers.
    Headers(Vec<(String, String)>, Box<Answer>),
}

impl Answer {
    pub fn slow(ms: u64, then: Answer) -> Answer {
        Answer::Slow(ms, Box::new(then))
    }

    /// `then` with the extra response headers `headers`.
    pub fn with_headers(headers: &[(&str, &str)], then: Answer) -> Answer {
        let headers = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        Answer::Headers(headers, Box::new(then))
    }

    /// A `status` redirect (e.g. 302) to `location`, empty body.
    pub fn redirect(status: u16, location: &str) -> Answer {
        Answer::with_headers(&[("location", location)], Answer::Status(status))
    }
}

/// A request the origin received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Names in lowercase, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub at: SystemTime,
    pub key: Option<String>,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics (showing it) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "origin got a non-JSON body ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

#[derive(Default)]
struct State {
    scripts: Mutex<HashMap<String, (Vec<Answer>, usize)>>,
    requests: Mutex<Vec<Recorded>>,
    arrived: Notify,
}

impl State {
    /// The next scripted answer for `key` (the last one repeats); default 200 `{"ok":true}`.
    fn next_answer(&self, key: Option<&str>) -> Answer {
        let mut scripts = self.scripts.lock().unwrap_or_else(|e| e.into_inner());
        match key.and_then(|k| scripts.get_mut(k)) {
            Some((answers, served)) if !answers.is_empty() => {
                let answer = answers[(*served).min(answers.len() - 1)].clone();
                *served += 1;
                answer
            }
            _ => Answer::Json(200, json!({"ok": true})),
        }
    }
}

/// The running origin server; stops on drop.
pub struct Origin {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Origin {
    /// Listens on a free loopback port; must be called inside a Tokio runtime.
    pub async fn start() -> std::io::Result<Origin> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let task = tokio::spawn(server::serve(listener, state.clone()));
        Ok(Origin { addr, state, task })
    }

    /// `127.0.0.1:<port>` (an `OUTBOUND_ALLOW_HOSTS` entry, for a webhook receiver).
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>` (what `ORIGIN_URL` is set to).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers requests with `key` from `answers`, in order, the last one repeating.
    pub fn script(&self, key: &str, answers: Vec<Answer>) {
        let mut scripts = self.state.scripts.lock().unwrap_or_else(|e| e.into_inner());
        scripts.insert(key.to_owned(), (answers, 0));
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The requests received so far carrying `key`, in arrival order.
    pub fn requests_for(&self, key: &str) -> Vec<Recorded> {
        let mut all = self.requests();
        all.retain(|r| r.key.as_deref() == Some(key));
        all
    }

    /// Waits until at least `n` requests with `key` arrived and returns them; panics after
    /// `timeout` saying how many came.
    pub async fn wait_for(&self, key: &str, n: usize, timeout: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let seen = self.requests_for(key);
            if seen.len() >= n {
                return seen;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "origin: {} request(s) with key {key} after {timeout:?}, expected {n}",
                    seen.len()
                );
            }
        }
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests;
