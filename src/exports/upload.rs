//! The R2 side of an export's assembly: the bytes are held back until a whole part is
//! written, so a small export is one `put` and a large one a multipart upload of equal
//! parts (R2 needs every part but the last to be the same size, at least 5 MiB), aborted if
//! the assembly fails half-way.

use crate::storage;
use edge_core::ApiError;
use worker::{Env, HttpMetadata};

/// The object being written: nothing until the first full part, then a multipart upload.
pub(super) struct Upload<'a> {
    bucket: worker::Bucket,
    key: &'a str,
    multipart: Option<(worker::MultipartUpload, Vec<worker::UploadedPart>)>,
}

fn metadata() -> HttpMetadata {
    HttpMetadata {
        content_type: Some("application/json".into()),
        ..Default::default()
    }
}

impl<'a> Upload<'a> {
    pub(super) fn new(env: &Env, key: &'a str) -> Result<Self, ApiError> {
        Ok(Upload {
            bucket: storage::bucket(env)?,
            key,
            multipart: None,
        })
    }

    pub(super) async fn part(&mut self, bytes: Vec<u8>) -> Result<(), ApiError> {
        if self.multipart.is_none() {
            let upload = self
                .bucket
                .create_multipart_upload(self.key.to_owned())
                .http_metadata(metadata())
                .execute()
                .await
                .map_err(|e| crate::http::internal("R2 create multipart (export)", e))?;
            self.multipart = Some((upload, Vec::new()));
        }
        if let Some((upload, parts)) = &mut self.multipart {
            let n = u16::try_from(parts.len() + 1)
                .map_err(|_| crate::http::internal("export", "too many parts"))?;
            let part = upload.upload_part(n, bytes).await;
            match part {
                Ok(p) => parts.push(p),
                Err(e) => {
                    let _ = upload.abort().await;
                    self.multipart = None;
                    return Err(crate::http::internal("R2 upload part (export)", e));
                }
            }
        }
        Ok(())
    }

    /// Gives up an open multipart upload (its parts would otherwise linger).
    pub(super) async fn abort(&mut self) {
        if let Some((upload, _)) = self.multipart.take() {
            let _ = upload.abort().await;
        }
    }

    pub(super) async fn finish(self, last: Vec<u8>) -> Result<(), ApiError> {
        match self.multipart {
            None => self
                .bucket
                .put(self.key.to_owned(), last)
                .http_metadata(metadata())
                .execute()
                .await
                .map(|_| ())
                .map_err(|e| crate::http::internal("R2 put (export)", e)),
            Some((upload, mut parts)) => {
                if !last.is_empty() {
                    let n = u16::try_from(parts.len() + 1)
                        .map_err(|_| crate::http::internal("export", "too many parts"))?;
                    match upload.upload_part(n, last).await {
                        Ok(p) => parts.push(p),
                        Err(e) => {
                            let _ = upload.abort().await;
                            return Err(crate::http::internal("R2 upload part (export)", e));
                        }
                    }
                }
                upload
                    .complete(parts)
                    .await
                    .map(|_| ())
                    .map_err(|e| crate::http::internal("R2 complete (export)", e))
            }
        }
    }
}
