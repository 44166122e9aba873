//! The request body, as the door hands it to a handler: read as JSON or bytes without ever
//! holding more than the limit (the declared length is checked before reading, and a body of
//! unknown length is read as a stream and refused as soon as it passes the limit). Only the
//! handlers that stream bodies (files, the origin proxy, room upgrades) take the raw request.

use crate::http::OrInternal;
use edge_core::json::{self, MAX_JSON_BODY};
use edge_core::ApiError;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use worker::Request;

/// The body of the request, with the request it came in (for the streaming handlers).
pub struct Body(Request);

impl Body {
    pub fn new(req: Request) -> Self {
        Body(req)
    }

    /// Reads and decodes a JSON body: see [`read_json`].
    pub async fn json<T: DeserializeOwned>(&mut self) -> Result<T, ApiError> {
        read_json(&mut self.0).await
    }

    /// The raw bytes of a JSON body: see [`read_json_bytes`].
    pub async fn json_bytes(&mut self) -> Result<Vec<u8>, ApiError> {
        read_json_bytes(&mut self.0).await
    }

    /// The whole body, refusing with 413 once it exceeds `limit` bytes.
    pub async fn limited(&mut self, limit: usize) -> Result<Vec<u8>, ApiError> {
        read_limited(&mut self.0, limit).await
    }

    /// The request itself, for handlers that stream its body or hand it on.
    pub fn raw(&self) -> &Request {
        &self.0
    }
}

/// Reads and decodes a JSON body: 415 if it is not JSON, 413 over 1 MiB (before parsing),
/// 400 with field errors if it does not fit `T` (unknown members included).
async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    json::decode(&read_json_bytes(req).await?)
}

/// The raw bytes of a JSON body (media type and size checked), for handlers that need the
/// bytes themselves (idempotency fingerprints) before decoding them with `json::decode`.
async fn read_json_bytes(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let content_type = req.headers().get("Content-Type").ok().flatten();
    if !json::is_json_media_type(content_type.as_deref()) {
        return Err(json::not_json());
    }
    read_limited(req, MAX_JSON_BODY).await
}

/// The whole body, refusing with 413 once it exceeds `limit` bytes.
async fn read_limited(req: &mut Request, limit: usize) -> Result<Vec<u8>, ApiError> {
    if let Some(declared) = req.headers().get("Content-Length").ok().flatten() {
        let n: u64 = declared
            .trim()
            .parse()
            .map_err(|_| ApiError::bad_request("Content-Length is not a number."))?;
        if n > limit as u64 {
            return Err(json::too_large(limit));
        }
    }
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.or_internal("read request body")?;
        if out.len() + chunk.len() > limit {
            return Err(json::too_large(limit));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
