-- Idempotency-Key records for creating POSTs (see core/src/idempotency.rs).
CREATE TABLE idempotency_keys (
  scope             TEXT NOT NULL,               -- "{org_id}:{credential id}"
  key               TEXT NOT NULL,
  fingerprint       TEXT NOT NULL,               -- SHA-256 of method, path and body
  done              INTEGER NOT NULL DEFAULT 0,
  response_status   INTEGER,
  response_headers  TEXT,                        -- JSON object of the replayed headers
  response_body     TEXT,
  created_at        INTEGER NOT NULL,            -- unix s
  expires_at        INTEGER NOT NULL,            -- unix s
  PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
