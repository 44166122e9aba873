//! Billing and usage: the Stripe webhook (verified exactly as Stripe specifies, applied once
//! per event id even when delivered twice at once), the organization's subscription, and its
//! usage against the plan's quotas.

use super::billing_order::Claim;
use crate::audit::{self, Actor, Event};
use crate::auth;
use crate::body::Body;
use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::http::{self, ApiResult};
use crate::platform;
use crate::sql;
use edge_core::ids::{self, IdKind};
use edge_core::json::MAX_JSON_BODY;
use edge_core::limits::{self, Plan};
use edge_core::policy::Action;
use edge_core::signature::{self, SignatureError};
use edge_core::stripe_order;
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::{json, Value};

/// Stripe's tolerance for the signed timestamp.
const TOLERANCE_SECONDS: i64 = 300;

fn bad_signature(why: &str) -> ApiError {
    ApiError::new(
        400,
        "invalid_signature",
        "Invalid signature",
        format!("The Stripe-Signature header {why}."),
    )
}

#[derive(Deserialize)]
struct StripeEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    created: i64,
    data: StripeData,
}

#[derive(Deserialize)]
struct StripeData {
    object: Value,
}

/// What an event does to an organization.
struct Change {
    org_id: String,
    plan: Option<Plan>,
    status: Option<String>,
    customer_id: Option<String>,
    subscription_id: Option<String>,
    price_id: Option<String>,
    current_period_end: Option<String>,
}

pub async fn stripe_webhook(mut body: Body, cx: &Ctx) -> ApiResult {
    let header = cx
        .header("Stripe-Signature")
        .ok_or_else(|| bad_signature("is missing"))?;
    let body = body.limited(MAX_JSON_BODY).await?;
    signature::verify(
        cx.config.stripe_webhook_secret.as_bytes(),
        &header,
        &[&body],
        platform::now().timestamp(),
        TOLERANCE_SECONDS,
    )
    .map_err(|e| match e {
        SignatureError::Malformed => bad_signature("is malformed"),
        SignatureError::Expired => bad_signature("timestamp is outside the 300 s tolerance"),
        SignatureError::Mismatch => bad_signature("does not match the payload"),
    })?;
    let event: StripeEvent = serde_json::from_slice(&body)
        .map_err(|_| ApiError::malformed_json("The event is not a Stripe event object."))?;

    let db = db::database(&cx.env)?;
    let change = interpret(cx, &db, &event).await?;
    let stamp = platform::rfc3339(platform::now());
    let order = Claim {
        event_id: &event.id,
        claim: platform::claim(),
        subscription: stripe_order::subscription_id(&event.kind, &event.data.object).map(|sub| {
            (
                sub,
                event.created,
                event.kind == "customer.subscription.deleted",
            )
        }),
    };
    let (applied, guard) = order.applied();
    let events: Vec<Event> = change
        .iter()
        .filter(|c| c.plan.is_some() || c.status.is_some())
        .map(|c| {
            Event::new(&c.org_id, "billing.subscription_changed", Actor { kind: "system", id: Some("stripe".into()) })
                .details(json!({"event_id": event.id, "event_type": event.kind, "plan": c.plan.map(Plan::as_str), "status": c.status}))
                .only_if(applied, guard.iter().map(|v| V(v.0.clone())).collect())
        })
        .collect();
    let bound = |n: usize| -> (String, Vec<wasm_bindgen::JsValue>) {
        let args = guard.iter().map(|v| v.0.clone()).collect();
        (edge_core::sql::shift_params(applied, n), args)
    };
    let results = audit::write(&db, &auth::audit_origin(cx), &events, || {
        let mut stmts = vec![sql!(
            db,
            "INSERT INTO stripe_events (id, type, received_at, request_id) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (id) DO NOTHING",
            &event.id,
            &event.kind,
            &stamp,
            &order.claim
        )?];
        if let Some(c) = &change {
            if let Some(record) = order.record(&db, &c.org_id, c.status.as_deref()) {
                stmts.push(record?);
            }
            let (cond, extra) = bound(7);
            let mut args: Vec<wasm_bindgen::JsValue> = vec![
                V::from(&c.org_id).0,
                V::from(c.customer_id.clone()).0,
                V::from(c.subscription_id.clone()).0,
                V::from(c.price_id.clone()).0,
                V::from(c.status.clone()).0,
                V::from(c.current_period_end.clone()).0,
                V::from(&stamp).0,
            ];
            args.extend(extra);
            stmts.push(db::prepare(
                &db,
                &format!(
                    "INSERT INTO subscriptions (org_id, customer_id, subscription_id, price_id, status, current_period_end, updated_at) \
                     SELECT ?1, ?2, ?3, ?4, COALESCE(?5, 'active'), ?6, ?7 WHERE EXISTS ({cond}) \
                     ON CONFLICT (org_id) DO UPDATE SET \
                       customer_id = COALESCE(excluded.customer_id, customer_id), \
                       subscription_id = COALESCE(excluded.subscription_id, subscription_id), \
                       price_id = COALESCE(excluded.price_id, price_id), \
                       status = COALESCE(?5, status), \
                       current_period_end = COALESCE(excluded.current_period_end, current_period_end), \
                       updated_at = excluded.updated_at"
                ),
                args,
            )?);
            if let Some(plan) = c.plan {
                let (cond, extra) = bound(3);
                let mut args = vec![V::from(&c.org_id).0, V::from(plan.as_str()).0, V::from(&stamp).0];
                args.extend(extra);
                stmts.push(db::prepare(
                    &db,
                    &format!("UPDATE organizations SET plan = ?2, updated_at = ?3 WHERE id = ?1 AND EXISTS ({cond})"),
                    args,
                )?);
            }
        }
        Ok(stmts)
    })
    .await
    .map_err(audit::WriteError::into_api)?;
    // An event older than what was applied for its subscription is recorded, not applied.
    let superseded = change.is_some()
        && order.subscription.is_some()
        && results.get(1).map(db::changes) != Some(1);
    let duplicate = results.first().map(db::changes) == Some(0);
    http::json(
        200,
        &json!({"received": true, "duplicate": duplicate, "applied": !duplicate && change.is_some() && !superseded}),
    )
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

/// Maps an event to the change it makes; `None` for types we ignore or organizations we do
/// not know (still recorded, so a replay stays a no-op).
async fn interpret(
    cx: &Ctx,
    db: &worker::D1Database,
    event: &StripeEvent,
) -> Result<Option<Change>, ApiError> {
    let o = &event.data.object;
    let customer = str_at(o, &["customer"]).map(str::to_owned);
    let change = |org_id: String| Change {
        org_id,
        plan: None,
        status: None,
        customer_id: customer.clone(),
        subscription_id: None,
        price_id: None,
        current_period_end: None,
    };
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let Some(org) =
                str_at(o, &["client_reference_id"]).filter(|id| ids::is_id(IdKind::Org, id))
            else {
                return Ok(None);
            };
            let Some(org) = existing_org(db, org).await? else {
                return Ok(None);
            };
            let paid = matches!(
                str_at(o, &["payment_status"]),
                Some("paid") | Some("no_payment_required")
            );
            Ok(Some(Change {
                subscription_id: str_at(o, &["subscription"]).map(str::to_owned),
                status: Some(if paid { "active" } else { "incomplete" }.to_owned()),
                ..change(org)
            }))
        }
        "customer.subscription.created"
        | "customer.subscription.updated"
        | "customer.subscription.deleted" => {
            let Some(org) = org_for(db, o, customer.as_deref()).await? else {
                return Ok(None);
            };
            let status = str_at(o, &["status"]).unwrap_or("active").to_owned();
            let price = o
                .pointer("/items/data/0/price/id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let deleted = event.kind.ends_with(".deleted");
            let live = matches!(status.as_str(), "active" | "trialing" | "past_due");
            let plan = if deleted || !live {
                Plan::Free
            } else {
                price
                    .as_deref()
                    .and_then(|p| {
                        cx.config
                            .price_plans
                            .iter()
                            .find(|(id, _)| id == p)
                            .map(|(_, plan)| *plan)
                    })
                    .unwrap_or(Plan::Free)
            };
            let period_end = o
                .get("current_period_end")
                .or_else(|| o.pointer("/items/data/0/current_period_end"))
                .and_then(Value::as_i64)
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(platform::rfc3339);
            Ok(Some(Change {
                plan: Some(plan),
                status: Some(if deleted {
                    "canceled".to_owned()
                } else {
                    status
                }),
                subscription_id: str_at(o, &["id"]).map(str::to_owned),
                price_id: price,
                current_period_end: period_end,
                ..change(org)
            }))
        }
        "invoice.payment_failed" => {
            let Some(org) = org_for(db, o, customer.as_deref()).await? else {
                return Ok(None);
            };
            Ok(Some(Change {
                status: Some("past_due".to_owned()),
                ..change(org)
            }))
        }
        _ => Ok(None),
    }
}

async fn existing_org(db: &worker::D1Database, id: &str) -> Result<Option<String>, ApiError> {
    let row: Option<Value> =
        db::first(sql!(db, "SELECT id FROM organizations WHERE id = ?1", id)).await?;
    Ok(row.and_then(|r| r["id"].as_str().map(str::to_owned)))
}

/// The organization of a subscription or invoice: `metadata.org_id` if it names one, else the
/// organization linked to the Stripe customer by an earlier checkout.
async fn org_for(
    db: &worker::D1Database,
    o: &Value,
    customer: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if let Some(org) = str_at(o, &["metadata", "org_id"]).filter(|id| ids::is_id(IdKind::Org, id)) {
        if let Some(org) = existing_org(db, org).await? {
            return Ok(Some(org));
        }
    }
    let Some(customer) = customer else {
        return Ok(None);
    };
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT org_id FROM subscriptions WHERE customer_id = ?1",
        customer
    ))
    .await?;
    Ok(row.and_then(|r| r["org_id"].as_str().map(str::to_owned)))
}

pub async fn subscription(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::BillingManage)?;
    let db = db::database(&cx.env)?;
    let row: Option<Value> = db::first(sql!(
        db,
        "SELECT status, current_period_end, customer_id, subscription_id, price_id FROM subscriptions WHERE org_id = ?1",
        &access.org_id
    ))
    .await?;
    let row = row.unwrap_or(Value::Null);
    http::json(
        200,
        &json!({
            "plan": access.plan.as_str(),
            "status": row.get("status").cloned().unwrap_or(json!("none")),
            "current_period_end": row.get("current_period_end").cloned().unwrap_or(Value::Null),
            "customer_id": row.get("customer_id").cloned().unwrap_or(Value::Null),
            "subscription_id": row.get("subscription_id").cloned().unwrap_or(Value::Null),
            "price_id": row.get("price_id").cloned().unwrap_or(Value::Null),
        }),
    )
}

pub async fn usage(cx: &Ctx) -> ApiResult {
    let access = auth::org_access(cx, cx.param("org")).await?;
    access.require(Action::UsageRead)?;
    let now_ms = platform::now_ms();
    let (month, day) = (limits::month(now_ms), limits::day(now_ms));
    let db = crate::db::database(&cx.env)?;
    let (counters, events) = futures_util::join!(
        crate::limits::usage(&cx.env, &access.org_id),
        crate::events::today(&db, &access.org_id, &day)
    );
    let (counters, events) = (counters?, events?);
    let used = |kind: &str, period: &str| -> u64 {
        counters
            .get(kind)
            .filter(|c| c["period"].as_str() == Some(period))
            .and_then(|c| c["used"].as_u64())
            .unwrap_or(0)
    };
    let p = cx.config.limits.plan(access.plan);
    http::json(
        200,
        &json!({
            "plan": access.plan.as_str(),
            "period": {"month": month, "day": day},
            "requests": {"used": used("requests", &month), "limit_per_minute": p.requests_per_minute, "period": month},
            "documents": {"used": used("documents", &month), "limit": p.documents_per_month, "period": month},
            "storage_bytes": {"used": used("storage_bytes", ""), "limit": p.storage_bytes},
            "jobs": {"used": used("jobs", &day), "limit": p.jobs_per_day, "period": day},
            "room_connections": {"used": used("room_connections", ""), "limit": p.room_connections},
            "max_upload_bytes": p.max_upload_bytes,
            "webhook_events": {"used": events, "limit": p.webhook_events_per_day, "period": day},
            "ai_tokens": {"used": used("ai_tokens", &month), "limit": p.ai_tokens_per_month, "period": month,
                "prompt": used("ai_prompt_tokens", &month), "completion": used("ai_completion_tokens", &month)},
        }),
    )
}
