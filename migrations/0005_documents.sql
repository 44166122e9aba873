-- Documents with versions, shares and full-text search.

CREATE TABLE documents (
  id               TEXT PRIMARY KEY,             -- doc_…
  org_id           TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  title            TEXT NOT NULL,
  content          TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'archived')),
  version          INTEGER NOT NULL,
  owner_id         TEXT NOT NULL,                -- usr_… or key_… that created it
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  deleted_at       TEXT,
  last_request_id  TEXT NOT NULL                 -- the write that made the current version
);
-- The list queries: newest first, optionally by status or owner, soft-deleted excluded.
CREATE INDEX documents_org_created ON documents (org_id, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX documents_org_status_created ON documents (org_id, status, created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX documents_org_owner ON documents (org_id, owner_id);

-- Every version of every document; written in the same batch as the change it records.
CREATE TABLE document_versions (
  doc_id      TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  version     INTEGER NOT NULL,
  title       TEXT NOT NULL,
  content     TEXT NOT NULL,
  status      TEXT NOT NULL,
  author_id   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (doc_id, version)
);

CREATE TABLE document_shares (
  doc_id      TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  user_id     TEXT NOT NULL,
  permission  TEXT NOT NULL CHECK (permission IN ('view', 'edit')),
  created_at  TEXT NOT NULL,
  PRIMARY KEY (doc_id, user_id)
);

-- Full-text index of title and content, kept in step by triggers; rowid = documents.rowid.
CREATE VIRTUAL TABLE documents_fts USING fts5 (title, content, tokenize = 'unicode61 remove_diacritics 2');
CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
  INSERT INTO documents_fts (rowid, title, content) VALUES (new.rowid, new.title, new.content);
END;
CREATE TRIGGER documents_fts_update AFTER UPDATE OF title, content ON documents BEGIN
  UPDATE documents_fts SET title = new.title, content = new.content WHERE rowid = old.rowid;
END;
CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
  DELETE FROM documents_fts WHERE rowid = old.rowid;
END;
