//! Realtime rooms: room names, connection tickets, the client frame protocol, presence
//! counting and close codes. The `ROOM` Durable Object and the worker only translate between
//! these decisions and WebSockets / HTTP; everything here is pure and tested natively.
//!
//! Protocol (JSON text frames): the client sends `{"type":"message","data":…}` (data at most
//! [`DATA_MAX_BYTES`] as JSON) or `{"type":"ping"}`; anything else gets an `error` frame and
//! the socket stays open.

use crate::policy::{Action, Role};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The JSON of a message's `data`, at most 16 KiB.
pub const DATA_MAX_BYTES: usize = 16 * 1024;
/// A text frame longer than this is refused without being parsed.
pub const FRAME_MAX_BYTES: usize = DATA_MAX_BYTES + 1024;
/// Messages kept per room and sent as `history` in `welcome`.
pub const HISTORY: usize = 50;
/// A ticket is good for this long, once.
pub const TICKET_TTL_SECONDS: i64 = 60;
/// The sealed-token purpose of tickets.
pub const TICKET_PURPOSE: &str = "room-ticket";
/// Close code: the socket's credential was revoked (its session: logout, password reset,
/// refresh-token reuse; or its API key).
pub const CLOSE_SESSION_REVOKED: u16 = 4001;
/// Close code: the user's role changed; reconnecting gets the new rights.
pub const CLOSE_ROLE_CHANGED: u16 = 4005;
/// The tag that selects every socket of a room (closing a deleted organization's rooms).
pub const EVERY_SOCKET: &str = "*";
/// Close code: the user is no longer a member of the organization (or it was deleted).
pub const CLOSE_MEMBERSHIP_REMOVED: u16 = 4003;
/// Close code: the socket's credential expired (an API key reached its `expires_at`).
pub const CLOSE_CREDENTIAL_EXPIRED: u16 = 4002;
/// Close code: what the room is about is gone (the document of a `doc:{id}` room was deleted).
pub const CLOSE_ROOM_GONE: u16 = 4004;
/// The room that carries every job's status (`job.updated`).
pub const JOBS_ROOM: &str = "jobs";

/// A checked room name: `[A-Za-z0-9_:.-]{1,96}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomName(String);

impl RoomName {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = (1..=96).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'.' | b'-'));
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The document id of a `doc:{id}` room, whose access follows the document's read rights.
    pub fn document_id(&self) -> Option<&str> {
        self.0.strip_prefix("doc:")
    }

    /// What joining this room (a ticket, a connect, its presence) needs: `rooms:join` always,
    /// and the read right of the data the room carries: the jobs read right for `jobs` (every
    /// job's status, the policy of `GET …/jobs`), the documents read right for `doc:{id}`.
    pub fn required_actions(&self) -> Vec<Action> {
        let mut needed = vec![Action::RoomsJoin];
        if self.0 == JOBS_ROOM {
            needed.push(Action::JobsRead);
        }
        if self.document_id().is_some() {
            needed.push(Action::DocumentsRead);
        }
        needed
    }
}

/// Whether a socket's credential has expired at `now_ms` (unix milliseconds).
pub fn expired(id: &Identity, now_ms: i64) -> bool {
    id.expires_at.is_some_and(|e| e <= now_ms)
}

/// The earliest credential expiry among live sockets: when the room must wake up to close.
pub fn next_expiry<'a>(live: impl IntoIterator<Item = &'a Identity>) -> Option<i64> {
    live.into_iter()
        .filter(|i| !i.gone)
        .filter_map(|i| i.expires_at)
        .min()
}

/// A server-side event after which the room's sockets are closed, with the close code and
/// reason: the deletion of a `doc:{id}` room's document.
pub fn closes_room(event: &Value) -> Option<(u16, &'static str)> {
    (event["type"] == "document.deleted").then_some((CLOSE_ROOM_GONE, "document deleted"))
}

/// What a ticket carries: who it was issued to and for which room, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket's own id (spent once, remembered by the room until `exp`).
    pub id: String,
    pub org: String,
    pub room: String,
    pub user: String,
    pub session: String,
    /// How the session's user authenticated, as its access token said (an organization that
    /// requires a second factor checks it again on connect).
    #[serde(default)]
    pub authn: crate::mfa::Authn,
    /// Unix seconds.
    pub exp: i64,
}

impl crate::sealed::Expiring for Ticket {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Ticket {
    /// Whether this ticket opens `room` of `org` (a ticket is bound to one room).
    pub fn is_for(&self, org: &str, room: &RoomName) -> bool {
        self.org == org && self.room == room.as_str()
    }
}

/// Who a socket is: kept in the socket's attachment, so it survives hibernation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// This connection's id (the room-connection registry key).
    pub conn: String,
    pub org: String,
    pub room: String,
    /// A user id, or an API key id for a key.
    pub user_id: String,
    pub name: String,
    /// `None` for an API key.
    pub role: Option<Role>,
    /// The session of a user's access token; `None` for an API key.
    pub session: Option<String>,
    pub can_send: bool,
    /// When the credential stops being valid (an API key's `expires_at`, unix milliseconds):
    /// the room closes the socket then with [`CLOSE_CREDENTIAL_EXPIRED`].
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// Set once the server has closed the socket (so late close events change nothing).
    #[serde(default)]
    pub gone: bool,
}

impl Identity {
    /// The public view (`you` in `welcome`).
    pub fn you(&self) -> Value {
        json!({
            "user_id": self.user_id, "name": self.name,
            "role": self.role.map(Role::as_str), "can_send": self.can_send,
        })
    }

    pub fn member(&self) -> Value {
        json!({"user_id": self.user_id, "name": self.name})
    }

    /// The socket tags: by user and by session, for closing them from outside.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = vec![user_tag(&self.user_id)];
        if let Some(s) = &self.session {
            tags.push(session_tag(s));
        }
        tags
    }
}

pub fn user_tag(user_id: &str) -> String {
    format!("u:{user_id}")
}

pub fn session_tag(session_id: &str) -> String {
    format!("s:{session_id}")
}

/// A frame from a client, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    Message(Value),
    Ping,
}

/// A refused frame: sent back as `{"type":"error","code":…,"detail":…}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameError {
    pub code: &'static str,
    pub detail: &'static str,
}

impl FrameError {
    pub const BINARY: FrameError = FrameError {
        code: "unsupported_frame",
        detail: "Binary frames are not supported; send JSON text frames.",
    };
    pub const FORBIDDEN: FrameError = FrameError {
        code: "forbidden",
        detail: "Your role in this organization cannot send messages (viewers are read-only).",
    };

    pub fn frame(&self) -> String {
        json!({"type": "error", "code": self.code, "detail": self.detail}).to_string()
    }
}

/// Messages one user may post to one room per [`SEND_WINDOW_SECONDS`] (all of the user's
/// sockets together, so more tabs buy no more), unless `ROOM_MESSAGES_PER_WINDOW` says
/// otherwise. A chat never gets near it; a runaway client or a flood does.
pub const SEND_LIMIT: u32 = 200;
pub const SEND_WINDOW_SECONDS: u32 = 10;

/// Whether a user who has `state` in this room may post one more message now, and the
/// window to remember. Refused: the `error` frame to send back (`rate_limited`, with the
/// seconds until the window ends).
pub fn may_post(
    state: Option<crate::limits::Window>,
    now_ms: i64,
    limit: u32,
) -> (Result<(), String>, crate::limits::Window) {
    let (d, w) = crate::limits::check(state, now_ms, limit, SEND_WINDOW_SECONDS, 1);
    if d.allowed {
        (Ok(()), w)
    } else {
        let frame = json!({
            "type": "error", "code": "rate_limited",
            "detail": format!("At most {limit} messages per {SEND_WINDOW_SECONDS} s per user in a room; this one was not posted."),
            "retry_after": d.reset,
        });
        (Err(frame.to_string()), w)
    }
}

#[derive(Deserialize)]
struct RawFrame {
    #[serde(rename = "type")]
    kind: Option<String>,
    data: Option<Value>,
}

/// Parses one text frame; `can_send` says whether this socket may post messages.
pub fn parse_frame(text: &str, can_send: bool) -> Result<ClientFrame, FrameError> {
    const TOO_LARGE: FrameError = FrameError {
        code: "payload_too_large",
        detail: "A message's data may be at most 16 KiB of JSON.",
    };
    if text.len() > FRAME_MAX_BYTES {
        return Err(TOO_LARGE);
    }
    let raw: RawFrame = match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => serde_json::from_value(v).map_err(|_| FrameError {
            code: "validation_failed",
            detail: "The frame's \"type\" must be a string.",
        })?,
        Ok(_) => {
            return Err(FrameError {
                code: "validation_failed",
                detail: "A frame is a JSON object with a \"type\".",
            })
        }
        Err(_) => {
            return Err(FrameError {
                code: "malformed_json",
                detail: "The frame is not valid JSON.",
            })
        }
    };
    match raw.kind.as_deref() {
        Some("ping") => Ok(ClientFrame::Ping),
        Some("message") => {
            if !can_send {
                return Err(FrameError::FORBIDDEN);
            }
            let data = raw.data.ok_or(FrameError {
                code: "validation_failed",
                detail: "A message frame needs \"data\".",
            })?;
            if data.to_string().len() > DATA_MAX_BYTES {
                return Err(TOO_LARGE);
            }
            Ok(ClientFrame::Message(data))
        }
        Some(_) => Err(FrameError {
            code: "unknown_type",
            detail: "Unknown frame type; clients send \"message\" or \"ping\".",
        }),
        None => Err(FrameError {
            code: "validation_failed",
            detail: "A frame is a JSON object with a \"type\".",
        }),
    }
}

/// The room's members: one entry per user however many sockets they have, in order of
/// first appearance.
pub fn members<'a>(live: impl IntoIterator<Item = &'a Identity>) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for id in live {
        if !seen.contains(&id.user_id.as_str()) {
            seen.push(&id.user_id);
            out.push(id.member());
        }
    }
    out
}

/// Presence after `who` connected, given the other live sockets: `joined` only for the
/// user's first socket.
pub fn joined<'a>(who: &Identity, others: impl IntoIterator<Item = &'a Identity>) -> Option<Value> {
    let first = !others.into_iter().any(|o| o.user_id == who.user_id);
    first.then(|| json!({"type": "joined", "user": who.member()}))
}

/// Presence after `who` disconnected, given the sockets still live: `left` only when it
/// was the user's last socket.
pub fn left<'a>(
    who: &Identity,
    remaining: impl IntoIterator<Item = &'a Identity>,
) -> Option<Value> {
    let last = !remaining.into_iter().any(|o| o.user_id == who.user_id);
    last.then(|| json!({"type": "left", "user": who.member()}))
}

/// The `message` frame broadcast (and kept in history) for `data` sent by `from`.
pub fn message_frame(seq: i64, from: &Identity, data: &Value, ts: &str) -> Value {
    json!({"type": "message", "seq": seq, "from": from.member(), "data": data, "ts": ts})
}

/// The `welcome` frame.
pub fn welcome(you: &Identity, members: Vec<Value>, history: Vec<Value>) -> Value {
    json!({"type": "welcome", "room": you.room, "you": you.you(), "members": members, "history": history})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posting_is_limited_per_window_and_reopens() {
        let mut state = None;
        for i in 0..3 {
            let (ok, w) = may_post(state, 1_000 + i, 3);
            assert!(ok.is_ok());
            state = Some(w);
        }
        let (refused, w) = may_post(state, 2_000, 3);
        let frame: Value =
            serde_json::from_str(&refused.expect_err("over the limit")).unwrap_or_default();
        assert_eq!(frame["type"], "error");
        assert_eq!(frame["code"], "rate_limited");
        assert_eq!(frame["retry_after"], 9);
        // The next window takes messages again.
        let (ok, _) = may_post(Some(w), 1_000 + i64::from(SEND_WINDOW_SECONDS) * 1000, 3);
        assert!(ok.is_ok());
    }

    fn id(user: &str, conn: &str) -> Identity {
        Identity {
            conn: conn.into(),
            org: "org_1".into(),
            room: "lobby".into(),
            user_id: user.into(),
            name: format!("N {user}"),
            role: Some(Role::Member),
            session: Some(format!("ses_{user}")),
            can_send: true,
            expires_at: None,
            gone: false,
        }
    }

    #[test]
    fn rooms_require_the_read_right_of_what_they_carry() {
        let need = |n: &str| RoomName::parse(n).map(|r| r.required_actions());
        assert_eq!(need("lobby"), Some(vec![Action::RoomsJoin]));
        assert_eq!(
            need("jobs"),
            Some(vec![Action::RoomsJoin, Action::JobsRead])
        );
        assert_eq!(
            need("doc:doc_1"),
            Some(vec![Action::RoomsJoin, Action::DocumentsRead])
        );
        // Only the exact name carries jobs.
        assert_eq!(need("jobs2"), Some(vec![Action::RoomsJoin]));
        // A key with only rooms:join is refused `jobs`; with jobs:write it may join.
        use crate::policy::{authorize, Principal, Scope};
        let ok = |scopes: &[Scope], n: &str| {
            need(n)
                .unwrap_or_default()
                .into_iter()
                .all(|a| authorize(Principal::ApiKey(scopes), a).is_ok())
        };
        assert!(!ok(&[Scope::RoomsJoin], "jobs"));
        assert!(ok(&[Scope::RoomsJoin, Scope::JobsWrite], "jobs"));
        assert!(ok(&[Scope::RoomsJoin], "lobby"));
        assert!(!ok(&[Scope::RoomsJoin], "doc:doc_1"));
        // Every role may read jobs: viewers join `jobs`.
        assert!(need("jobs")
            .unwrap_or_default()
            .into_iter()
            .all(|a| authorize(Principal::User(Role::Viewer), a).is_ok()));
    }

    #[test]
    fn expiry_and_closing_events() {
        let mut a = id("u1", "c1");
        let mut b = id("u2", "c2");
        assert_eq!(next_expiry([&a, &b]), None);
        a.expires_at = Some(200);
        b.expires_at = Some(100);
        assert_eq!(next_expiry([&a, &b]), Some(100));
        b.gone = true;
        assert_eq!(next_expiry([&a, &b]), Some(200));
        assert!(!expired(&a, 199));
        assert!(expired(&a, 200));
        assert!(!expired(&id("u3", "c3"), i64::MAX));
        assert_eq!(
            closes_room(&json!({"type": "document.deleted"})),
            Some((CLOSE_ROOM_GONE, "document deleted"))
        );
        assert_eq!(closes_room(&json!({"type": "document.updated"})), None);
    }

    #[test]
    fn room_names() {
        for ok in ["a", "lobby", "doc:doc_123", "a.b-c_d:e", &"x".repeat(96)] {
            assert!(RoomName::parse(ok).is_some(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", "a%20", &"x".repeat(97), "a\n"] {
            assert!(RoomName::parse(bad).is_none(), "{bad:?}");
        }
        let doc = RoomName::parse("doc:doc_1").unwrap();
        assert_eq!(doc.document_id(), Some("doc_1"));
        assert_eq!(RoomName::parse("lobby").unwrap().document_id(), None);
    }

    #[test]
    fn frames() {
        assert_eq!(
            parse_frame(r#"{"type":"message","data":{"a":1}}"#, true),
            Ok(ClientFrame::Message(json!({"a": 1})))
        );
        assert_eq!(
            parse_frame(r#"{"type":"ping"}"#, false),
            Ok(ClientFrame::Ping)
        );
        let code = |t: &str, send: bool| parse_frame(t, send).unwrap_err().code;
        assert_eq!(code("{nope", true), "malformed_json");
        assert_eq!(code("[1]", true), "validation_failed");
        assert_eq!(code(r#"{"type":3}"#, true), "validation_failed");
        assert_eq!(code(r#"{"data":1}"#, true), "validation_failed");
        assert_eq!(code(r#"{"type":"message"}"#, true), "validation_failed");
        assert_eq!(code(r#"{"type":"shout"}"#, true), "unknown_type");
        assert_eq!(code(r#"{"type":"message","data":1}"#, false), "forbidden");
        let big = format!(
            r#"{{"type":"message","data":"{}"}}"#,
            "x".repeat(DATA_MAX_BYTES)
        );
        assert_eq!(code(&big, true), "payload_too_large");
        let huge = "x".repeat(1 << 20);
        assert_eq!(code(&huge, true), "payload_too_large");
        let fits = format!(
            r#"{{"type":"message","data":"{}"}}"#,
            "x".repeat(DATA_MAX_BYTES - 2)
        );
        assert!(parse_frame(&fits, true).is_ok());
        let err: Value = serde_json::from_str(&FrameError::BINARY.frame()).unwrap();
        assert_eq!(err["type"], "error");
        assert_eq!(err["code"], "unsupported_frame");
    }

    #[test]
    fn presence_counts_users_not_sockets() {
        let a1 = id("usr_a", "c1");
        let a2 = id("usr_a", "c2");
        let b = id("usr_b", "c3");
        assert!(joined(&a1, []).is_some());
        assert!(joined(&a2, [&a1]).is_none());
        assert!(joined(&b, [&a1, &a2]).is_some());
        assert_eq!(members([&a1, &a2, &b]).len(), 2);
        assert!(left(&a1, [&a2, &b]).is_none());
        assert_eq!(left(&a2, [&b]).unwrap()["user"]["user_id"], "usr_a");
    }

    #[test]
    fn tickets_are_bound_to_their_room() {
        let t = Ticket {
            id: "t".into(),
            org: "org_1".into(),
            room: "lobby".into(),
            user: "usr_a".into(),
            session: "ses_a".into(),
            authn: Default::default(),
            exp: 10,
        };
        assert!(t.is_for("org_1", &RoomName::parse("lobby").unwrap()));
        assert!(!t.is_for("org_2", &RoomName::parse("lobby").unwrap()));
        assert!(!t.is_for("org_1", &RoomName::parse("other").unwrap()));
        let sealed = crate::sealed::seal(b"k", TICKET_PURPOSE, &t);
        assert_eq!(
            crate::sealed::open_expiring::<Ticket>(b"k", TICKET_PURPOSE, &sealed, 11),
            Err(crate::sealed::SealError::Expired)
        );
        assert_eq!(
            crate::sealed::open_expiring::<Ticket>(b"k", TICKET_PURPOSE, &sealed, 10),
            Ok(t)
        );
    }

    #[test]
    fn identity_tags_and_views() {
        let a = id("usr_a", "c1");
        assert_eq!(
            a.tags(),
            vec!["u:usr_a".to_owned(), "s:ses_usr_a".to_owned()]
        );
        assert_eq!(a.you()["role"], "member");
        let w = welcome(&a, members([&a]), vec![]);
        assert_eq!(w["type"], "welcome");
        let m = message_frame(3, &a, &json!("hi"), "t");
        assert_eq!(m["seq"], 3);
        assert_eq!(m["from"]["name"], "N usr_a");
    }
}
