//! Keyset pagination for every list route: the limit parsed, the cursor opened (sealed, bound
//! to its list and scope, so a cursor of one list or organization is refused by another), the
//! next cursor sealed, and the one response shape `{items, next_cursor}`. Knows no domain.

use crate::ctx::Ctx;
use crate::http::{self, ApiResult};
use edge_core::pagination::{self, Position};
use edge_core::ApiError;
use serde_json::{json, Value};

/// One page request: limit and the decoded cursor of list `list` in `scope`.
pub struct Page {
    pub limit: usize,
    pub after: Option<Position>,
    list: &'static str,
    scope: String,
}

impl Page {
    pub fn from_query(cx: &Ctx, list: &'static str, scope: &str) -> Result<Self, ApiError> {
        let limit = pagination::parse_limit(cx.query("limit").as_deref())?;
        let after = pagination::decode(
            cx.config.url_signing_secret.as_bytes(),
            cx.query("cursor").as_deref(),
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

    /// The cursor's sort key parsed as `T` (a sequence number, an offset), if there is one.
    pub fn after_number<T: std::str::FromStr>(&self) -> Option<T> {
        self.after.as_ref().and_then(|p| p.k.parse().ok())
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
    pub fn respond<T>(
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
