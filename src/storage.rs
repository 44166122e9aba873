//! R2 glue: request bodies go to the `FILES` bucket as streams and are never held whole.
//!
//! The bytes never enter the wasm instance: the body is piped, natively, through a
//! `FixedLengthStream` of the declared length into R2, and the stored object is then hashed by
//! piping it back out of R2 into a native `crypto.DigestStream` (SHA-256). Backpressure runs
//! end to end, so memory stays flat whatever the size. Measured against hashing on the way in
//! (a JS `TransformStream` calling into wasm per chunk): twice the throughput (scripts/bench).
//! The rules (keys, sizes, ranges) are `edge_core::files`.

use crate::http::OrInternal;
use edge_core::encoding::hex;
use edge_core::ApiError;
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Bucket, Env, Request};

pub fn bucket(env: &Env) -> Result<Bucket, ApiError> {
    env.bucket("FILES").or_internal("R2 binding")
}

fn js_err(context: &str, e: JsValue) -> ApiError {
    let text = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|| format!("{e:?}"));
    crate::http::internal(context, text)
}

pub(crate) fn get(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(name))
}

/// `target.name(...args)`.
pub(crate) fn call(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(target, name)?.dyn_into()?;
    f.apply(target, &args.iter().collect::<Array>())
}

/// `new globalThis[path…](...args)`.
pub(crate) fn construct(path: &[&str], args: &[JsValue]) -> Result<JsValue, JsValue> {
    let mut ctor: JsValue = js_sys::global().into();
    for p in path {
        ctor = get(&ctor, p)?;
    }
    let ctor: Function = ctor.dyn_into()?;
    Reflect::construct(&ctor, &args.iter().collect::<Array>())
}

pub(crate) async fn wait(promise: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(Promise::from(promise)).await
}

/// A new native SHA-256 digest stream and the writer that feeds it.
fn digest_stream() -> Result<(JsValue, JsValue), JsValue> {
    let digest = construct(&["crypto", "DigestStream"], &[JsValue::from_str("SHA-256")])?;
    let writer = call(&digest, "getWriter", &[])?;
    Ok((digest, writer))
}

async fn digest_hex(digest: &JsValue) -> Result<String, JsValue> {
    let buffer = wait(get(digest, "digest")?).await?;
    Ok(hex(&Uint8Array::new(&buffer).to_vec()))
}

/// A request body on its way into R2, of a fixed, declared length.
pub struct Incoming {
    length: u64,
    /// The stream to hand to R2 (`None` for an empty body).
    readable: Option<JsValue>,
}

impl Incoming {
    /// Wraps the body of `req`, which declared `length` bytes: the body piped (natively)
    /// through a `FixedLengthStream`, which R2 needs to know the length up front and which
    /// fails the stream if the body ends early.
    pub fn new(req: &Request, length: u64) -> Result<Self, ApiError> {
        let body = match (req.inner().body(), length) {
            (_, 0) | (None, _) => {
                return Ok(Self {
                    length,
                    readable: None,
                })
            }
            (Some(body), _) => body,
        };
        let fixed = construct(&["FixedLengthStream"], &[JsValue::from_f64(length as f64)])
            .map_err(|e| js_err("FixedLengthStream", e))?;
        let readable =
            call(&body, "pipeThrough", &[fixed]).map_err(|e| js_err("upload stream", e))?;
        Ok(Self {
            length,
            readable: Some(readable),
        })
    }

    /// Why a failed transfer failed: a body that ended before its length is the client's
    /// fault (400); anything else is storage failing (500).
    fn failure(&self, err: JsValue) -> ApiError {
        let text = err
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let short = self.readable.is_none()
            || text.contains("expected bytes")
            || text.contains("length")
            || text.contains("disconnected")
            || text.contains("connection lost")
            || text.contains("aborted");
        if short {
            ApiError::bad_request(format!(
                "The body ended before the {} bytes its Content-Length announced; nothing was stored.",
                self.length
            ))
        } else {
            js_err("R2 stream", err)
        }
    }

    fn value(&self) -> JsValue {
        self.readable
            .clone()
            .unwrap_or_else(|| Uint8Array::new_with_length(0).into())
    }

    /// Streams the body to `key`, then hashes what R2 stored by streaming it back through a
    /// native SHA-256 digest (faster than hashing on the way in, which needs a JS transform
    /// per chunk, and a check of what was actually stored). Returns the lowercase hex SHA-256.
    pub async fn put(
        self,
        bucket: &Bucket,
        key: &str,
        content_type: &str,
    ) -> Result<String, ApiError> {
        if self.length > 0 && self.readable.is_none() {
            return Err(self.failure(JsValue::NULL));
        }
        let options = Object::new();
        let meta = Object::new();
        let set = |o: &Object, k: &str, v: JsValue| Reflect::set(o, &k.into(), &v).map(|_| ());
        set(&meta, "contentType", content_type.into()).map_err(|e| js_err("options", e))?;
        set(&options, "httpMetadata", meta.into()).map_err(|e| js_err("options", e))?;
        let put = call(
            bucket.as_ref(),
            "put",
            &[key.into(), self.value(), options.into()],
        );
        if let Err(e) = async { wait(put?).await }.await {
            return Err(self.failure(e));
        }
        let (sha, size) = sha256_of(bucket, key).await?;
        if size != self.length {
            return Err(crate::http::internal(
                "R2 put",
                "stored size differs from Content-Length",
            ));
        }
        Ok(sha)
    }

    /// Streams the body as part `n` of a multipart upload; returns R2's part etag.
    pub async fn put_part(
        self,
        bucket: &Bucket,
        key: &str,
        upload_id: &str,
        n: u16,
    ) -> Result<String, ApiError> {
        if self.length > 0 && self.readable.is_none() {
            return Err(self.failure(JsValue::NULL));
        }
        let upload = call(
            bucket.as_ref(),
            "resumeMultipartUpload",
            &[key.into(), upload_id.into()],
        )
        .map_err(|e| js_err("resume multipart upload", e))?;
        let part = async {
            let p = call(&upload, "uploadPart", &[JsValue::from(n), self.value()])?;
            wait(p).await
        }
        .await;
        match part {
            Ok(part) => get(&part, "etag")
                .ok()
                .and_then(|e| e.as_string())
                .ok_or_else(|| crate::http::internal("uploadPart", "no etag")),
            Err(e) => Err(self.failure(e)),
        }
    }
}

/// The SHA-256 and size of a stored object, hashed natively as it streams out of R2.
pub async fn sha256_of(bucket: &Bucket, key: &str) -> Result<(String, u64), ApiError> {
    let result = async {
        let object = wait(call(bucket.as_ref(), "get", &[key.into()])?).await?;
        if object.is_null() || object.is_undefined() {
            return Err(JsValue::from_str("object missing after completion"));
        }
        let size = get(&object, "size")?.as_f64().unwrap_or(0.0) as u64;
        let (digest, writer) = digest_stream()?;
        // The writer is only needed for a body-less object; pipeTo takes the stream itself.
        call(&writer, "releaseLock", &[])?;
        let body = get(&object, "body")?;
        wait(call(&body, "pipeTo", std::slice::from_ref(&digest))?).await?;
        Ok((digest_hex(&digest).await?, size))
    }
    .await;
    result.map_err(|e| js_err("hash stored object", e))
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
