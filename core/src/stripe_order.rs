//! Stripe does not deliver events in order (nor only once). Per subscription id the edge keeps
//! the `created` time of the event it last applied and whether the subscription was deleted;
//! an event about a subscription applies only if it [`supersedes`] that record:
//!
//! - nothing was applied for the subscription yet: it applies;
//! - the subscription's deletion was applied: nothing applies any more (Stripe never revives a
//!   canceled subscription; a renewal is a new subscription with a new id);
//! - a deletion applies over any earlier state, whatever its `created` (so at equal `created`
//!   the terminal state wins);
//! - any other event applies if its `created` is not older than the applied one's (events of
//!   the same second apply in arrival order: Stripe's clock has whole seconds).

use serde_json::Value;

/// What was applied (or is offered) for one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// The event's `created` (Unix seconds).
    pub created: i64,
    /// The event deleted the subscription (`customer.subscription.deleted`).
    pub deleted: bool,
}

/// Whether `incoming` is applied over what was applied so far.
pub fn supersedes(stored: Option<Applied>, incoming: Applied) -> bool {
    match stored {
        None => true,
        Some(s) if s.deleted => false,
        Some(_) if incoming.deleted => true,
        Some(s) => incoming.created >= s.created,
    }
}

/// [`supersedes`] as SQL for `INSERT INTO stripe_subscriptions … ON CONFLICT DO UPDATE SET …
/// WHERE <this>`: the stored row is `stripe_subscriptions`, the offered one `excluded` (no
/// stored row: the insert itself applies).
pub const SUPERSEDES_SQL: &str = "stripe_subscriptions.deleted = 0 AND \
     (excluded.deleted = 1 OR excluded.event_created >= stripe_subscriptions.event_created)";

/// The subscription an event is about: the object itself for `customer.subscription.*`, its
/// `subscription` member for checkout sessions and invoices (none for one-off payments).
pub fn subscription_id<'a>(kind: &str, object: &'a Value) -> Option<&'a str> {
    let id = if kind.starts_with("customer.subscription.") {
        object.get("id")
    } else {
        object
            .get("subscription")
            .or_else(|| object.pointer("/parent/subscription_details/subscription"))
    };
    id.and_then(Value::as_str).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const fn at(created: i64, deleted: bool) -> Applied {
        Applied { created, deleted }
    }

    #[test]
    fn first_event_applies() {
        assert!(supersedes(None, at(5, false)));
        assert!(supersedes(None, at(5, true)));
    }

    #[test]
    fn older_updates_do_not_apply() {
        assert!(!supersedes(Some(at(2, false)), at(1, false)));
        assert!(supersedes(Some(at(1, false)), at(2, false)));
        // The same second: arrival order.
        assert!(supersedes(Some(at(2, false)), at(2, false)));
    }

    #[test]
    fn a_deletion_is_terminal_and_wins_ties() {
        // deleted (t=2) then an older update (t=1): stays deleted.
        assert!(!supersedes(Some(at(2, true)), at(1, false)));
        // The reverse order: the deletion applies.
        assert!(supersedes(Some(at(1, false)), at(2, true)));
        // Ties prefer the deletion, in either order.
        assert!(supersedes(Some(at(2, false)), at(2, true)));
        assert!(!supersedes(Some(at(2, true)), at(2, false)));
        // A deletion applies even over a "newer" update (Stripe's deletion is final).
        assert!(supersedes(Some(at(3, false)), at(2, true)));
        // Nothing after a deletion, newer or not; a replayed deletion changes nothing.
        assert!(!supersedes(Some(at(2, true)), at(9, false)));
        assert!(!supersedes(Some(at(2, true)), at(9, true)));
    }

    #[test]
    fn either_order_ends_in_the_same_state() {
        let events = [at(1, false), at(2, true)];
        for order in [[0, 1], [1, 0]] {
            let mut stored = None;
            for i in order {
                if supersedes(stored, events[i]) {
                    stored = Some(events[i]);
                }
            }
            assert_eq!(stored, Some(at(2, true)), "order {order:?}");
        }
    }

    #[test]
    fn subscription_ids() {
        let sub = json!({"id": "sub_1", "subscription": "sub_x"});
        assert_eq!(
            subscription_id("customer.subscription.updated", &sub),
            Some("sub_1")
        );
        let cs = json!({"id": "cs_1", "subscription": "sub_2"});
        assert_eq!(
            subscription_id("checkout.session.completed", &cs),
            Some("sub_2")
        );
        let inv =
            json!({"id": "in_1", "parent": {"subscription_details": {"subscription": "sub_3"}}});
        assert_eq!(
            subscription_id("invoice.payment_failed", &inv),
            Some("sub_3")
        );
        assert_eq!(
            subscription_id("invoice.payment_failed", &json!({"id": "in_2"})),
            None
        );
        assert_eq!(
            subscription_id("checkout.session.completed", &json!({"subscription": null})),
            None
        );
    }
}
