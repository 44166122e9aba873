-- Second factors (TOTP with recovery codes), sessions a user can see and end, step-up for
-- sensitive actions, and organizations that require a second factor.

-- What a session's list entry shows, and how its user authenticated: `amr` (RFC 8176 values,
-- space separated) and `auth_time` (unix s of the sign-in or latest step-up) go into every
-- access token the session mints, refreshes included. `last_used_at` is the latest sign-in,
-- refresh or step-up: within one access-token lifetime of the latest request.
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN auth_time INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_used_at TEXT;

-- One authenticator-app secret per user, sealed (XChaCha20-Poly1305, the user id as associated
-- data). Pending until the first code confirms it. `last_step` is the latest TOTP step
-- accepted: a code is taken only for a later step, by a conditional update.
CREATE TABLE totp_factors (
  user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  secret_sealed  TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  confirmed_at   TEXT,
  last_step      INTEGER NOT NULL DEFAULT 0
);

-- Single-use recovery codes, by SHA-256 of the normalized code; regenerating replaces them all.
CREATE TABLE recovery_codes (
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  hash        TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  used_at     TEXT,
  PRIMARY KEY (user_id, hash)
);

-- A login that passed its password and awaits the second factor, by SHA-256 of the challenge
-- token the client holds. Single use, minutes long.
CREATE TABLE mfa_challenges (
  hash        TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,                 -- unix s
  used_at     TEXT
);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);

ALTER TABLE organizations ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
