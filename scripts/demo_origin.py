#!/usr/bin/env python3
"""A stand-in for the customer's backend during `scripts/dev`: receives the jobs the worker
forwards (POST /jobs/{type}), checks their X-Signature, prints them, and answers 200.
Listens on 127.0.0.1 only. Usage: demo_origin.py PORT ORIGIN_SECRET"""
import hashlib, hmac, http.server, json, sys, time

port, secret = int(sys.argv[1]), sys.argv[2].encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        sig = dict(p.split("=", 1) for p in self.headers.get("x-signature", "").split(",") if "=" in p)
        expected = hmac.new(secret, f"{sig.get('t', '')}.".encode() + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, sig.get("v1", "")) and abs(time.time() - int(sig.get("t", 0))) < 300
        try:
            payload = json.loads(body)
        except ValueError:
            payload = body.decode(errors="replace")
        print(f"[origin] {self.path} signature={'valid' if valid else 'INVALID'} {json.dumps(payload)[:500]}", flush=True)
        self.send_response(200 if valid else 401)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"received": True}).encode())

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
