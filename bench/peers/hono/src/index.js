// The Hono + jose peer of scripts/bench (issue #15): the routes the benchmark loads, doing the
// same work as ours, written as a careful TypeScript-on-Workers engineer would write them:
// EdDSA verify with jose (WebCrypto), the caller's session + membership and the document in
// one D1 batch, an exact per-org counter in a Durable Object (JS RPC) called in parallel with
// that batch, ETag / If-None-Match, the same security headers, one JSON access-log line.
//
// It serves D1 state copied from ours (same schema, same rows) and verifies ours' access
// tokens with ours' public JWKS, so both answer the same requests with the same data.

import { Hono } from "hono";
import { createLocalJWKSet, jwtVerify } from "jose";
import { DurableObject } from "cloudflare:workers";

const VERSION = "0.1.0";
const WRITERS = new Set(["owner", "admin", "member"]);
const READERS = new Set(["owner", "admin", "member", "viewer"]);
const STATUSES = new Set(["draft", "published", "archived"]);
const SESSION_MEMBERSHIP =
  "SELECT s.user_id, s.revoked_at, m.role, o.plan FROM sessions s " +
  "LEFT JOIN memberships m ON m.user_id = s.user_id AND m.org_id = ?2 " +
  "LEFT JOIN organizations o ON o.id = m.org_id WHERE s.id = ?1";
const DOC_COLUMNS =
  "id, org_id, title, content, status, version, owner_id, created_at, updated_at, deleted_at";
const SUMMARY_COLUMNS = "id, org_id, title, status, version, owner_id, created_at, updated_at";

class Problem extends Error {
  constructor(status, code, detail, headers = {}) {
    super(detail);
    this.status = status;
    this.code = code;
    this.headers = headers;
  }
}

let keySet; // per isolate
const keys = (env) => (keySet ??= createLocalJWKSet(JSON.parse(env.JWKS)));

async function claims(c) {
  const auth = c.req.header("authorization") ?? "";
  if (!auth.startsWith("Bearer ")) throw new Problem(401, "unauthenticated", "Missing token.");
  try {
    const { payload } = await jwtVerify(auth.slice(7), keys(c.env), {
      issuer: c.env.JWT_ISSUER,
      audience: c.env.JWT_AUDIENCE,
      algorithms: ["EdDSA"],
    });
    if (payload.typ !== "access") throw new Error("not an access token");
    return payload;
  } catch {
    throw new Problem(401, "unauthenticated", "Invalid token.");
  }
}

/// The exact per-org request count (in parallel with D1), or null with limits off.
function count(c, org, key) {
  if (c.env.RATE_LIMITS === "off") return null;
  return c.env.COUNTER.get(c.env.COUNTER.idFromName(org)).count(key, 60);
}

function limit(c, counted) {
  if (!counted) return;
  const max = Number(c.env.REQUESTS_PER_MINUTE);
  const remaining = Math.max(0, max - counted.count);
  c.header("RateLimit-Policy", `"org";q=${max};w=60`);
  c.header("RateLimit", `"org";r=${remaining};t=${counted.reset}`);
  if (counted.count > max)
    throw new Problem(429, "rate_limited", "Rate limit exceeded.", {
      "Retry-After": String(counted.reset),
    });
}

function member(row, claims, roles) {
  if (!row || row.revoked_at || row.user_id !== claims.sub)
    throw new Problem(401, "unauthenticated", "Session ended.");
  if (!row.role) throw new Problem(404, "not_found", "No such organization.");
  if (!roles.has(row.role)) throw new Problem(403, "forbidden", "Not allowed.");
}

const etag = (doc) => `"${doc.id}.v${doc.version}"`;
const publicDoc = (d) => ({
  id: d.id, org_id: d.org_id, title: d.title, content: d.content, status: d.status,
  version: d.version, owner_id: d.owner_id, created_at: d.created_at, updated_at: d.updated_at,
});

const app = new Hono();

app.use("*", async (c, next) => {
  const started = Date.now();
  const given = c.req.header("x-request-id");
  const requestId = given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : `req_${crypto.randomUUID()}`;
  await next();
  const h = c.res.headers;
  h.set("X-Request-Id", requestId);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "no-referrer");
  h.set("X-Frame-Options", "DENY");
  h.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  h.set("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  h.set("Cache-Control", "no-store");
  h.append("Vary", "Origin");
  console.log(
    JSON.stringify({
      level: c.res.status >= 500 ? "error" : "info",
      msg: "request",
      request_id: requestId,
      method: c.req.method,
      route: c.req.routePath,
      org_id: c.req.param("org") ?? null,
      status: c.res.status,
      duration_ms: Date.now() - started,
    }),
  );
});

app.onError((err, c) => {
  const p = err instanceof Problem ? err : new Problem(500, "internal", "Internal error.");
  if (!(err instanceof Problem)) console.error(String(err));
  return c.body(
    JSON.stringify({ type: `/problems/${p.code}`, status: p.status, code: p.code, detail: p.message }),
    p.status,
    { "Content-Type": "application/problem+json", ...p.headers },
  );
});

app.get("/health", (c) => c.json({ status: "ok", version: VERSION }));

app.get("/v1/orgs/:org/documents/:id", async (c) => {
  const who = await claims(c);
  const { org, id } = c.req.param();
  const db = c.env.DB;
  const [[m, d], counted] = await Promise.all([
    db.batch([
      db.prepare(SESSION_MEMBERSHIP).bind(who.sid, org),
      db.prepare(`SELECT ${DOC_COLUMNS} FROM documents WHERE id = ?1 AND org_id = ?2`).bind(id, org),
    ]),
    count(c, org, `user:${who.sub}`),
  ]);
  member(m.results[0], who, READERS);
  limit(c, counted);
  const doc = d.results[0];
  if (!doc || doc.deleted_at) throw new Problem(404, "not_found", "No such document.");
  const tag = etag(doc);
  c.header("ETag", tag);
  const inm = c.req.header("if-none-match");
  if (inm && inm.split(",").some((t) => t.trim().replace(/^W\//, "") === tag)) return c.body(null, 304);
  return c.json(publicDoc(doc));
});

app.get("/v1/orgs/:org/documents", async (c) => {
  const who = await claims(c);
  const org = c.req.param("org");
  const n = Math.min(100, Math.max(1, Number(c.req.query("limit") ?? 20) || 20));
  let after = ["\uffff", "\uffff"];
  const cursor = c.req.query("cursor");
  if (cursor) {
    try {
      after = JSON.parse(atob(cursor));
    } catch {
      throw new Problem(400, "validation_failed", "Bad cursor.");
    }
  }
  const db = c.env.DB;
  const [[m, list], counted] = await Promise.all([
    db.batch([
      db.prepare(SESSION_MEMBERSHIP).bind(who.sid, org),
      db
        .prepare(
          `SELECT ${SUMMARY_COLUMNS} FROM documents WHERE org_id = ?1 AND deleted_at IS NULL ` +
            "AND (created_at < ?2 OR (created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
        )
        .bind(org, after[0], after[1], n + 1),
    ]),
    count(c, org, `user:${who.sub}`),
  ]);
  member(m.results[0], who, READERS);
  limit(c, counted);
  const items = list.results.slice(0, n);
  const last = items[items.length - 1];
  const next = list.results.length > n ? btoa(JSON.stringify([last.created_at, last.id])) : null;
  return c.json({ items, next_cursor: next });
});

app.post("/v1/orgs/:org/documents", async (c) => {
  const who = await claims(c);
  const org = c.req.param("org");
  const type = c.req.header("content-type") ?? "";
  if (!type.startsWith("application/json")) throw new Problem(415, "unsupported_media_type", "JSON only.");
  let body;
  try {
    body = await c.req.json();
  } catch {
    throw new Problem(400, "malformed_json", "Bad JSON.");
  }
  const fields = body && typeof body === "object" && !Array.isArray(body) ? Object.keys(body) : null;
  const known = new Set(["title", "content", "status"]);
  if (
    !fields ||
    fields.some((k) => !known.has(k)) ||
    typeof body.title !== "string" ||
    body.title.trim().length < 1 ||
    body.title.trim().length > 200 ||
    /\p{Cc}/u.test(body.title) ||
    (body.content !== undefined && (typeof body.content !== "string" || body.content.length > 512 * 1024)) ||
    (body.status !== undefined && !STATUSES.has(body.status))
  )
    throw new Problem(400, "validation_failed", "Invalid document.");
  const db = c.env.DB;
  const counter = c.env.COUNTER.get(c.env.COUNTER.idFromName(org));
  const [m, counted] = await Promise.all([
    db.prepare(SESSION_MEMBERSHIP).bind(who.sid, org).first(),
    count(c, org, `user:${who.sub}`),
  ]);
  member(m, who, WRITERS);
  limit(c, counted);
  const month = new Date().toISOString().slice(0, 7);
  if (!(await counter.consume(`documents:${month}`, Number(c.env.DOCUMENTS_PER_MONTH))))
    throw new Problem(429, "quota_exceeded", "Document quota reached.");
  const now = new Date().toISOString();
  const doc = {
    id: `doc_${crypto.randomUUID().replaceAll("-", "")}`, org_id: org, title: body.title.trim(),
    content: body.content ?? "", status: body.status ?? "draft", version: 1, owner_id: who.sub,
    created_at: now, updated_at: now,
  };
  try {
    await db.batch([
      db
        .prepare(
          "INSERT INTO documents (id, org_id, title, content, status, version, owner_id, created_at, updated_at, last_request_id) " +
            "VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?7, ?8)",
        )
        .bind(doc.id, org, doc.title, doc.content, doc.status, doc.owner_id, now, crypto.randomUUID()),
      db
        .prepare(
          "INSERT INTO document_versions (doc_id, version, title, content, status, author_id, created_at) VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(doc.id, doc.title, doc.content, doc.status, doc.owner_id, now),
    ]);
  } catch (e) {
    await counter.consume(`documents:${month}`, Number(c.env.DOCUMENTS_PER_MONTH), -1);
    throw e;
  }
  c.header("ETag", etag(doc));
  c.header("Location", `/v1/orgs/${org}/documents/${doc.id}`);
  return c.json(doc, 201);
});

/// An exact per-organization counter: fixed windows in memory, written through to SQLite
/// storage (the output gate holds the answer until the write is durable).
export class Counter extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS counts (key TEXT PRIMARY KEY, start INTEGER, n INTEGER)");
    this.cache = new Map();
  }

  row(key) {
    let r = this.cache.get(key);
    if (!r) {
      r = this.sql.exec("SELECT start, n FROM counts WHERE key = ?", key).toArray()[0] ?? { start: 0, n: 0 };
      this.cache.set(key, r);
    }
    return r;
  }

  save(key, r) {
    this.sql.exec("INSERT OR REPLACE INTO counts (key, start, n) VALUES (?, ?, ?)", key, r.start, r.n);
  }

  count(key, windowS) {
    const now = Date.now();
    const r = this.row(key);
    const start = now - (now % (windowS * 1000));
    if (r.start !== start) {
      r.start = start;
      r.n = 0;
    }
    r.n += 1;
    this.save(key, r);
    // The organization's monthly request usage, counted in the same call (as ours does).
    const usage = `requests:${new Date(now).toISOString().slice(0, 7)}`;
    const u = this.row(usage);
    u.n += 1;
    this.save(usage, u);
    return { count: r.n, reset: Math.ceil((start + windowS * 1000 - now) / 1000) };
  }

  consume(key, quota, amount = 1) {
    const r = this.row(key);
    if (amount > 0 && r.n + amount > quota) return false;
    r.n += amount;
    this.save(key, r);
    return true;
  }
}

export default app;
