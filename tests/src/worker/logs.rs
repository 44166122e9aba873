//! What the worker (and wrangler) printed: the raw log and the structured JSON lines.

use super::Worker;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

impl Worker {
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything wrangler and the worker printed so far (all runs, restarts included).
    pub fn logs(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// The JSON objects logged so far, one per line (wrangler may wrap a line in colour codes).
    pub fn log_records(&self) -> Vec<Value> {
        self.logs()
            .lines()
            .filter_map(|line| {
                let json = &line[line.find('{')?..=line.rfind('}')?];
                serde_json::from_str::<Value>(json)
                    .ok()
                    .filter(Value::is_object)
            })
            .collect()
    }

    /// Waits (≤ 10 s) for the access-log record of `request_id`: the JSON line carrying that
    /// `request_id` and a `status`.
    pub async fn log_record(&self, request_id: &str) -> Value {
        let what = format!("a log line with request_id {request_id}");
        crate::eventually(&what, Duration::from_secs(10), || async {
            self.log_records()
                .into_iter()
                .find(|r| r["request_id"] == request_id && r.get("status").is_some())
        })
        .await
    }
}
