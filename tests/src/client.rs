//! HTTP helpers over reqwest for plain HTTP on loopback: [`Api`] builds requests against a
//! worker, [`SendExt::reply`] sends one and reads the whole answer into a [`Reply`].

use crate::problem::Problem;
use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

/// One connection pool for the whole process (no proxies: everything is on loopback).
fn http() -> &'static reqwest::Client {
    static HTTP: OnceLock<reqwest::Client> = OnceLock::new();
    HTTP.get_or_init(|| {
        reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client")
    })
}

/// Requests against one base URL.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
}

impl Api {
    pub fn new(base_url: impl Into<String>) -> Api {
        Api {
            base: base_url.into(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        http().request(method, self.url(path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    /// `POST` with a JSON body (`Content-Type: application/json`).
    pub fn post_json(&self, path: &str, body: &impl Serialize) -> RequestBuilder {
        self.request(Method::POST, path).json(body)
    }

    /// `POST` with raw bytes and the given content type.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> RequestBuilder {
        self.request(Method::POST, path)
            .header("content-type", content_type)
            .body(body)
    }
}

/// A whole response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    /// The first value of header `name`, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`, split at commas, trimmed.
    pub fn header_tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics (showing status and body) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "expected a JSON body ({e}); got {}: {}",
                self.status,
                self.text()
            )
        })
    }

    /// Panics (showing the body) unless the status is `status`.
    pub fn expect_status(&self, status: u16) -> &Reply {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }

    /// The problem document; panics unless this is a well-formed `application/problem+json`.
    pub fn problem(&self) -> Problem {
        Problem::from_reply(self)
    }

    /// Asserts status `status` and problem code `code`, returns the problem.
    pub fn expect_problem(&self, status: u16, code: &str) -> Problem {
        self.expect_status(status);
        let problem = self.problem();
        assert_eq!(problem.code, code, "problem code; body: {}", self.text());
        problem
    }
}

/// Sending a request and reading the whole answer.
pub trait SendExt {
    /// Sends the request and reads the whole response; panics on a transport error.
    fn reply(self) -> impl Future<Output = Reply> + Send;
}

impl SendExt for RequestBuilder {
    async fn reply(self) -> Reply {
        // Every credential sent is remembered for the log scan at teardown.
        let (client, req) = self.build_split();
        let req = req.unwrap_or_else(|e| panic!("request failed: {e}"));
        crate::credentials::note_headers(req.headers());
        crate::credentials::note_url(req.url().as_str());
        if let Some(body) = req.body().and_then(|b| b.as_bytes()) {
            crate::credentials::note_body(body);
        }
        let resp = client
            .execute(req)
            .await
            .unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("reading the body of a {status} failed: {e}"));
        // And every credential handed out.
        crate::credentials::note_headers(&headers);
        crate::credentials::note_body(&body);
        Reply {
            status,
            headers,
            body,
        }
    }
}
