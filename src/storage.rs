//! R2 glue: bodies streamed into the `FILES` bucket chunk by chunk (never held whole), hashed
//! on the way, and read back as streams. The rules (keys, sizes, ranges) are
//! `edge_core::files`; this only moves bytes.

use crate::http::OrInternal;
use edge_core::encoding::hex;
use edge_core::ApiError;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use worker::{Bucket, ByteStream, Env, FixedLengthStream, HttpMetadata, Request};

pub fn bucket(env: &Env) -> Result<Bucket, ApiError> {
    env.bucket("FILES").or_internal("R2 binding")
}

/// A request body on its way into R2: counted and hashed as it passes.
pub struct Incoming {
    length: u64,
    seen: Rc<Cell<u64>>,
    hasher: Rc<RefCell<Sha256>>,
    stream: Option<FixedLengthStream>,
}

impl Incoming {
    /// Wraps the body of `req`, which declared `length` bytes.
    pub fn new(req: &mut Request, length: u64) -> Self {
        let seen = Rc::new(Cell::new(0u64));
        let hasher = Rc::new(RefCell::new(Sha256::new()));
        let stream = if length == 0 {
            None
        } else {
            req.stream().ok().map(|body: ByteStream| {
                let (seen, hasher) = (seen.clone(), hasher.clone());
                let counted = body.map(move |chunk| {
                    if let Ok(bytes) = &chunk {
                        seen.set(seen.get() + bytes.len() as u64);
                        hasher.borrow_mut().update(bytes);
                    }
                    chunk
                });
                FixedLengthStream::wrap(counted, length)
            })
        };
        Self {
            length,
            seen,
            hasher,
            stream,
        }
    }

    /// Why a failed transfer failed: the client's body did not match its length (400), or
    /// storage failed (500).
    fn failure(&self, err: worker::Error) -> ApiError {
        let seen = self.seen.get();
        if seen != self.length {
            ApiError::bad_request(format!(
                "The body was {seen} bytes so far but Content-Length said {}; nothing was stored.",
                self.length
            ))
        } else {
            crate::http::internal("R2 stream", err)
        }
    }

    fn sha256(&self) -> String {
        hex(&self.hasher.borrow().clone().finalize())
    }

    /// Streams the body to `key`; returns its lowercase hex SHA-256.
    pub async fn put(
        mut self,
        bucket: &Bucket,
        key: &str,
        content_type: &str,
    ) -> Result<String, ApiError> {
        let meta = HttpMetadata {
            content_type: Some(content_type.to_owned()),
            ..Default::default()
        };
        let result = match self.stream.take() {
            Some(stream) => bucket.put(key, stream).http_metadata(meta).execute().await,
            None if self.length == 0 => {
                bucket
                    .put(key, Vec::<u8>::new())
                    .http_metadata(meta)
                    .execute()
                    .await
            }
            None => return Err(self.failure(worker::Error::RustError("no body".into()))),
        };
        match result {
            Ok(_) if self.seen.get() == self.length => Ok(self.sha256()),
            Ok(_) => Err(self.failure(worker::Error::RustError("length".into()))),
            Err(e) => Err(self.failure(e)),
        }
    }

    /// Streams the body as part `n` of a multipart upload; returns R2's part etag.
    pub async fn put_part(
        mut self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        n: u16,
    ) -> Result<String, ApiError> {
        let upload = bucket
            .resume_multipart_upload(key, upload_id)
            .or_internal("resume multipart upload")?;
        let result = match self.stream.take() {
            Some(stream) => upload.upload_part(n, stream).await,
            None if self.length == 0 => upload.upload_part(n, Vec::<u8>::new()).await,
            None => return Err(self.failure(worker::Error::RustError("no body".into()))),
        };
        match result {
            Ok(part) if self.seen.get() == self.length => Ok(part.etag()),
            Ok(_) => Err(self.failure(worker::Error::RustError("length".into()))),
            Err(e) => Err(self.failure(e)),
        }
    }
}

/// The SHA-256 of a stored object, read as a stream (memory stays flat whatever its size).
pub async fn sha256_of(bucket: &Bucket, key: &str) -> Result<(String, u64), ApiError> {
    let object = bucket
        .get(key)
        .execute()
        .await
        .or_internal("R2 get")?
        .ok_or_else(|| crate::http::internal("R2 get", "object missing after completion"))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    if let Some(body) = object.body() {
        let mut stream = body.stream().or_internal("R2 body")?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.or_internal("R2 read")?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
    }
    Ok((hex(&hasher.finalize()), size))
}

/// Removes an object; a failure is logged (the sweep retries deletions).
pub async fn delete(bucket: &Bucket, key: &str) -> bool {
    match bucket.delete(key).await {
        Ok(()) => true,
        Err(e) => {
            let _ = crate::http::internal("R2 delete", e);
            false
        }
    }
}
