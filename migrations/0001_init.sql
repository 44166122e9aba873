-- Foundation schema: organizations, users, memberships, jobs.
-- Applied migrations are never edited; later capabilities add new files.

CREATE TABLE organizations (
  id          TEXT PRIMARY KEY,                 -- org_…
  name        TEXT NOT NULL,
  plan        TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE users (
  id              TEXT PRIMARY KEY,             -- usr_…
  email           TEXT NOT NULL,                -- stored lower-cased
  name            TEXT NOT NULL,
  password_hash   TEXT NOT NULL,                -- PHC string
  email_verified  INTEGER NOT NULL DEFAULT 0,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email);

CREATE TABLE memberships (
  org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role        TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE jobs (
  id           TEXT PRIMARY KEY,                -- job_…
  -- NULL for account-level jobs (verification and password-reset emails).
  org_id       TEXT REFERENCES organizations (id) ON DELETE CASCADE,
  type         TEXT NOT NULL CHECK (type IN ('email', 'file.process', 'ai.generate', 'webhook.deliver')),
  status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead')),
  payload      TEXT NOT NULL,                   -- JSON
  attempts     INTEGER NOT NULL DEFAULT 0,
  result       TEXT,                            -- JSON kept from the origin's 2xx answer
  error        TEXT,
  lease_until  INTEGER,                         -- unix ms; a running job past it may be retaken
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_org_created ON jobs (org_id, created_at DESC, id DESC);
CREATE INDEX jobs_org_status_created ON jobs (org_id, status, created_at DESC, id DESC);
CREATE INDEX jobs_stuck ON jobs (status, lease_until);
