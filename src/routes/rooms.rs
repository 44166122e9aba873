//! Realtime rooms: tickets, the WebSocket connect (every check before the upgrade, then the
//! room's `ROOM` object takes the socket) and presence; the demo page is served by
//! `crate::assets`. The protocol itself is `edge_core::rooms`; the object is
//! `edge_durable_objects::Room`.

use crate::auth::{self, Credential, OrgAccess};
use crate::ctx::Ctx;
use crate::db;
use crate::http::{self, ApiResult, OrInternal};
use crate::sql;
use crate::{platform, realtime};
use edge_core::policy::Action;
use edge_core::rooms::{self, Identity, RoomName, Ticket};
use edge_core::sealed;
use edge_core::ApiError;
use serde_json::{json, Value};
use worker::{Headers, Method, Request, RequestInit};

fn no_room() -> ApiError {
    ApiError::not_found("No such room.")
}

fn bad_ticket() -> ApiError {
    ApiError::unauthenticated(
        "The room ticket is invalid, expired, already used or for another room.",
    )
    .with_header("WWW-Authenticate", "Bearer")
}

/// The room of the path, if the caller may join it: the actions the room's name requires
/// (`RoomName::required_actions`: `rooms:join`, and the read right of the data the room
/// carries: jobs for `jobs`, documents for `doc:{id}`), and for `doc:{id}` rooms the document
/// must exist, live, in this organization.
async fn joinable(cx: &Ctx, access: &OrgAccess) -> Result<RoomName, ApiError> {
    let room = RoomName::parse(cx.param("room")).ok_or_else(no_room)?;
    for action in room.required_actions() {
        access.require(action)?;
    }
    if let Some(doc_id) = room.document_id() {
        if !edge_core::ids::is_id(edge_core::ids::IdKind::Document, doc_id) {
            return Err(no_room());
        }
        let db = db::database(&cx.env)?;
        let live: Option<Value> = db::first(sql!(
            db,
            "SELECT 1 AS live FROM documents WHERE id = ?1 AND org_id = ?2 AND deleted_at IS NULL",
            doc_id,
            &access.org_id
        ))
        .await?;
        if live.is_none() {
            return Err(no_room());
        }
    }
    Ok(room)
}

/// `POST /v1/orgs/{org}/rooms/{room}/tickets`: a single-use, 60 s ticket for a browser.
pub async fn ticket(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    let room = joinable(cx, &access).await?;
    let Credential::User {
        user_id,
        session_id,
        authn,
    } = &access.credential
    else {
        return Err(ApiError::forbidden(
            "Tickets are for signed-in users; an API key connects with its Authorization header.",
        ));
    };
    let exp = platform::now().timestamp() + rooms::TICKET_TTL_SECONDS;
    let claims = Ticket {
        id: edge_core::encoding::hex(&platform::random::<16>()),
        org: access.org_id.clone(),
        room: room.as_str().to_owned(),
        user: user_id.clone(),
        session: session_id.clone(),
        authn: authn.clone(),
        exp,
    };
    let ticket = sealed::seal(
        cx.config.url_signing_secret.as_bytes(),
        rooms::TICKET_PURPOSE,
        &claims,
    );
    let expires_at = chrono::DateTime::from_timestamp(exp, 0).unwrap_or_default();
    http::json(
        201,
        &json!({"ticket": ticket, "expires_at": platform::rfc3339(expires_at)}),
    )
}

/// The caller of a connect: by the `Authorization` header when there is one, else by
/// `?ticket=` (whose user and session are checked again, as a bearer's would be).
async fn connecting(cx: &Ctx) -> Result<(OrgAccess, Option<Ticket>), ApiError> {
    let org = cx.param("org");
    let has_header = cx.head.has_header("Authorization");
    let ticket = cx.query("ticket").filter(|_| !has_header);
    let Some(token) = ticket else {
        return Ok((auth::org_access(cx, org).await?, None));
    };
    let now = platform::now().timestamp();
    let t: Ticket = sealed::open_expiring(
        cx.config.url_signing_secret.as_bytes(),
        rooms::TICKET_PURPOSE,
        &token,
        now,
    )
    .map_err(|_| bad_ticket())?;
    let room = RoomName::parse(cx.param("room")).ok_or_else(no_room)?;
    if !t.is_for(org, &room) {
        return Err(bad_ticket());
    }
    let credential = Credential::User {
        user_id: t.user.clone(),
        session_id: t.session.clone(),
        authn: t.authn.clone(),
    };
    let access = auth::org_access_as(cx, credential, org).await?;
    Ok((access, Some(t)))
}

/// The display name of the caller: the user's name, or the API key's.
async fn display_name(cx: &Ctx, access: &OrgAccess) -> Result<String, ApiError> {
    let db = db::database(&cx.env)?;
    let row: Option<Value> = match &access.credential {
        Credential::User { user_id, .. } => {
            db::first(sql!(db, "SELECT name FROM users WHERE id = ?1", user_id)).await?
        }
        Credential::ApiKey(k) => {
            db::first(sql!(db, "SELECT name FROM api_keys WHERE id = ?1", &k.id)).await?
        }
    };
    Ok(row
        .and_then(|r| r["name"].as_str().map(str::to_owned))
        .unwrap_or_default())
}

/// `GET /v1/orgs/{org}/rooms/{room}/connect`: every check, then the upgrade in the room.
pub async fn connect(cx: &Ctx) -> ApiResult {
    let (access, ticket) = connecting(cx).await?;
    let room = joinable(cx, &access).await?;
    let upgrade = cx.header("Upgrade");
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(ApiError::new(
            426,
            "upgrade_required",
            "Upgrade required",
            "This URL opens a WebSocket: send the request with `Upgrade: websocket`.",
        )
        .with_header("Upgrade", "websocket"));
    }
    let (user_id, session) = match &access.credential {
        Credential::User {
            user_id,
            session_id,
            ..
        } => (user_id.clone(), Some(session_id.clone())),
        Credential::ApiKey(k) => (k.id.clone(), None),
    };
    let me = Identity {
        conn: edge_core::encoding::hex(&platform::random::<12>()),
        org: access.org_id.clone(),
        room: room.as_str().to_owned(),
        name: display_name(cx, &access).await?,
        role: access.role,
        can_send: access.require(Action::RoomsSend).is_ok(),
        expires_at: match &access.credential {
            Credential::ApiKey(k) => k.expires_at,
            Credential::User { .. } => None,
        },
        user_id,
        session,
        gone: false,
    };
    let limit = cx.config.limits.plan(access.plan).room_connections;
    let registered =
        json!({"conn": me.conn, "room": me.room, "user_id": me.user_id, "session": me.session});
    crate::limits::room_connect(&cx.env, &access.org_id, &registered, limit).await?;
    match upgrade_in_room(cx, &me, ticket.as_ref()).await {
        Ok(resp) if resp.status_code() == 101 => Ok(resp),
        other => {
            let _ = crate::limits::room_disconnect(&cx.env, &access.org_id, &me.conn).await;
            match other {
                Ok(resp) if resp.status_code() == 401 => Err(bad_ticket()),
                Ok(resp) => Err(http::internal(
                    "room upgrade",
                    format!("status {}", resp.status_code()),
                )),
                Err(e) => Err(e),
            }
        }
    }
}

async fn upgrade_in_room(cx: &Ctx, me: &Identity, ticket: Option<&Ticket>) -> ApiResult {
    let headers = Headers::new();
    // Base64url: a display name may hold any character, a header value may not.
    let identity = edge_core::encoding::base64url(&serde_json::to_vec(me).or_internal("identity")?);
    headers.set("Upgrade", "websocket").or_internal("header")?;
    headers
        .set("X-Room-Identity", &identity)
        .or_internal("header")?;
    if let Some(t) = ticket {
        headers
            .set("X-Room-Ticket", &format!("{} {}", t.id, t.exp))
            .or_internal("header")?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let req = Request::new_with_init("https://room.internal/connect", &init)
        .or_internal("room request")?;
    let stub = cx
        .env
        .durable_object("ROOM")
        .and_then(|ns| ns.get_by_name(&realtime::object_name(&me.org, &me.room)))
        .or_internal("ROOM stub")?;
    stub.fetch_with_request(req)
        .await
        .or_internal("ROOM connect")
}

/// `GET /v1/orgs/{org}/rooms/{room}`: open connections and members.
pub async fn presence(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    let room = joinable(cx, &access).await?;
    let mut p: Value =
        realtime::room_call(&cx.env, &access.org_id, room.as_str(), "/presence", None)
            .await
            .or_internal("room presence")?
            .json()
            .await
            .or_internal("room presence answer")?;
    p["room"] = json!(room.as_str());
    http::json(200, &p)
}
