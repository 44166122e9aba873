-- Files in R2: one row per file. The object lives at `orgs/{org_id}/files/{id}` (ids only).
--   pending   a signed upload URL was handed out; nothing stored yet
--   uploading bytes are being written (direct upload, or the signed URL is being used)
--   multipart a multipart upload is open (`upload_id` is R2's id)
--   ready     complete: size and sha256 are final
--   deleting  deleted by the API; the object is being removed (the sweep finishes it)
CREATE TABLE files (
  id            TEXT PRIMARY KEY,               -- fil_…
  org_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  content_type  TEXT NOT NULL,
  size          INTEGER NOT NULL CHECK (size >= 0),
  sha256        TEXT,                            -- lowercase hex, once ready
  status        TEXT NOT NULL CHECK (status IN ('pending', 'uploading', 'multipart', 'ready', 'deleting')),
  upload_id     TEXT,                            -- R2 multipart upload id
  part_size     INTEGER,
  uploader_id   TEXT NOT NULL,                   -- usr_… or key_…
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  expires_at    TEXT                             -- pending/multipart: abandoned after this
);
CREATE INDEX files_org_created ON files (org_id, created_at DESC, id DESC) WHERE status = 'ready';
CREATE INDEX files_unfinished ON files (status, expires_at) WHERE status <> 'ready';

-- The parts of open multipart uploads (a part uploaded again replaces the earlier one).
CREATE TABLE file_parts (
  file_id      TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
  part_number  INTEGER NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
  etag         TEXT NOT NULL,
  size         INTEGER NOT NULL,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (file_id, part_number)
);
