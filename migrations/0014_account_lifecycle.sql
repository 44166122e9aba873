-- The account lifecycle: soft delete with a grace period, restore tokens, and audit entries
-- that commit to their personal fields through a salted digest (so the hard delete can
-- anonymise them while the chain stays verifiable; see edge_core::audit).

-- Set by DELETE /v1/me; the sweep removes the account once `purge_at` (unix s) has passed.
ALTER TABLE users ADD COLUMN deleted_at TEXT;
ALTER TABLE users ADD COLUMN purge_at INTEGER;
CREATE INDEX users_purge ON users (purge_at) WHERE purge_at IS NOT NULL;

-- Single-use, short-lived: handed out by a login during the grace period.
CREATE TABLE account_restores (
  hash        TEXT PRIMARY KEY,                 -- SHA-256 of the secret
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,                 -- unix s
  used_at     TEXT
);
CREATE INDEX account_restores_user ON account_restores (user_id);

-- v2 audit entries: NULL for the entries written before this migration (v1, verified as
-- before). `pii_salt` is cleared when an entry is anonymised.
ALTER TABLE audit_log ADD COLUMN pii_digest TEXT;
ALTER TABLE audit_log ADD COLUMN pii_salt TEXT;
