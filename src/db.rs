//! D1 glue: binding values, running statements and batches, and turning storage errors into
//! API errors next to the query (a UNIQUE violation becomes a 409 where the insert is).

use crate::http::OrInternal;
use edge_core::ApiError;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

/// A bound value. Build with `Into` from `&str`, `String`, numbers, bools and options.
#[derive(Debug, Clone)]
pub struct V(pub JsValue);

impl From<&str> for V {
    fn from(v: &str) -> Self {
        V(JsValue::from(v))
    }
}
impl From<&String> for V {
    fn from(v: &String) -> Self {
        V(JsValue::from(v.as_str()))
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V(JsValue::from(v))
    }
}
impl From<i64> for V {
    fn from(v: i64) -> Self {
        V(JsValue::from(v as f64))
    }
}
impl From<u32> for V {
    fn from(v: u32) -> Self {
        V(JsValue::from(v))
    }
}
impl From<bool> for V {
    fn from(v: bool) -> Self {
        V(JsValue::from(i32::from(v)))
    }
}
impl<T: Into<V>> From<Option<T>> for V {
    fn from(v: Option<T>) -> Self {
        v.map(Into::into).unwrap_or(V(JsValue::NULL))
    }
}

/// `db.prepare(sql).bind(args)`; the arguments are `?1…?n` in order.
#[macro_export]
macro_rules! sql {
    ($db:expr, $sql:expr $(, $arg:expr)* $(,)?) => {
        $crate::db::prepare(&$db, $sql, vec![$($crate::db::V::from($arg).0),*])
    };
}

pub fn prepare(
    db: &D1Database,
    sql: &str,
    args: Vec<JsValue>,
) -> Result<D1PreparedStatement, ApiError> {
    db.prepare(sql).bind(&args).or_internal("bind statement")
}

pub fn database(env: &Env) -> Result<D1Database, ApiError> {
    env.d1("DB").or_internal("D1 binding")
}

pub async fn first<T: DeserializeOwned>(
    stmt: Result<D1PreparedStatement, ApiError>,
) -> Result<Option<T>, ApiError> {
    stmt?.first::<T>(None).await.or_internal("query")
}

pub async fn all<T: DeserializeOwned>(
    stmt: Result<D1PreparedStatement, ApiError>,
) -> Result<Vec<T>, ApiError> {
    stmt?
        .all()
        .await
        .or_internal("query")?
        .results::<T>()
        .or_internal("decode rows")
}

/// Runs a write; returns the number of rows it changed.
pub async fn run(stmt: Result<D1PreparedStatement, ApiError>) -> Result<usize, ApiError> {
    let res = stmt?.run().await.or_internal("write")?;
    Ok(changes(&res))
}

pub fn changes(res: &D1Result) -> usize {
    res.meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

/// Runs statements as one transaction (all or nothing).
pub async fn batch(
    db: &D1Database,
    stmts: Vec<D1PreparedStatement>,
) -> Result<Vec<D1Result>, worker::Error> {
    db.batch(stmts).await
}

/// Whether a D1 error is a UNIQUE violation on `table` (e.g. "users.email").
pub fn is_unique_violation(err: &worker::Error, on: &str) -> bool {
    let text = err.to_string();
    text.contains("UNIQUE constraint failed") && text.contains(on)
}
