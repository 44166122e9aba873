-- Plans, Stripe subscriptions and usage reporting.

-- The organization's subscription as Stripe last told us. organizations.plan is what limits
-- read on every request; these rows explain it.
CREATE TABLE subscriptions (
  org_id              TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  customer_id         TEXT,
  subscription_id     TEXT,
  price_id            TEXT,
  status              TEXT NOT NULL,             -- active | trialing | past_due | canceled | …
  current_period_end  TEXT,
  updated_at          TEXT NOT NULL
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id);

-- Every Stripe event id we applied: a replay (also a concurrent one) changes nothing.
CREATE TABLE stripe_events (
  id           TEXT PRIMARY KEY,                  -- evt_…
  type         TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  request_id   TEXT NOT NULL                      -- the delivery that applied it
);

-- Usage counters copied from each organization's TENANT object by its alarm.
CREATE TABLE usage_counters (
  org_id      TEXT NOT NULL,
  metric      TEXT NOT NULL,
  period      TEXT NOT NULL,
  value       INTEGER NOT NULL,
  updated_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, metric, period)
);
