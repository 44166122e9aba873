//! The file routes: streamed uploads (direct, by signed URL, multipart), downloads with ranges
//! and conditional requests, signed download URLs, list, metadata and delete. HTTP only: rows,
//! keys, quota and removal are the domain's (`crate::files`); nothing outside `routes` calls
//! in here.
//!
//! This module holds what several of the handlers share (the public shape of a file, the
//! declared body of a signed or multipart upload, limits) and re-exports the handlers for
//! `routes::dispatch`.

mod download;
mod ingest;
mod meta;
mod multipart;
mod signed;
mod upload;

pub use download::content;
pub use meta::{delete, get, list};
pub use multipart::{
    multipart_abort, multipart_complete, multipart_create, multipart_get, multipart_part,
};
pub use signed::{create_upload_url, download_url, signed_upload};
pub use upload::upload;

use crate::auth::OrgAccess;
use crate::ctx::Ctx;
use crate::files::{self as domain, FileRow};
use edge_core::files as rules;
use edge_core::json::Checks;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

/// How long a direct or signed upload may take before the sweep treats it as abandoned.
const UPLOAD_TTL_S: i64 = 2 * 3600;

/// A file as the API shows it.
fn public(file: &FileRow) -> Value {
    json!({
        "id": file.id, "name": file.name, "size": file.size,
        "content_type": file.content_type, "sha256": file.sha256,
        "uploaded_by": file.uploader_id, "created_at": file.created_at,
    })
}

fn forbidden_url() -> ApiError {
    ApiError::forbidden("This signed URL is invalid, expired or already used.")
}

fn location(org_id: &str, id: &str) -> String {
    format!("/v1/orgs/{org_id}/files/{id}")
}

/// Takes `size` bytes of the organization's storage quota (its plan's).
async fn reserve(cx: &Ctx, access: &OrgAccess, size: u64) -> Result<(), ApiError> {
    let quota = cx.config.limits.plan(access.plan).storage_bytes;
    domain::reserve(&cx.env, &access.org_id, quota, size).await
}

/// The largest file this organization may store in one piece.
fn max_upload(cx: &Ctx, access: &OrgAccess) -> u64 {
    cx.config
        .max_upload_bytes
        .min(cx.config.limits.plan(access.plan).max_upload_bytes)
}

fn declared_length(cx: &Ctx, max: u64) -> Result<u64, ApiError> {
    let header = cx.header("Content-Length");
    rules::declared_length(header.as_deref(), max)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Declared {
    name: String,
    content_type: String,
    #[serde(deserialize_with = "edge_core::json::whole_number")]
    size: u64,
}

impl Declared {
    fn check(self, max: u64) -> Result<Self, ApiError> {
        let name = rules::name(&self.name);
        let content_type = rules::content_type(&self.content_type);
        let mut c = Checks::new();
        if let Err(m) = &name {
            c.check(false, "name", *m);
        }
        if let Err(m) = &content_type {
            c.check(false, "content_type", *m);
        }
        c.finish()?;
        rules::check_size(self.size, max)?;
        Ok(Self {
            name: name.unwrap_or_default(),
            content_type: content_type.unwrap_or_default(),
            size: self.size,
        })
    }
}
