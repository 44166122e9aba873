-- Issue 13: one-time things and ordering.

-- Stripe does not order its events: per subscription, the event last applied (its `created`)
-- and the subscription's state then; an event applies only if it supersedes this row
-- (edge_core::stripe_order). Deleted is terminal.
CREATE TABLE stripe_subscriptions (
  subscription_id  TEXT PRIMARY KEY,                -- sub_…
  org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  event_id         TEXT NOT NULL,                   -- the event applied last
  event_created    INTEGER NOT NULL,                -- its `created` (unix s)
  deleted          INTEGER NOT NULL DEFAULT 0,      -- 1 once customer.subscription.deleted applied
  status           TEXT                             -- the subscription's status as that event said
);
CREATE INDEX stripe_subscriptions_org ON stripe_subscriptions (org_id);

-- The request that holds an Idempotency-Key record in flight: a value the server generated
-- for that request. Completing, releasing or taking over a record is conditional on it.
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;

-- The "request_id" / "used_by" / "last_request_id" claim columns of earlier migrations now
-- hold per-request server-generated values (never the client-chosen X-Request-Id).
