//! Headless Chromium (Debian's `chromium`, installed by `scripts/setup`) driven over the
//! DevTools protocol with the same WebSocket client the rooms tests use: open a page, evaluate
//! JavaScript in it. Killed with its process group on drop.

use crate::process::Group;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub struct Chromium {
    _group: Group,
    _profile: tempfile::TempDir,
    page: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next_id: u64,
}

impl Chromium {
    /// Starts Chromium on `url` with a fresh profile and attaches to its page.
    pub async fn open(url: &str) -> Result<Chromium, String> {
        let profile = tempfile::Builder::new()
            .prefix("edge-chromium-")
            .tempdir()
            .map_err(|e| format!("profile dir: {e}"))?;
        let mut cmd = Command::new("chromium");
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        let group = Group::spawn(cmd).map_err(|e| format!("chromium: {e} (run scripts/setup)"))?;
        // Chromium writes the port it chose into the profile.
        let port_file = profile.path().join("DevToolsActivePort");
        let port = crate::eventually("chromium's DevTools port", Duration::from_secs(30), || {
            let f = port_file.clone();
            async move {
                std::fs::read_to_string(&f)
                    .ok()
                    .and_then(|s| s.lines().next().and_then(|l| l.trim().parse::<u16>().ok()))
            }
        })
        .await;
        let list_url = format!("http://127.0.0.1:{port}/json/list");
        let ws = crate::eventually("chromium's page target", Duration::from_secs(30), || {
            let u = list_url.clone();
            async move {
                let list: Value = reqwest::Client::builder()
                    .no_proxy()
                    .build()
                    .ok()?
                    .get(&u)
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                list.as_array()?
                    .iter()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned))
            }
        })
        .await;
        let (page, _) = tokio_tungstenite::connect_async(ws.as_str())
            .await
            .map_err(|e| format!("DevTools socket: {e}"))?;
        Ok(Chromium {
            _group: group,
            _profile: profile,
            page,
            next_id: 1,
        })
    }

    /// Sends one DevTools command to the page (e.g. `WebAuthn.addVirtualAuthenticator`) and
    /// returns its `result`, or the protocol's error.
    pub async fn send(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let call = json!({"id": id, "method": method, "params": params});
        self.page
            .send(Message::text(call.to_string()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(20), self.page.next())
                .await
                .map_err(|_| "DevTools answer timed out".to_owned())?
                .ok_or("DevTools socket closed")?
                .map_err(|e| e.to_string())?;
            let Message::Text(t) = msg else { continue };
            let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}"));
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// Evaluates `expression` in the page; its value (by value, awaited if a promise).
    pub async fn eval(&mut self, expression: &str) -> Result<Value, String> {
        let result = self
            .send(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(ex) = result.get("exceptionDetails") {
            return Err(format!("page exception: {ex}"));
        }
        Ok(result["result"]["value"].clone())
    }

    /// Polls `expression` until it is `true` (or the deadline passes: false).
    pub async fn wait_for(&mut self, expression: &str, deadline: Duration) -> bool {
        let end = tokio::time::Instant::now() + deadline;
        while tokio::time::Instant::now() < end {
            if self.eval(expression).await.ok() == Some(Value::Bool(true)) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        false
    }
}
