-- Exports of a user's data (POST /v1/me/exports): one row per export, assembled by the queue
-- consumer into one JSON object in R2 at `users/{user_id}/exports/{id}.json`, downloadable by a
-- signed URL that binds `sha256`, deleted by the sweep at `expires_at`. The rows go with the
-- user; the hard delete records an R2 purge of `users/{user_id}/` in the same batch.
CREATE TABLE account_exports (
  id            TEXT PRIMARY KEY,               -- exp_…
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'ready', 'failed', 'expired')),
  attempts      INTEGER NOT NULL DEFAULT 0,
  lease_until   INTEGER,                        -- unix ms while running
  size          INTEGER,                        -- bytes of the object, once ready
  sha256        TEXT,                           -- hex digest of the object, once ready
  counts        TEXT,                           -- JSON: rows per section, once ready
  error         TEXT,                           -- why the latest attempt failed
  request_id    TEXT NOT NULL,                  -- the request that started it
  created_at    TEXT NOT NULL,
  created_unix  INTEGER NOT NULL,               -- unix s (the per-day limit counts these)
  updated_at    TEXT NOT NULL,
  completed_at  TEXT,
  expires_at    INTEGER                         -- unix s: the object is deleted after it
);
CREATE INDEX account_exports_user ON account_exports (user_id, created_unix DESC);
CREATE INDEX account_exports_pending ON account_exports (status, updated_at) WHERE status IN ('queued', 'running');
CREATE INDEX account_exports_expiry ON account_exports (expires_at) WHERE status = 'ready';
