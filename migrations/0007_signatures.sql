-- Who created a job (part of the signed delivery envelope): 'system' for the edge's own work
-- (verification, reset and invitation emails, file.process after an upload), 'api' for jobs
-- made through POST /v1/orgs/{org}/jobs. Rows from before this migration count as 'api'.
ALTER TABLE jobs ADD COLUMN source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'system'));

-- Each organization's webhook secret is derived (HMAC of WEBHOOK_SIGNING_KEY over the org id
-- and this generation), so nothing secret is stored; rotating increments the generation.
-- webhook_secret_rotated_at: when the current generation began (NULL: since the org's creation).
ALTER TABLE organizations ADD COLUMN webhook_secret_generation INTEGER NOT NULL DEFAULT 1
  CHECK (webhook_secret_generation >= 1);
ALTER TABLE organizations ADD COLUMN webhook_secret_rotated_at TEXT;
