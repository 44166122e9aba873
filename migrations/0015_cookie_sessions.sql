-- Browser cookie sessions: a session signed in with `"session": "cookie"` is referenced by an
-- opaque cookie (`__Host-edge_session`), stored here by its SHA-256 like every other secret.
-- Such a session has no refresh token; it lives until its `expires_at` or its revocation.
ALTER TABLE sessions ADD COLUMN cookie_hash TEXT;
CREATE UNIQUE INDEX sessions_cookie ON sessions (cookie_hash) WHERE cookie_hash IS NOT NULL;
