//! RFC 9457 problem documents as the API contract defines them.

use crate::client::Reply;
use serde_json::Value;

/// One `errors[]` entry of a validation problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// A checked problem document: `type` is `/problems/<code>`, `status` equals the HTTP status,
/// `request_id` equals the `X-Request-Id` header.
#[derive(Debug, Clone)]
pub struct Problem {
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: Option<String>,
    pub request_id: String,
    pub errors: Vec<FieldError>,
    pub body: Value,
}

impl Problem {
    /// Parses and checks the problem in `reply`; panics (showing the body) on any deviation.
    pub fn from_reply(reply: &Reply) -> Problem {
        let body_text = reply.text();
        let ctx = |what: &str| format!("{what}; status {}, body: {body_text}", reply.status);
        let content_type = reply.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with("application/problem+json"),
            "{}",
            ctx(&format!("content-type is {content_type:?}"))
        );
        let body = reply.json();
        let string = |key: &str| -> String {
            body.get(key)
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{}", ctx(&format!("problem has no string `{key}`"))))
                .to_owned()
        };
        let status = body.get("status").and_then(Value::as_u64);
        assert_eq!(status, Some(u64::from(reply.status)), "{}", ctx("`status`"));
        let code = string("code");
        let type_ = string("type");
        assert_eq!(type_, format!("/problems/{code}"), "{}", ctx("`type`"));
        let title = string("title");
        assert!(!title.is_empty(), "{}", ctx("empty `title`"));
        let request_id = string("request_id");
        assert_eq!(
            Some(request_id.as_str()),
            reply.header("x-request-id"),
            "{}",
            ctx("`request_id` differs from the X-Request-Id header")
        );
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let errors = match body.get("errors") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(|e| field_error(e, &ctx)).collect(),
            Some(_) => panic!("{}", ctx("`errors` is not an array")),
        };
        Problem {
            type_,
            title,
            status: reply.status,
            code,
            detail,
            request_id,
            errors,
            body,
        }
    }

    /// The fields named in `errors`.
    pub fn fields(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }

    /// Panics unless `errors` names `field`.
    pub fn expect_field(&self, field: &str) -> &Problem {
        assert!(
            self.fields().contains(&field),
            "expected an error for field {field:?}; problem: {}",
            self.body
        );
        self
    }
}

fn field_error(e: &Value, ctx: &dyn Fn(&str) -> String) -> FieldError {
    let get = |k: &str| {
        e.get(k)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{}", ctx(&format!("an `errors` entry has no string `{k}`"))))
            .to_owned()
    };
    FieldError {
        field: get("field"),
        message: get("message"),
    }
}
