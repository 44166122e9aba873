//! Rows shared by the identity routes, and list pagination glue.

use crate::db;
use crate::http::{self, ApiResult};
use crate::pipeline::Ctx;
use crate::sql;
use edge_core::pagination::{self, Position};
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use worker::{D1Database, Request};

#[derive(Debug, Clone, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub email_verified: i64,
    pub created_at: String,
}

impl UserRow {
    /// The user as the API shows it: never the password hash.
    pub fn public(&self) -> Value {
        json!({
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "email_verified": self.email_verified != 0,
            "created_at": self.created_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrgBrief {
    pub id: String,
    pub name: String,
    pub role: String,
    pub plan: String,
    pub created_at: String,
}

/// The organizations of a user with their role, newest membership first.
pub async fn user_orgs(db: &D1Database, user_id: &str) -> Result<Vec<OrgBrief>, ApiError> {
    db::all(sql!(
        db,
        "SELECT o.id, o.name, m.role, o.plan, o.created_at FROM memberships m \
         JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ?1 \
         ORDER BY m.created_at DESC, o.id DESC",
        user_id
    ))
    .await
}

/// One page request: limit and the decoded cursor of list `list` in `scope`.
pub struct Page {
    pub limit: usize,
    pub after: Option<Position>,
    list: &'static str,
    scope: String,
}

impl Page {
    pub fn from_query(
        req: &Request,
        cx: &Ctx,
        list: &'static str,
        scope: &str,
    ) -> Result<Self, ApiError> {
        let limit = pagination::parse_limit(cx.query(req, "limit").as_deref())?;
        let after = pagination::decode(
            cx.config.url_signing_secret.as_bytes(),
            cx.query(req, "cursor").as_deref(),
            list,
            scope,
        )?;
        Ok(Self {
            limit,
            after,
            list,
            scope: scope.to_owned(),
        })
    }

    /// `(sort key, id)` of the cursor, or values above every row for the first page.
    pub fn after_key(&self) -> (String, String) {
        match &self.after {
            Some(p) => (p.k.clone(), p.i.clone()),
            None => ("\u{10FFFF}".to_owned(), "\u{10FFFF}".to_owned()),
        }
    }

    /// The response for `rows` (fetched with `limit + 1`), with `key` giving each row's
    /// `(sort key, id)`.
    pub fn respond<T: Serialize>(
        &self,
        cx: &Ctx,
        mut rows: Vec<T>,
        key: impl Fn(&T) -> (String, String),
        public: impl Fn(&T) -> Value,
    ) -> ApiResult {
        let more = rows.len() > self.limit;
        rows.truncate(self.limit);
        let next = match (more, rows.last()) {
            (true, Some(last)) => {
                let (k, i) = key(last);
                let pos = Position {
                    l: self.list.to_owned(),
                    s: self.scope.clone(),
                    k,
                    i,
                };
                Some(pagination::encode(
                    cx.config.url_signing_secret.as_bytes(),
                    &pos,
                ))
            }
            _ => None,
        };
        let items: Vec<Value> = rows.iter().map(public).collect();
        http::json(200, &json!({"items": items, "next_cursor": next}))
    }
}
