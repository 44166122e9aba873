-- R2 purges: everything stored under `prefix` (a deleted organization's `orgs/{org_id}/`) is
-- deleted and its open multipart uploads aborted, until a listing comes back empty after the
-- grace period for uploads still in flight (edge_core::purge). The row is written in the same
-- D1 batch as the deletion that orphaned the objects, worked off by that request and then by
-- the cron sweep, so a failure part-way is resumed rather than forgotten.
CREATE TABLE r2_purges (
  prefix      TEXT PRIMARY KEY,
  created_at  TEXT NOT NULL,
  -- JSON array of [object key, R2 upload id, failed abort attempts] still to abort.
  uploads     TEXT NOT NULL DEFAULT '[]',
  runs        INTEGER NOT NULL DEFAULT 0
);
