-- Passkeys (WebAuthn): credentials a user signs in or steps up with, and the single-use
-- challenges of the ceremonies.

-- The opaque user handle passkeys carry (`user.id` of the creation options, `userHandle` of an
-- assertion): 32 random bytes, base64url, made on the user's first registration. Never the
-- email or the user id, so an authenticator holds nothing that identifies the account elsewhere.
ALTER TABLE users ADD COLUMN webauthn_handle TEXT;
CREATE UNIQUE INDEX users_webauthn_handle ON users (webauthn_handle);

-- One row per credential. `credential_id` is the authenticator's id (base64url), unique across
-- users; `public_key` the COSE key as the authenticator encoded it (base64url) with its COSE
-- `alg`. `sign_count` is the last counter accepted: an assertion must raise it (unless both
-- are 0). `backup_eligible`/`backed_up` are the BE/BS flags (a synced passkey).
CREATE TABLE passkeys (
  id               TEXT PRIMARY KEY,              -- pky_…
  user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  credential_id    TEXT NOT NULL UNIQUE,
  public_key       TEXT NOT NULL,
  alg              INTEGER NOT NULL,
  sign_count       INTEGER NOT NULL DEFAULT 0,
  backup_eligible  INTEGER NOT NULL DEFAULT 0,
  backed_up        INTEGER NOT NULL DEFAULT 0,
  transports       TEXT NOT NULL DEFAULT '[]',    -- JSON array
  aaguid           TEXT NOT NULL,                 -- hex
  name             TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  last_used_at     TEXT
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- A ceremony's challenge, by SHA-256 (hex) of its bytes: bound to its ceremony (`register`,
-- `authenticate`, `step_up`) and, except for a sign-in, to the user. Single use (taken by a
-- conditional update), five minutes long.
CREATE TABLE webauthn_challenges (
  hash        TEXT PRIMARY KEY,
  ceremony    TEXT NOT NULL,
  user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
  created_at  TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,                 -- unix s
  used_at     TEXT
);
CREATE INDEX webauthn_challenges_expiry ON webauthn_challenges (expires_at);
