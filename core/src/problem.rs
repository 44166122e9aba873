//! The one error model: every failure becomes an RFC 9457 problem with a stable `code`.
//! The glue maps an [`ApiError`] to a response in exactly one place.

use serde::Serialize;
use serde_json::{Map, Value};

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An API error: status, stable code, human text, and what the client may need to act.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub title: &'static str,
    pub detail: String,
    /// The rarer parts, boxed so that `Result<T, ApiError>` stays small on the hot path.
    extra: Box<Extra>,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Extra {
    errors: Vec<FieldError>,
    /// Extra response headers (`Allow`, `Retry-After`, …).
    headers: Vec<(&'static str, String)>,
    /// Extra members of the problem object (e.g. `checks` of a failed readiness probe).
    extensions: Map<String, Value>,
}

macro_rules! constructors {
    ($($name:ident => $status:literal, $code:literal, $title:literal;)*) => {
        $(
            #[doc = concat!("`", $code, "` (", stringify!($status), ")")]
            pub fn $name(detail: impl Into<String>) -> Self {
                Self::new($status, $code, $title, detail)
            }
        )*
    };
}

impl ApiError {
    pub fn new(
        status: u16,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            title,
            detail: detail.into(),
            extra: Box::default(),
        }
    }

    constructors! {
        validation_failed => 400, "validation_failed", "Validation failed";
        malformed_json => 400, "malformed_json", "Malformed JSON";
        bad_request => 400, "bad_request", "Bad request";
        unauthenticated => 401, "unauthenticated", "Authentication required";
        forbidden => 403, "forbidden", "Forbidden";
        not_found => 404, "not_found", "Not found";
        conflict => 409, "conflict", "Conflict";
        length_required => 411, "length_required", "Length required";
        precondition_failed => 412, "precondition_failed", "Precondition failed";
        payload_too_large => 413, "payload_too_large", "Payload too large";
        unsupported_media_type => 415, "unsupported_media_type", "Unsupported media type";
        range_not_satisfiable => 416, "range_not_satisfiable", "Range not satisfiable";
        idempotency_key_reused => 422, "idempotency_key_reused", "Idempotency key reused";
        rate_limited => 429, "rate_limited", "Too many requests";
        internal => 500, "internal", "Internal server error";
        unavailable => 503, "unavailable", "Service unavailable";
        gateway_timeout => 504, "gateway_timeout", "Gateway timeout";
    }

    /// 400 `unknown_field`: a body member the endpoint does not accept (no mass assignment).
    pub fn unknown_field(field: &str) -> Self {
        Self::new(
            400,
            "unknown_field",
            "Unknown field",
            format!("The field `{field}` is not accepted here."),
        )
        .with_errors(vec![FieldError::new(field, "unknown field")])
    }

    /// 405 with the `Allow` header the client needs.
    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        Self::new(
            405,
            "method_not_allowed",
            "Method not allowed",
            format!(
                "{method} is not allowed here; allowed: {}.",
                allowed.join(", ")
            ),
        )
        .with_header("Allow", allowed.join(", "))
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.extra.errors = errors;
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.headers.push((name, value.into()));
        self
    }

    pub fn with_extension(mut self, key: &str, value: Value) -> Self {
        self.extra.extensions.insert(key.to_owned(), value);
        self
    }

    /// The invalid fields of a `validation_failed` or `unknown_field` error.
    pub fn errors(&self) -> &[FieldError] {
        &self.extra.errors
    }

    /// Headers the response must carry.
    pub fn headers(&self) -> &[(&'static str, String)] {
        &self.extra.headers
    }

    /// The problem document. Internal errors never carry their cause to the client.
    pub fn to_problem(&self, request_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), format!("/problems/{}", self.code).into());
        body.insert("title".into(), self.title.into());
        body.insert("status".into(), self.status.into());
        body.insert("code".into(), self.code.into());
        body.insert("detail".into(), self.detail.clone().into());
        body.insert("request_id".into(), request_id.into());
        if !self.extra.errors.is_empty() {
            body.insert(
                "errors".into(),
                serde_json::to_value(&self.extra.errors).unwrap_or(Value::Null),
            );
        }
        for (k, v) in &self.extra.extensions {
            body.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(body)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn problem_has_the_contract_shape() {
        let p = ApiError::validation_failed("bad")
            .with_errors(vec![FieldError::new("name", "too long")])
            .to_problem("req_1");
        assert_eq!(
            p,
            json!({"type":"/problems/validation_failed","title":"Validation failed","status":400,
                   "code":"validation_failed","detail":"bad","request_id":"req_1",
                   "errors":[{"field":"name","message":"too long"}]})
        );
    }

    #[test]
    fn extensions_cannot_overwrite_core_members() {
        let p = ApiError::internal("x")
            .with_extension("status", json!(200))
            .with_extension("checks", json!({"d1":"ok"}))
            .to_problem("r");
        assert_eq!(p["status"], 500);
        assert_eq!(p["checks"]["d1"], "ok");
    }

    #[test]
    fn method_not_allowed_names_allowed_methods() {
        let e = ApiError::method_not_allowed("POST", &["GET", "HEAD"]);
        assert_eq!(e.status, 405);
        assert_eq!(e.headers(), [("Allow", "GET, HEAD".to_owned())]);
    }
}
