-- Identity and access: sessions with rotating refresh tokens, API keys, invitations,
-- password resets, and the tamper-evident audit log.

-- A session is one sign-in; its refresh tokens rotate, and reuse of a spent one revokes it.
-- Every authenticated request reads its row (joined with the membership it needs anyway),
-- so revocation takes effect at once.
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY,               -- ses_…
  user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at    TEXT NOT NULL,
  expires_at    INTEGER NOT NULL,               -- unix s: end of the last refresh token's life
  revoked_at    TEXT,
  revoke_reason TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Refresh tokens by SHA-256 of the secret; `used_at` marks a spent one (single use).
CREATE TABLE refresh_tokens (
  hash        TEXT PRIMARY KEY,
  session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,                 -- unix s
  used_at     TEXT,
  rotated_to  TEXT                              -- hash of the token that replaced it
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE api_keys (
  id            TEXT PRIMARY KEY,               -- key_…
  org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  prefix        TEXT NOT NULL,                  -- first characters, for recognising a key
  hash          TEXT NOT NULL,                  -- SHA-256 of the secret
  scopes        TEXT NOT NULL,                  -- JSON array
  created_by    TEXT,
  created_at    TEXT NOT NULL,
  expires_at    TEXT,
  revoked_at    TEXT,
  last_used_at  TEXT
);
CREATE UNIQUE INDEX api_keys_hash ON api_keys (hash);
CREATE INDEX api_keys_org_created ON api_keys (org_id, created_at DESC, id DESC);

CREATE TABLE invitations (
  id           TEXT PRIMARY KEY,                -- inv_…
  org_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  email        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
  invited_by   TEXT,
  created_at   TEXT NOT NULL,
  expires_at   INTEGER NOT NULL,                -- unix s
  accepted_at  TEXT,
  accepted_by  TEXT,
  revoked_at   TEXT
);
CREATE INDEX invitations_org_created ON invitations (org_id, created_at DESC, id DESC);

CREATE TABLE password_resets (
  hash        TEXT PRIMARY KEY,                 -- SHA-256 of the secret
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,                 -- unix s
  used_at     TEXT,
  used_by     TEXT                              -- request id of the confirmation that used it
);
CREATE INDEX password_resets_user ON password_resets (user_id);

-- Append-only, per-organization hash chain (see core/src/audit.rs). Account-level events
-- (login, logout, refresh reuse, password reset) are appended to each organization of the
-- user; events about no organization (a failed login for an unknown email) go to the chain
-- of the pseudo-organization '_platform'.
CREATE TABLE audit_log (
  org_id       TEXT NOT NULL,
  seq          INTEGER NOT NULL,
  action       TEXT NOT NULL,
  actor_type   TEXT NOT NULL,                   -- user | api_key | anonymous | system
  actor_id     TEXT,
  target_type  TEXT,
  target_id    TEXT,
  ip           TEXT,
  request_id   TEXT NOT NULL,
  details      TEXT NOT NULL,                   -- JSON object
  created_at   TEXT NOT NULL,
  prev_hash    TEXT NOT NULL,
  hash         TEXT NOT NULL,
  PRIMARY KEY (org_id, seq)
);
