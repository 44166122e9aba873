#!/usr/bin/env python3
"""A stand-in for the customer's backend during `scripts/dev`: receives the jobs the worker
delivers (POST /jobs/{type}) and the calls it proxies (ANY /{path}), verifies X-Signature,
prints them, and answers 200 — or 401 for anything the edge did not sign exactly so.
Listens on 127.0.0.1 only. Usage: demo_origin.py PORT ORIGIN_SECRET

X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, message)>, where message is
("\n" is a line feed, the body the exact bytes received):

  job delivery (POST /jobs/{type}):
    "edge-job.v1\n{t}\n{X-Job-Id}\n{X-Job-Type}\n{X-Org-Id}\n{X-Attempt}\n{body}"
    and X-Job-Id, X-Job-Type, X-Org-Id, X-Attempt equal the body's id, type, org_id (""
    when null), attempt, and the path's {type} equals X-Job-Type;
  proxied call (any other request):
    "edge-proxy.v1\n{t}\n{METHOD}\n{path?query}\n{X-Org-Id}\n{X-User-Id}\n{X-Api-Key-Id}\n{X-User-Role}\n{X-Request-Id}\n{body}"

Nothing else is accepted: not the old bare "{t}.{body}" form, not a Standard Webhooks
delivery (webhook-signature: customer webhooks are never meant for the origin). Trust the
identity headers only after the signature verified; trust platform email templates
(verify_email, password_reset, invitation) only when the envelope's source is "system"."""
import hashlib, hmac, http.server, json, sys, time

TOLERANCE = 300
port, secret = int(sys.argv[1]), sys.argv[2].encode()


def parse_signature(header):
    t, v1 = None, []
    for part in header.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t" and t is None:
            t = v
        elif k == "v1":
            v1.append(v)
    if t is None or not t.isdigit() or not v1:
        return None, []
    return int(t), v1


def valid(message_for_t, header):
    t, v1 = parse_signature(header)
    if t is None or abs(time.time() - t) > TOLERANCE:
        return False
    expected = hmac.new(secret, message_for_t(t), hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for v in v1)


class Handler(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0) or 0))
        h = lambda name: self.headers.get(name, "")
        if "\n" in "".join(h(n) for n in ("x-job-id", "x-job-type", "x-org-id", "x-attempt")):
            ok, kind = False, "?"
        elif self.command == "POST" and self.path.startswith("/jobs/"):
            kind = "job"
            fields = [h("x-job-id"), h("x-job-type"), h("x-org-id"), h("x-attempt")]
            msg = lambda t: ("edge-job.v1\n%d\n%s\n" % (t, "\n".join(fields))).encode() + body
            ok = valid(msg, h("x-signature"))
            try:
                env = json.loads(body)
                ok = ok and self.path == "/jobs/" + fields[1] and [
                    env.get("id"), env.get("type"), env.get("org_id") or "", str(env.get("attempt"))
                ] == fields
            except (ValueError, AttributeError):
                ok = False
        else:
            kind = "proxy"
            ids = [h(n) for n in ("x-org-id", "x-user-id", "x-api-key-id", "x-user-role", "x-request-id")]
            head = lambda t: "edge-proxy.v1\n%d\n%s\n%s\n%s\n" % (t, self.command, self.path, "\n".join(ids))
            ok = valid(lambda t: head(t).encode() + body, h("x-signature"))
        try:
            shown = json.dumps(json.loads(body))[:500]
        except ValueError:
            shown = body.decode(errors="replace")[:500]
        print(f"[origin] {kind} {self.command} {self.path} signature={'valid' if ok else 'INVALID'} {shown}", flush=True)
        self.send_response(200 if ok else 401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"received": True} if ok else {"error": "invalid signature"}).encode())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
