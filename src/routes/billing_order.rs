//! The glue of `edge_core::stripe_order`: the statement that records an event as the one
//! applied for its subscription (only if it supersedes the stored one), and the condition
//! every write of the event is bound to. Both are keyed by a value only this delivery knows
//! (`platform::claim`), never the client-chosen request id, so of two concurrent deliveries
//! of one event exactly one applies.

use crate::db::{self, V};
use edge_core::stripe_order::SUPERSEDES_SQL;
use edge_core::ApiError;
use worker::{D1Database, D1PreparedStatement};

/// One event's identity for the batch that applies it.
pub struct Claim<'a> {
    pub event_id: &'a str,
    pub claim: String,
    /// The subscription the event is about, with its `created` and whether it deletes it.
    pub subscription: Option<(&'a str, i64, bool)>,
}

impl Claim<'_> {
    /// `INSERT` of the per-subscription record, applied only by the delivery that recorded the
    /// event id and only if the event supersedes what was applied (`None` for events about no
    /// subscription).
    pub fn record(
        &self,
        db: &D1Database,
        org_id: &str,
        status: Option<&str>,
    ) -> Option<Result<D1PreparedStatement, ApiError>> {
        let (sub, created, deleted) = self.subscription?;
        Some(db::prepare(
            db,
            &format!(
                "INSERT INTO stripe_subscriptions (subscription_id, org_id, event_id, event_created, deleted, status) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
                 WHERE EXISTS (SELECT 1 FROM stripe_events WHERE id = ?3 AND request_id = ?7) \
                 ON CONFLICT (subscription_id) DO UPDATE SET org_id = excluded.org_id, \
                   event_id = excluded.event_id, event_created = excluded.event_created, \
                   deleted = excluded.deleted, status = COALESCE(excluded.status, status) \
                 WHERE {SUPERSEDES_SQL}"
            ),
            vec![
                V::from(sub).0,
                V::from(org_id).0,
                V::from(self.event_id).0,
                V::from(created).0,
                V::from(i64::from(deleted)).0,
                V::from(status.map(str::to_owned)).0,
                V::from(&self.claim).0,
            ],
        ))
    }

    /// `SELECT 1 …` true once this delivery recorded the event and (for an event about a
    /// subscription) it is now the one applied for it; with the arguments for `?1…`.
    pub fn applied(&self) -> (&'static str, Vec<V>) {
        match self.subscription {
            Some((sub, ..)) => (
                "SELECT 1 FROM stripe_events e JOIN stripe_subscriptions s ON s.event_id = e.id \
                 WHERE e.id = ?1 AND e.request_id = ?2 AND s.subscription_id = ?3",
                vec![V::from(self.event_id), V::from(&self.claim), V::from(sub)],
            ),
            None => (
                "SELECT 1 FROM stripe_events WHERE id = ?1 AND request_id = ?2",
                vec![V::from(self.event_id), V::from(&self.claim)],
            ),
        }
    }
}
