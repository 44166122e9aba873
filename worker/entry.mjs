// The deployed entry point: the Rust worker (build/index.js, made by scripts/build) with one
// safety net around it. Every request is handled in Rust; this file only turns an exception
// that escapes Rust (a panic traps the wasm instance) into the API's problem+json 500, so no
// client ever sees the runtime's bare error page. worker-build's shim has already flagged the
// instance for re-initialisation by then, so the next request is served by a fresh instance.

import RustWorker from "../build/index.js";

// The Durable Object classes (Tenant, Room). A class missing here would silently vanish from
// the deployment; tests/ checks that every class in wrangler.toml is exported.
export * from "../build/index.js";

const REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

export default class EdgeApi extends RustWorker {
  async fetch(request) {
    const started = Date.now();
    try {
      return await super.fetch(request);
    } catch (err) {
      const given = request.headers.get("x-request-id");
      const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
      console.error(
        JSON.stringify({
          level: "error",
          msg: "unhandled exception",
          request_id: requestId,
          method: request.method,
          path: new URL(request.url).pathname,
          status: 500,
          duration_ms: Date.now() - started,
          error: String(err && err.message ? err.message : err).slice(0, 500),
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
        },
      });
    }
  }
}
