//! Stripe as the tests play it: events signed with the worker's webhook secret by Stripe's
//! own library (`edge_tests::stripe_lib`), `Stripe-Signature: t=<unix>,v1=<hex HMAC>`.

use super::fixtures::{get, Account};
use edge_tests::{random, signature, Api, Reply, SendExt, Worker};
use serde_json::{json, Value};

pub const WEBHOOK: &str = "/v1/billing/stripe/webhook";
pub const PRO: &str = "price_test_pro";
pub const ENTERPRISE: &str = "price_test_enterprise";

/// Sends events to one worker.
pub struct Stripe {
    api: Api,
    secret: String,
}

impl Stripe {
    pub fn new(w: &Worker) -> Stripe {
        Stripe {
            api: w.api(),
            secret: w.env_value("STRIPE_WEBHOOK_SECRET").to_owned(),
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// `POST` the raw `body` with `Stripe-Signature: header` (none if `None`).
    pub async fn post(&self, body: &[u8], header: Option<&str>) -> Reply {
        let mut req = self
            .api
            .post_raw(WEBHOOK, "application/json", body.to_vec());
        if let Some(h) = header {
            req = req.header("Stripe-Signature", h);
        }
        req.reply().await
    }

    /// `event` signed now with the right secret.
    pub async fn send(&self, event: &Value) -> Reply {
        let body = event.to_string().into_bytes();
        let header = edge_tests::stripe_lib::header(&self.secret, signature::unix_now(), &body);
        self.post(&body, Some(&header)).await
    }

    /// Sends `event`, asserts 200 and `{received: true, duplicate: false, applied}`.
    pub async fn deliver(&self, event: &Value, applied: bool) {
        let r = self.send(event).await;
        r.expect_status(200);
        assert_eq!(
            r.json(),
            json!({"received": true, "duplicate": false, "applied": applied}),
            "event {}",
            event["type"]
        );
    }
}

/// A Stripe event of `kind` around `object`, with a fresh id.
pub fn event(kind: &str, object: Value) -> Value {
    json!({
        "id": format!("evt_{}", random::hex(12)),
        "object": "event",
        "api_version": "2024-06-20",
        "created": signature::unix_now(),
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    })
}

/// A subscription object: `status`, one item of `price`, `current_period_end` = `period_end`,
/// and `metadata.org_id` if `org` is given.
pub fn subscription(
    org: Option<&str>,
    customer: &str,
    price: &str,
    status: &str,
    period_end: i64,
) -> Value {
    let metadata = match org {
        Some(org) => json!({"org_id": org}),
        None => json!({}),
    };
    json!({
        "id": format!("sub_{}", random::hex(8)),
        "object": "subscription",
        "customer": customer,
        "status": status,
        "metadata": metadata,
        "current_period_end": period_end,
        "items": {"object": "list", "data": [{
            "id": format!("si_{}", random::hex(8)),
            "price": {"id": price, "object": "price"},
        }]},
    })
}

/// A fresh Stripe customer id.
pub fn customer() -> String {
    format!("cus_{}", random::hex(8))
}

/// A period end a month from now (whole seconds).
pub fn next_month() -> i64 {
    signature::unix_now() + 30 * 24 * 3600
}

/// `GET /v1/orgs/{org}/billing/subscription` by the owner; asserts 200 and the shape.
pub async fn subscription_of(api: &Api, owner: &Account) -> Value {
    let r = get(api, &owner.org_path("/billing/subscription"), &owner.token).await;
    r.expect_status(200);
    let v = r.json();
    for key in [
        "plan",
        "status",
        "current_period_end",
        "customer_id",
        "subscription_id",
        "price_id",
    ] {
        assert!(v.get(key).is_some(), "subscription lacks `{key}`: {v}");
    }
    v
}

/// The Unix time of an RFC 3339 timestamp.
pub fn unix_of(v: &Value) -> i64 {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{v} is not a timestamp string"));
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
        .timestamp()
}
