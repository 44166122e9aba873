//! What a [`Worker`](super::Worker) starts with.

use crate::origin::Origin;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Entries given with [`WorkerOptions::var`] override the generated secrets and the test
/// settings ([`crate::secrets::test_vars`]).
#[derive(Debug, Clone, Default)]
pub struct WorkerOptions {
    pub(super) origin_url: Option<String>,
    pub(super) vars: BTreeMap<String, String>,
    pub(super) persist_dir: Option<PathBuf>,
}

impl WorkerOptions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends jobs and proxied calls to `origin` (`ORIGIN_URL`).
    pub fn origin(mut self, origin: &Origin) -> Self {
        self.origin_url = Some(origin.url());
        self
    }

    /// Sends jobs and proxied calls to `url` (an origin the test runs itself, e.g. the demo
    /// origin script).
    pub fn origin_at(mut self, url: impl Into<String>) -> Self {
        self.origin_url = Some(url.into());
        self
    }

    /// The `ORIGIN_URL` given with [`WorkerOptions::origin`], if any.
    pub fn origin_url(&self) -> Option<&str> {
        self.origin_url.as_deref()
    }

    /// Adds or overrides one env-file entry (a secret or a `[vars]` value).
    pub fn var(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    /// Sets an env-file entry unless one was given already.
    pub fn var_default(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.vars.entry(key.into()).or_insert_with(|| value.into());
        self
    }

    /// Uses `dir` as the `--persist-to` state directory instead of a fresh one.
    pub fn persist_to(mut self, dir: impl Into<PathBuf>) -> Self {
        self.persist_dir = Some(dir.into());
        self
    }
}
