-- Issue 19: events (a transactional outbox) and customer webhook endpoints.

-- Every domain change, written in the same batch as the change itself. `payload` is the
-- envelope receivers get ({id,type,version,org_id,occurred_at,data}), kept as JSON text so
-- each delivery sends exactly the same bytes. Removed after the plan's retention period.
CREATE TABLE events (
  id           TEXT PRIMARY KEY,                 -- evt_…
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  type         TEXT NOT NULL,
  payload      TEXT NOT NULL,                    -- JSON envelope
  occurred_at  TEXT NOT NULL                     -- RFC 3339
);
CREATE INDEX events_org_occurred ON events (org_id, occurred_at DESC, id DESC);
CREATE INDEX events_org_type_occurred ON events (org_id, type, occurred_at DESC, id DESC);
CREATE INDEX events_occurred ON events (occurred_at);

-- The customer's receivers. The signing secret is not stored: it is derived from
-- WEBHOOK_SIGNING_KEY, the endpoint id and `secret_generation`; during a rotation the
-- previous generation signs too until `previous_until` (unix ms).
CREATE TABLE webhook_endpoints (
  id                 TEXT PRIMARY KEY,           -- whe_…
  org_id             TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  url                TEXT NOT NULL,
  filter             TEXT NOT NULL,              -- JSON array of patterns (edge_core::webhooks)
  description        TEXT NOT NULL DEFAULT '',
  enabled            INTEGER NOT NULL DEFAULT 1,
  secret_generation  INTEGER NOT NULL DEFAULT 1,
  previous_until     INTEGER,                    -- unix ms: the previous secret signs until then
  failing_since      INTEGER,                    -- unix ms of the first failure of a failing streak
  disabled_reason    TEXT,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id, enabled, created_at DESC, id DESC);

-- One row per (event, endpoint subscribed when the event happened), written with the event.
-- `status`: pending (due at next_attempt_at) → delivering (leased) → succeeded | failed.
CREATE TABLE webhook_deliveries (
  event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
  endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  org_id           TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,             -- unix ms
  lease_until      INTEGER,                      -- unix ms, while delivering
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_org_day ON webhook_deliveries (org_id, created_at);

-- The attempt log: one row per HTTP attempt.
CREATE TABLE webhook_attempts (
  event_id       TEXT NOT NULL,
  endpoint_id    TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  attempt        INTEGER NOT NULL,
  outcome        TEXT NOT NULL,                  -- succeeded | failed | timeout | unreachable | blocked
  response_code  INTEGER,
  latency_ms     INTEGER NOT NULL,
  response_head  TEXT,                           -- the first 1 KiB of the answer
  at             TEXT NOT NULL,
  PRIMARY KEY (endpoint_id, event_id, attempt)
);
CREATE INDEX webhook_attempts_endpoint_at ON webhook_attempts (endpoint_id, at DESC);

-- Events per organization per UTC day that fanned out to endpoints (the plan's
-- `webhook_events_per_day`): bumped in the event's own batch, so the limit is exact.
CREATE TABLE event_volume (
  org_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  day     TEXT NOT NULL,                         -- YYYY-MM-DD (UTC)
  events  INTEGER NOT NULL,
  PRIMARY KEY (org_id, day)
);
