// The deployed entry point: the Rust worker (build/index.js, made by scripts/build) with one
// safety net around it. Every request is handled in Rust; this file only turns a panic into
// the API's problem+json 500, so no client ever sees the runtime's bare error page or a hung
// request.
//
// A Rust panic aborts the wasm instance: the futures of every request in flight on it die
// without settling. The panic hook (src/lib.rs) calls `__edgeApiPanic`, which fails those
// requests at once; worker-build's shim has already flagged the instance, so the next request
// is served by a fresh one.

import RustWorker from "../build/index.js";

// The Durable Object classes (Tenant, Room). A class missing here would silently vanish from
// the deployment; tests/ checks that every class in wrangler.toml is exported.
export * from "../build/index.js";

const REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;
const inflight = new Set();

globalThis.__edgeApiPanic = () => {
  for (const fail of inflight) fail(new Error("panic"));
  inflight.clear();
};

export default class EdgeApi extends RustWorker {
  async fetch(request) {
    const started = Date.now();
    let fail;
    const panicked = new Promise((_, reject) => (fail = reject));
    inflight.add(fail);
    try {
      return await Promise.race([super.fetch(request), panicked]);
    } catch (err) {
      return internalError(request, err, started);
    } finally {
      inflight.delete(fail);
    }
  }
}

function internalError(request, err, started) {
  const given = request.headers.get("x-request-id");
  const requestId = given && REQUEST_ID.test(given) ? given : `req_${crypto.randomUUID()}`;
  console.error(
    JSON.stringify({
      level: "error",
      msg: "request",
      request_id: requestId,
      method: request.method,
      route: "panic",
      status: 500,
      duration_ms: Date.now() - started,
      error: String(err && err.message ? err.message : err).slice(0, 200),
    }),
  );
  const body = {
    type: "/problems/internal",
    title: "Internal server error",
    status: 500,
    code: "internal",
    detail: "The server failed to handle this request. It has been logged.",
    request_id: requestId,
  };
  return new Response(JSON.stringify(body), {
    status: 500,
    headers: {
      "content-type": "application/problem+json",
      "x-request-id": requestId,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
      "vary": "Origin",
    },
  });
}
