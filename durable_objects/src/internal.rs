//! The internal HTTP surface every object answers (called only by the worker through a stub).

use worker::{Method, Request, Response, Result, SqlStorage};

/// `GET /health`: proves the object is reachable and its SQLite storage answers.
pub fn health(sql: &SqlStorage) -> Result<Response> {
    #[derive(serde::Deserialize)]
    struct One {
        ok: i64,
    }
    let rows: Vec<One> = sql.exec("SELECT 1 AS ok", None)?.to_array()?;
    if rows.first().map(|r| r.ok) == Some(1) {
        Response::ok("ok")
    } else {
        Response::error("storage did not answer", 503)
    }
}

/// Routes shared by every object; `None` when the request is for the object's own routes.
pub fn shared_routes(req: &Request, sql: &SqlStorage) -> Option<Result<Response>> {
    match (req.method(), req.path().as_str()) {
        (Method::Get, "/health") => Some(health(sql)),
        _ => None,
    }
}
