-- Changes of email address (POST /v1/me/email, confirmed by POST /v1/auth/email/confirm):
-- one row per request, its single-use token stored as a SHA-256 hash, bound to the user and
-- the new address. A newer request of the same user supersedes the older ones.
CREATE TABLE email_changes (
  hash           TEXT PRIMARY KEY,              -- SHA-256 of the ec_ secret
  user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  new_email      TEXT NOT NULL,                 -- lower-cased, like users.email
  created_at     TEXT NOT NULL,
  expires_at     INTEGER NOT NULL,              -- unix s
  superseded_at  TEXT,
  used_at        TEXT,
  used_by        TEXT                           -- the claim of the confirmation that spent it
);
CREATE INDEX email_changes_user ON email_changes (user_id);
