//! A small WebSocket client for the realtime rooms: connect with a bearer or a ticket (a
//! refusal before the upgrade comes back as its HTTP status and body), send text or binary
//! frames, read JSON frames with a deadline, close cleanly or drop the TCP connection.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a frame may take by default.
pub const FRAME_DEADLINE: Duration = Duration::from_secs(10);

/// A refusal before the upgrade: the HTTP status and body.
#[derive(Debug, Clone)]
pub struct Refused {
    pub status: u16,
    pub body: String,
}

impl Refused {
    /// The problem `code` of the body (empty when it is not a problem document).
    pub fn code(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

pub struct Ws {
    inner: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// `ws://…` of `http://…`.
pub fn ws_url(http_url: &str) -> String {
    http_url.replacen("http", "ws", 1)
}

impl Ws {
    /// Opens `url` (`ws://…`), with `Authorization: Bearer <bearer>` when given. The handshake
    /// is written by hand so that a refusal's problem body can be read (the WebSocket library
    /// drops it).
    pub async fn connect(url: &str, bearer: Option<&str>) -> Result<Ws, Refused> {
        let fail = |body: String| Refused { status: 0, body };
        let parsed = reqwest::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| fail("no host".into()))?
            .to_owned();
        let port = parsed.port().unwrap_or(80);
        let target = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let work = async {
            let mut tcp = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| fail(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            let key = tokio_tungstenite::tungstenite::handshake::client::generate_key();
            let mut head = format!(
                "GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n"
            );
            if let Some(b) = bearer {
                head.push_str(&format!("Authorization: Bearer {b}\r\n"));
            }
            head.push_str("\r\n");
            tcp.write_all(head.as_bytes())
                .await
                .map_err(|e| fail(e.to_string()))?;
            // The response head, byte by byte: nothing after it may be consumed (the first
            // frame can follow at once).
            let mut resp = Vec::new();
            while !resp.ends_with(b"\r\n\r\n") {
                let mut byte = [0u8; 1];
                let n = tcp.read(&mut byte).await.map_err(|e| fail(e.to_string()))?;
                if n == 0 || resp.len() > 64 * 1024 {
                    return Err(fail("connection closed during the handshake".into()));
                }
                resp.push(byte[0]);
            }
            let text = String::from_utf8_lossy(&resp).into_owned();
            let status: u16 = text
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if status == 101 {
                let inner = WebSocketStream::from_raw_socket(
                    MaybeTlsStream::Plain(tcp),
                    Role::Client,
                    None,
                )
                .await;
                return Ok(Ws { inner });
            }
            let len: usize = text
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            let mut body = vec![0u8; len.min(1 << 20)];
            let _ = tcp.read_exact(&mut body).await;
            Err(Refused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        };
        tokio::time::timeout(Duration::from_secs(30), work)
            .await
            .unwrap_or_else(|_| Err(fail("connect timed out".into())))
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        self.inner
            .send(Message::text(text))
            .await
            .unwrap_or_else(|e| panic!("send failed: {e}"));
    }

    pub async fn send_json(&mut self, v: &Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.inner
            .send(Message::Binary(Bytes::from(bytes)))
            .await
            .unwrap_or_else(|e| panic!("send failed: {e}"));
    }

    /// The next JSON text frame, or `None` on close or after `deadline`.
    pub async fn next_json_within(&mut self, deadline: Duration) -> Option<Value> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let msg = tokio::time::timeout_at(end, self.inner.next())
                .await
                .ok()??;
            match msg {
                Ok(Message::Text(t)) => {
                    return Some(
                        serde_json::from_str(t.as_str())
                            .unwrap_or_else(|e| panic!("a text frame is not JSON ({e}): {t}")),
                    )
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next JSON frame; panics after [`FRAME_DEADLINE`] or on close.
    pub async fn next_json(&mut self) -> Value {
        self.next_json_within(FRAME_DEADLINE)
            .await
            .expect("a frame within the deadline (the socket closed or stayed silent)")
    }

    /// The next frame of type `kind`, skipping others; panics after `deadline`.
    pub async fn next_of(&mut self, kind: &str, deadline: Duration) -> Value {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            let left = end.saturating_duration_since(tokio::time::Instant::now());
            match self.next_json_within(left).await {
                Some(f) if f["type"] == kind => return f,
                Some(_) => continue,
                None => panic!("no {kind} frame within {deadline:?}"),
            }
        }
    }

    /// Frames until `deadline` passes quietly (for asserting that nothing more comes).
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(f) = self.next_json_within(quiet).await {
            out.push(f);
        }
        out
    }

    /// Waits for the server to close the socket; its close code (`None`: no close frame
    /// before the connection ended, or nothing within `deadline`).
    pub async fn closed_with(&mut self, deadline: Duration) -> Option<u16> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            match tokio::time::timeout_at(end, self.inner.next()).await {
                Err(_) => return None,
                Ok(None) => return None,
                Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_))) => return None,
            }
        }
    }

    /// A clean close (close frame 1000), waiting briefly for the server's answer.
    pub async fn close(mut self) {
        let _ = self
            .inner
            .close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = self.inner.next().await {}
        })
        .await;
    }

    /// Drops the TCP connection without a close frame (an abrupt disconnect).
    pub fn abort(self) {
        if let MaybeTlsStream::Plain(tcp) = self.inner.get_ref() {
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
        }
        drop(self);
    }
}
