//! Appending to the audit log: entries join the same D1 batch as the write they describe, so
//! an action and its record commit together. The chain (see `edge_core::audit`) needs each
//! organization's last hash; two concurrent appends race for the next `seq`, the loser's
//! whole batch rolls back on the primary key, and it is retried with the new head.

use crate::db::{self, V};
use crate::platform;
use crate::sql;
use edge_core::audit::{self, Entry, StoredEntry, GENESIS};
use edge_core::ApiError;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, D1PreparedStatement, D1Result};

/// The chain of events that belong to no organization (failed logins for unknown emails).
pub const PLATFORM: &str = "_platform";

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<String>,
}

impl Actor {
    pub fn user(id: &str) -> Self {
        Self {
            kind: "user",
            id: Some(id.to_owned()),
        }
    }
    pub fn api_key(id: &str) -> Self {
        Self {
            kind: "api_key",
            id: Some(id.to_owned()),
        }
    }
    /// The platform itself (the sweep).
    pub fn system() -> Self {
        Self {
            kind: "system",
            id: None,
        }
    }
    pub fn anonymous() -> Self {
        Self {
            kind: "anonymous",
            id: None,
        }
    }
}

/// One event to record, in one organization's chain.
#[derive(Debug, Clone)]
pub struct Event {
    pub org_id: String,
    pub action: &'static str,
    pub actor: Actor,
    pub target: Option<(&'static str, String)>,
    pub details: Value,
    /// Record the event only if this SQL condition holds after the batch's earlier statements
    /// (e.g. "the conditional update took effect"): `(sql, args)` of an `EXISTS (…)` subquery.
    pub only_if: Option<(String, Vec<V>)>,
}

impl Event {
    pub fn new(org_id: &str, action: &'static str, actor: Actor) -> Self {
        Self {
            org_id: org_id.to_owned(),
            action,
            actor,
            target: None,
            details: Value::Object(Default::default()),
            only_if: None,
        }
    }
    pub fn target(mut self, kind: &'static str, id: &str) -> Self {
        self.target = Some((kind, id.to_owned()));
        self
    }
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
    pub fn only_if(mut self, exists_sql: &str, args: Vec<V>) -> Self {
        self.only_if = Some((exists_sql.to_owned(), args));
        self
    }
}

/// Request facts every entry carries.
#[derive(Debug, Clone)]
pub struct Origin {
    pub ip: Option<String>,
    pub request_id: String,
    /// Where the ids of the public events the entries announce go once committed (the
    /// request's outbox, `Ctx::outbox`); `None` drops them (the sweep still delivers).
    pub outbox: Option<std::rc::Rc<std::cell::RefCell<Vec<String>>>>,
}

/// Attempts at appending before giving up with a 409 (with jittered backoff between them,
/// this covers dozens of simultaneous writers to one organization).
const MAX_ATTEMPTS: u32 = 40;

#[derive(Deserialize)]
struct Head {
    seq: i64,
    hash: String,
}

/// The statements a change writes with its audit entries (rebuilt on every attempt).
pub type Build<'a> = &'a dyn Fn() -> Result<Vec<D1PreparedStatement>, ApiError>;

/// Runs `build()`'s statements and the audit entries for `events` as one batch, retrying on a
/// lost race for the chain's next `seq`. Returns the results of `build()`'s statements.
///
/// Generic only in name: the body is [`write_built`], compiled once for every caller (36 call
/// sites would otherwise each carry their own copy of this retry loop in the wasm).
pub async fn write<F>(
    db: &D1Database,
    origin: &Origin,
    events: &[Event],
    build: F,
) -> Result<Vec<D1Result>, WriteError>
where
    F: Fn() -> Result<Vec<D1PreparedStatement>, ApiError>,
{
    write_built(db, origin, events, &build).await
}

/// [`write`], with the statements behind a trait object.
pub async fn write_built(
    db: &D1Database,
    origin: &Origin,
    events: &[Event],
    build: Build<'_>,
) -> Result<Vec<D1Result>, WriteError> {
    for attempt in 0..MAX_ATTEMPTS {
        if attempt > 0 {
            // Concurrent writers to one organization take turns: back off with jitter so
            // they do not collide again in lockstep.
            let ceiling = 5.0 + 20.0 * f64::from(attempt.min(10));
            let wait = (ceiling * platform::unit_random()) as u64 + 1;
            worker::Delay::from(std::time::Duration::from_millis(wait)).await;
        }
        let mut stmts = build().map_err(WriteError::Api)?;
        let n = stmts.len();
        stmts.extend(entries(db, origin, events).await.map_err(WriteError::Api)?);
        // The public events these entries announce join the same batch (the outbox).
        let announced: Vec<crate::events::Event> = events.iter().flat_map(announced).collect();
        let mut fan_outs = Vec::with_capacity(announced.len());
        for e in &announced {
            fan_outs.push(crate::events::append(&mut stmts, db, e).map_err(WriteError::Api)?);
        }
        match db::batch(db, stmts).await {
            Ok(mut results) => {
                if let Some(outbox) = &origin.outbox {
                    // Only events that reached an endpoint need a queue message.
                    outbox.borrow_mut().extend(
                        announced
                            .into_iter()
                            .zip(fan_outs)
                            .filter(|(_, at)| crate::events::fanned_out(&results, *at))
                            .map(|(e, _)| e.id),
                    );
                }
                results.truncate(n);
                return Ok(results);
            }
            Err(e) if db::is_unique_violation(&e, "audit_log") => continue,
            Err(e) => return Err(WriteError::Db(e)),
        }
    }
    Err(WriteError::Api(ApiError::conflict(
        "Too many concurrent changes to this organization; try again.",
    )))
}

/// The public events an audited change announces (`edge_core::events::from_audit`), guarded
/// like the entry itself.
fn announced(entry: &Event) -> Vec<crate::events::Event> {
    if entry.org_id == PLATFORM {
        return Vec::new();
    }
    edge_core::events::from_audit(entry.action)
        .iter()
        .map(|ty| {
            let target = entry.target.as_ref().map(|(k, id)| (*k, id.as_str()));
            let data = edge_core::events::audit_data(
                target,
                entry.actor.kind,
                entry.actor.id.as_deref(),
                &entry.details,
            );
            let ev = crate::events::Event::new(&entry.org_id, ty, data);
            match &entry.only_if {
                Some((sql, args)) => ev.only_if(sql, args.clone()),
                None => ev,
            }
        })
        .collect()
}

/// Appends events with no other write.
pub async fn record(db: &D1Database, origin: &Origin, events: &[Event]) -> Result<(), ApiError> {
    write(db, origin, events, || Ok(Vec::new()))
        .await
        .map_err(WriteError::into_api)
        .map(|_| ())
}

#[derive(Debug)]
pub enum WriteError {
    Api(ApiError),
    Db(worker::Error),
}

impl WriteError {
    pub fn into_api(self) -> ApiError {
        match self {
            WriteError::Api(e) => e,
            WriteError::Db(e) => crate::http::internal("batch write", e),
        }
    }
}

async fn entries(
    db: &D1Database,
    origin: &Origin,
    events: &[Event],
) -> Result<Vec<D1PreparedStatement>, ApiError> {
    let now = platform::rfc3339(platform::now());
    let mut heads: Vec<(String, i64, String)> = Vec::new();
    let mut out = Vec::new();
    for ev in events {
        let (seq, prev) = match heads.iter().find(|(o, ..)| *o == ev.org_id) {
            Some((_, seq, hash)) => (*seq, hash.clone()),
            None => {
                let head: Option<Head> = db::first(sql!(
                    db,
                    "SELECT seq, hash FROM audit_log WHERE org_id = ?1 ORDER BY seq DESC LIMIT 1",
                    &ev.org_id
                ))
                .await?;
                head.map(|h| (h.seq, h.hash))
                    .unwrap_or((0, GENESIS.to_owned()))
            }
        };
        let entry = Entry {
            org_id: ev.org_id.clone(),
            seq: seq + 1,
            action: ev.action.to_owned(),
            actor_type: ev.actor.kind.to_owned(),
            actor_id: ev.actor.id.clone(),
            target_type: ev.target.as_ref().map(|t| t.0.to_owned()),
            target_id: ev.target.as_ref().map(|t| t.1.clone()),
            ip: origin.ip.clone(),
            request_id: origin.request_id.clone(),
            details: ev.details.to_string(),
            created_at: now.clone(),
            pii_digest: None,
            pii_salt: None,
        }
        .sealed(edge_core::encoding::hex(&platform::random::<16>()));
        let hash = audit::entry_hash(&prev, &entry);
        heads.retain(|(o, ..)| *o != ev.org_id);
        heads.push((ev.org_id.clone(), entry.seq, hash.clone()));
        out.push(insert(db, &entry, &prev, &hash, ev.only_if.as_ref())?);
    }
    Ok(out)
}

fn insert(
    db: &D1Database,
    e: &Entry,
    prev: &str,
    hash: &str,
    only_if: Option<&(String, Vec<V>)>,
) -> Result<D1PreparedStatement, ApiError> {
    let mut args = vec![
        V::from(&e.org_id).0,
        V::from(e.seq).0,
        V::from(&e.action).0,
        V::from(&e.actor_type).0,
        V::from(e.actor_id.clone()).0,
        V::from(e.target_type.clone()).0,
        V::from(e.target_id.clone()).0,
        V::from(e.ip.clone()).0,
        V::from(&e.request_id).0,
        V::from(&e.details).0,
        V::from(&e.created_at).0,
        V::from(prev).0,
        V::from(hash).0,
        V::from(e.pii_digest.clone()).0,
        V::from(e.pii_salt.clone()).0,
    ];
    let guard = match only_if {
        Some((cond, cond_args)) => {
            // Renumber the condition's ?N placeholders after the entry's 15.
            let cond = edge_core::sql::shift_params(cond, 15);
            args.extend(cond_args.iter().map(|v| v.0.clone()));
            format!(" WHERE EXISTS ({cond})")
        }
        None => String::new(),
    };
    let sql = format!(
        "INSERT INTO audit_log (org_id, seq, action, actor_type, actor_id, target_type, \
         target_id, ip, request_id, details, created_at, prev_hash, hash, pii_digest, pii_salt) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15{guard}"
    );
    db::prepare(db, &sql, args)
}

/// One keyset page of an organization's chain for verification: up to `limit` entries with
/// `seq > after_seq`, oldest first.
pub async fn chain_page(
    db: &D1Database,
    org_id: &str,
    after_seq: i64,
    limit: usize,
) -> Result<Vec<StoredEntry>, ApiError> {
    db::all(sql!(
        db,
        "SELECT * FROM audit_log WHERE org_id = ?1 AND seq > ?2 ORDER BY seq ASC LIMIT ?3",
        org_id,
        after_seq,
        limit as u32
    ))
    .await
}

/// How many entries the chain has and the hash of its last one.
pub async fn chain_extent(
    db: &D1Database,
    org_id: &str,
) -> Result<(u64, Option<String>), ApiError> {
    #[derive(serde::Deserialize)]
    struct Extent {
        n: i64,
        head: Option<String>,
    }
    let row: Option<Extent> = db::first(sql!(
        db,
        "SELECT COUNT(*) AS n, (SELECT hash FROM audit_log WHERE org_id = ?1 ORDER BY seq DESC LIMIT 1) AS head \
         FROM audit_log WHERE org_id = ?1",
        org_id
    ))
    .await?;
    Ok(row.map_or((0, None), |r| (r.n.max(0) as u64, r.head)))
}
