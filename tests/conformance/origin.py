#!/usr/bin/env python3
"""A loopback stand-in for the customer's origin during scripts/conformance: answers every
request with 200 and `{}`, and appends each job delivery (POST /jobs/...) as one JSON line to
the file given, so the seeding step can read the invitation token of an `email` job.
Binds 127.0.0.1 on the port given. Usage: origin.py PORT JOBS_FILE"""
import http.server
import json
import sys
import threading

port, jobs_file = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.command == "POST" and self.path.startswith("/jobs/"):
            try:
                line = json.dumps(json.loads(body))
            except ValueError:
                line = json.dumps(body.decode(errors="replace"))
            with lock, open(jobs_file, "a") as f:
                f.write(line + "\n")
        out = b"{}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = answer

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
