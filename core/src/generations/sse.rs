//! The upstream stream: Server-Sent Events (`text/event-stream`) as sent by an
//! OpenAI-compatible Chat Completions endpoint with `stream: true`, parsed incrementally from
//! the bytes as they arrive, and each `data:` payload read as a `chat.completion.chunk`.

use serde_json::Value;

/// Incremental SSE decoder: feed it bytes in whatever pieces the network gives, take out the
/// `data` of each complete event. Comments (`:`), `event:`, `id:` and `retry:` lines are
/// ignored; multi-line `data` is joined with `\n` as the SSE spec says.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    data: Option<String>,
}

impl SseDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// The data of every event completed by `bytes`, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8_lossy(&line).into_owned();
            self.line(&line, &mut out);
        }
        out
    }

    /// The last event if the stream ended without its blank line.
    pub fn finish(&mut self) -> Option<String> {
        if !self.buf.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            let mut out = Vec::new();
            self.line(rest.trim_end_matches('\r'), &mut out);
            if let Some(d) = out.pop() {
                return Some(d);
            }
        }
        self.data.take()
    }

    fn line(&mut self, line: &str, out: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(d) = self.data.take() {
                out.push(d);
            }
            return;
        }
        if line.starts_with(':') {
            return;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }
}

/// Token counts as the upstream reports them (`usage` of the last chunk, sent when the request
/// asks for `stream_options.include_usage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// What one `data:` payload says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Text to append (may be empty: a role-only or finish-only chunk), and the reason the
    /// model stopped if this chunk says so.
    Delta {
        text: String,
        finish_reason: Option<String>,
        usage: Option<Usage>,
    },
    /// `[DONE]`: the stream is complete.
    Done,
    /// An in-stream error object (`{"error":{…}}`), as some servers send with status 200.
    Error(String),
    /// Not JSON, or not a chunk: skipped, but counted so a garbage stream can be refused.
    Unreadable,
}

/// Reads one event's data.
pub fn parse_chunk(data: &str) -> Chunk {
    let data = data.trim();
    if data == "[DONE]" {
        return Chunk::Done;
    }
    let Ok(v) = serde_json::from_str::<Value>(data) else {
        return Chunk::Unreadable;
    };
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or_else(|| err.to_string());
        return Chunk::Error(msg.chars().take(300).collect());
    }
    let usage = v.get("usage").and_then(|u| {
        let n = |k: &str| u.get(k).and_then(Value::as_u64);
        match (n("prompt_tokens"), n("completion_tokens")) {
            (Some(p), Some(c)) => Some(Usage {
                prompt_tokens: p,
                completion_tokens: c,
            }),
            _ => None,
        }
    });
    let Some(choices) = v.get("choices").and_then(Value::as_array) else {
        return match usage {
            Some(_) => Chunk::Delta {
                text: String::new(),
                finish_reason: None,
                usage,
            },
            None => Chunk::Unreadable,
        };
    };
    let first = choices.first();
    let text = first
        .and_then(|c| c.pointer("/delta/content"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let finish_reason = first
        .and_then(|c| c.get("finish_reason"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Chunk::Delta {
        text,
        finish_reason,
        usage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let stream = "data: {\"a\":1}\n\n: comment\n\ndata: x\ndata: y\n\r\ndata: [DONE]\n\n";
        for cut in 0..stream.len() {
            let mut d = SseDecoder::new();
            let mut got = d.push(&stream.as_bytes()[..cut]);
            got.extend(d.push(&stream.as_bytes()[cut..]));
            assert_eq!(got, vec!["{\"a\":1}", "x\ny", "[DONE]"], "cut at {cut}");
        }
    }

    #[test]
    fn unterminated_last_event_is_kept() {
        let mut d = SseDecoder::new();
        assert!(d.push(b"data: tail").is_empty());
        assert_eq!(d.finish().as_deref(), Some("tail"));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn event_and_id_lines_are_ignored() {
        let mut d = SseDecoder::new();
        let got = d.push(b"event: message\nid: 7\nretry: 10\ndata:no-space\n\n");
        assert_eq!(got, vec!["no-space"]);
    }

    #[test]
    fn chunks_are_read() {
        let c = parse_chunk(
            r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#,
        );
        assert_eq!(
            c,
            Chunk::Delta {
                text: "Hel".into(),
                finish_reason: None,
                usage: None
            }
        );
        let c = parse_chunk(
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#,
        );
        assert_eq!(
            c,
            Chunk::Delta {
                text: String::new(),
                finish_reason: None,
                usage: Some(Usage {
                    prompt_tokens: 5,
                    completion_tokens: 7
                })
            }
        );
        let c = parse_chunk(r#"{"choices":[{"delta":{},"finish_reason":"length"}]}"#);
        assert!(matches!(c, Chunk::Delta { finish_reason: Some(ref r), .. } if r == "length"));
        assert_eq!(parse_chunk(" [DONE] "), Chunk::Done);
        assert_eq!(
            parse_chunk(r#"{"error":{"message":"overloaded"}}"#),
            Chunk::Error("overloaded".into())
        );
        assert_eq!(parse_chunk("not json"), Chunk::Unreadable);
        assert_eq!(parse_chunk(r#"{"hello":1}"#), Chunk::Unreadable);
    }
}
