-- AI generations into documents (#20). The prompt is kept for the consumer (it must send it)
-- but never logged: logs carry only its length and hash. `text_so_far` is the checkpoint of what
-- was streamed, so partial output survives a crash and the sweep can settle the row.

CREATE TABLE generations (
  id                TEXT PRIMARY KEY,             -- gen_…
  org_id            TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  doc_id            TEXT NOT NULL,
  user_id           TEXT NOT NULL,                -- usr_… or key_… that asked
  prompt            TEXT NOT NULL,
  prompt_chars      INTEGER NOT NULL,
  prompt_sha256     TEXT NOT NULL,
  mode              TEXT NOT NULL CHECK (mode IN ('append', 'replace', 'insert_at')),
  position          INTEGER,
  model             TEXT NOT NULL,
  max_tokens        INTEGER NOT NULL,
  token_limit       INTEGER NOT NULL,             -- the plan's monthly ai_tokens quota when asked
  temperature       REAL,
  status            TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  cancel_requested  INTEGER NOT NULL DEFAULT 0,
  attempts          INTEGER NOT NULL DEFAULT 0,
  text_so_far       TEXT NOT NULL DEFAULT '',
  chunks            INTEGER NOT NULL DEFAULT 0,
  tokens_reserved   INTEGER NOT NULL DEFAULT 0,   -- taken from the org's ai_tokens quota so far
  prompt_tokens     INTEGER,
  completion_tokens INTEGER,
  tokens_estimated  INTEGER NOT NULL DEFAULT 0,
  error             TEXT,                         -- problem JSON
  doc_version       INTEGER,                      -- the version the text landed in
  lease_until       INTEGER,                      -- unix ms; a running row past it is settled by the sweep
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  started_at        TEXT,
  finished_at       TEXT
);
CREATE INDEX generations_doc_created ON generations (org_id, doc_id, created_at DESC, id DESC);
CREATE INDEX generations_open ON generations (status, lease_until) WHERE status IN ('queued', 'running');
