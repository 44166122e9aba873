//! The outbox: a domain change's event is two statements added to the change's own D1 batch,
//! the event row and its fan-out (one `webhook_deliveries` row per endpoint of the org that is
//! enabled and subscribed to the type *at that moment*, by `INSERT … SELECT`). Both commit or
//! roll back with the change. After the commit the event's id is put on the `JOBS` queue
//! ([`kick`]); a lost message is re-sent by the sweep, so nothing depends on it arriving.
//! The catalogue (types, envelope) is `edge_core::events`; delivery is `webhooks::deliver`.

use crate::ctx::Ctx;
use crate::db::{self, V};
use crate::platform;
use edge_core::events as catalogue;
use edge_core::ids::IdKind;
use edge_core::limits::Plan;
use edge_core::sql::shift_params;
use edge_core::webhooks::MATCH_SQL;
use edge_core::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, Env};

/// The queue message that starts (or retries) deliveries: every due delivery of `event`, or
/// only the one to `endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub webhook_event: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// Part of the payload computed by SQL from a row the same batch wrote (e.g. the document as
/// the update left it): `json_set(envelope, path, expr)` over `from`.
#[derive(Debug, Clone)]
struct FromRow {
    path: &'static str,
    expr: &'static str,
    from: String,
    args: Vec<V>,
}

/// One event to write in a batch.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub org_id: String,
    pub ty: &'static str,
    pub occurred_at: String,
    data: Value,
    row: Option<FromRow>,
    only_if: Option<(String, Vec<V>)>,
}

impl Event {
    pub fn new(org_id: &str, ty: &'static str, data: Value) -> Self {
        debug_assert!(catalogue::is_type(ty), "{ty} is not in the catalogue");
        Event {
            id: platform::new_id(IdKind::Event),
            org_id: org_id.to_owned(),
            ty,
            occurred_at: platform::rfc3339(platform::now()),
            data,
            row: None,
            only_if: None,
        }
    }

    /// Sets `path` (e.g. `$.data.document`) to the JSON `expr` computed over `from` (`FROM t
    /// WHERE …` with its own `?1…`); no row, no event.
    pub fn with_row(
        mut self,
        path: &'static str,
        expr: &'static str,
        from: &str,
        args: Vec<V>,
    ) -> Self {
        self.row = Some(FromRow {
            path,
            expr,
            from: from.to_owned(),
            args,
        });
        self
    }

    /// Writes the event only if the `EXISTS (…)` subquery `sql` (own `?1…`) holds once the
    /// batch's earlier statements ran (e.g. "the conditional update took effect").
    pub fn only_if(mut self, sql: &str, args: Vec<V>) -> Self {
        self.only_if = Some((sql.to_owned(), args));
        self
    }

    /// The envelope as stored and sent (without what [`Event::with_row`] adds).
    pub fn envelope(&self) -> Value {
        catalogue::envelope(
            &self.id,
            self.ty,
            &self.org_id,
            &self.occurred_at,
            self.data.clone(),
        )
    }

    /// The event row, the org's daily event count and the fan-out (to the endpoints subscribed
    /// now, while the day's count is within the plan), to append to the change's batch. Only
    /// the first statement is the event itself.
    pub fn statements(&self, db: &D1Database) -> Result<Vec<D1PreparedStatement>, ApiError> {
        let mut args: Vec<V> = vec![
            V::from(&self.id),
            V::from(&self.org_id),
            V::from(self.ty),
            V::from(self.envelope().to_string()),
            V::from(&self.occurred_at),
        ];
        let mut sql = String::from(
            "INSERT INTO events (id, org_id, type, payload, occurred_at) SELECT ?1, ?2, ?3, ",
        );
        let mut has_where = false;
        match &self.row {
            Some(r) => {
                sql.push_str(&format!("json_set(?4, '{}', {}), ?5 ", r.path, r.expr));
                sql.push_str(&shift_params(&r.from, args.len()));
                has_where = r.from.to_ascii_uppercase().contains(" WHERE ");
                args.extend(r.args.iter().cloned());
            }
            None => sql.push_str("?4, ?5"),
        }
        if let Some((cond, cond_args)) = &self.only_if {
            sql.push_str(if has_where { " AND " } else { " WHERE " });
            sql.push_str(&format!("EXISTS ({})", shift_params(cond, args.len())));
            args.extend(cond_args.iter().cloned());
        }
        let event = db::prepare(db, &sql, args.into_iter().map(|v| v.0).collect())?;
        let now_ms = platform::now_ms();
        let day = edge_core::limits::day(now_ms);
        // The org's events today, counted in this batch: the plan's daily volume is exact.
        let volume = db::prepare(
            db,
            "INSERT INTO event_volume (org_id, day, events) SELECT ?1, ?2, 1 \
             WHERE EXISTS (SELECT 1 FROM events WHERE id = ?3) \
             ON CONFLICT (org_id, day) DO UPDATE SET events = events + 1",
            vec![
                V::from(&self.org_id).0,
                V::from(&day).0,
                V::from(&self.id).0,
            ],
        )?;
        let limits = crate::config::cached()
            .map(|c| c.limits.clone())
            .unwrap_or_default();
        let per_day = |plan| {
            V::from(i64::try_from(limits.plan(plan).webhook_events_per_day).unwrap_or(i64::MAX)).0
        };
        let fan_out = db::prepare(
            db,
            &format!(
                "INSERT INTO webhook_deliveries (event_id, endpoint_id, org_id, status, attempts, next_attempt_at, created_at, updated_at) \
                 SELECT ?1, e.id, e.org_id, 'pending', 0, ?3, ?4, ?4 FROM webhook_endpoints e \
                 WHERE e.org_id = ?2 AND e.enabled = 1 AND {} AND EXISTS (SELECT 1 FROM events WHERE id = ?1) \
                 AND (SELECT v.events FROM event_volume v WHERE v.org_id = ?2 AND v.day = ?6) <= \
                 CASE (SELECT o.plan FROM organizations o WHERE o.id = ?2) WHEN 'pro' THEN ?8 WHEN 'enterprise' THEN ?9 ELSE ?7 END",
                MATCH_SQL.replace("?T", "?5")
            ),
            vec![
                V::from(&self.id).0,
                V::from(&self.org_id).0,
                V::from(now_ms).0,
                V::from(&self.occurred_at).0,
                V::from(self.ty).0,
                V::from(&day).0,
                per_day(Plan::Free),
                per_day(Plan::Pro),
                per_day(Plan::Enterprise),
            ],
        )?;
        Ok(vec![event, volume, fan_out])
    }
}

/// A document row as the JSON of its events' `data.document` (what `summary` shows), for
/// `events::Event::with_row` over `documents`.
const DOC_EVENT_JSON: &str = "json_object('id', id, 'org_id', org_id, 'title', title, \
     'status', status, 'version', version, 'owner_id', owner_id, 'created_at', created_at, \
     'updated_at', updated_at, 'deleted_at', deleted_at)";

/// The event `ty` of the document row this request's claim marks (`last_request_id`), by
/// `actor`: written in the change's batch, only if the change took effect.
pub fn document(
    org_id: &str,
    ty: &'static str,
    doc_id: &str,
    claim: &str,
    actor: &str,
) -> crate::events::Event {
    Event::new(
        org_id,
        ty,
        serde_json::json!({"document": null, "actor": {"id": actor}}),
    )
    .with_row(
        "$.data.document",
        DOC_EVENT_JSON,
        "FROM documents WHERE id = ?1 AND last_request_id = ?2",
        vec![db::V::from(doc_id), db::V::from(claim)],
    )
}

/// The `quota.threshold_crossed` event of a consumption of `amount` that brought `quota` to
/// `used` of `limit` in `period`, when it crossed one of the announced thresholds.
pub fn quota_crossed(
    org_id: &str,
    quota: &str,
    used: u64,
    amount: u64,
    limit: u64,
    period: &str,
) -> Option<Event> {
    let t = edge_core::thresholds::threshold_crossed(used, amount, limit)?;
    Some(Event::new(
        org_id,
        "quota.threshold_crossed",
        serde_json::json!({"quota": quota, "threshold_percent": t, "used": used, "limit": limit, "period": period}),
    ))
}

/// Writes `event` in a batch of its own (for a fact whose change is committed elsewhere, such
/// as a quota threshold) and notes it for [`kick`]; a failure is logged, nothing else.
pub async fn write_alone(cx: &Ctx, db: &D1Database, event: &Event) {
    if write_fact(db, event).await {
        committed(cx, &[event]);
    }
}

/// [`write_alone`] outside a request (the Queue consumer): the event's queue message is sent
/// at once.
pub async fn write_alone_now(env: &Env, db: &D1Database, event: &Event) {
    if write_fact(db, event).await {
        send(env, std::slice::from_ref(&event.id)).await;
    }
}

/// Writes `event` alone; whether its fan-out created a delivery.
async fn write_fact(db: &D1Database, event: &Event) -> bool {
    let mut stmts = Vec::new();
    let Ok(at) = append(&mut stmts, db, event) else {
        return false; // already logged by the glue
    };
    match db::batch(db, stmts).await {
        Ok(results) => fanned_out(&results, at),
        Err(e) => {
            let _ = crate::http::internal("write event", e);
            false
        }
    }
}

/// The organization's events on UTC day `day` (`YYYY-MM-DD`), as the volume limit counts them.
pub async fn today(db: &D1Database, org_id: &str, day: &str) -> Result<u64, ApiError> {
    #[derive(Deserialize)]
    struct Count {
        events: u64,
    }
    let row: Option<Count> = db::first(crate::sql!(
        db,
        "SELECT events FROM event_volume WHERE org_id = ?1 AND day = ?2",
        org_id,
        day
    ))
    .await?;
    Ok(row.map_or(0, |c| c.events))
}

/// Appends `event`'s statements to a change's batch; returns the index of its fan-out there,
/// for [`fanned_out`].
pub fn append(
    stmts: &mut Vec<D1PreparedStatement>,
    db: &D1Database,
    event: &Event,
) -> Result<usize, ApiError> {
    let own = event.statements(db)?;
    let at = stmts.len() + own.len() - 1;
    stmts.extend(own);
    Ok(at)
}

/// Whether the fan-out at `at` of a committed batch created a delivery: only then is a queue
/// message worth sending (an organization without subscribed endpoints costs no consumer run).
pub fn fanned_out(results: &[worker::D1Result], at: usize) -> bool {
    results.get(at).is_none_or(|r| db::changes(r) > 0)
}

/// Notes events this request committed, for [`kick`] once the response is out.
pub fn committed(cx: &Ctx, events: &[&Event]) {
    cx.outbox
        .borrow_mut()
        .extend(events.iter().map(|e| e.id.clone()));
}

/// Sends the queue messages of the events this request committed, after the response.
pub fn kick(cx: &Ctx) {
    let ids = std::mem::take(&mut *cx.outbox.borrow_mut());
    if ids.is_empty() {
        return;
    }
    let env = cx.env.clone();
    cx.ctx.wait_until(async move { send(&env, &ids).await });
}

/// Sends one message per event now; a failure is logged (the sweep re-sends).
pub async fn send(env: &Env, ids: &[String]) {
    let queue = match env.queue("JOBS") {
        Ok(q) => q,
        Err(e) => {
            let _ = crate::http::internal("JOBS binding (events)", e);
            return;
        }
    };
    let messages: Vec<Message> = ids
        .iter()
        .map(|id| Message {
            webhook_event: id.clone(),
            endpoint: None,
        })
        .collect();
    for chunk in messages.chunks(100) {
        if let Err(e) = queue
            .send_batch(
                chunk
                    .iter()
                    .cloned()
                    .map(worker::SendMessage::from)
                    .collect::<Vec<_>>(),
            )
            .await
        {
            let _ = crate::http::internal("send event messages (the sweep will resend)", e);
        }
    }
}
