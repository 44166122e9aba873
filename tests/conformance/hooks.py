"""schemathesis hooks for scripts/conformance (loaded through SCHEMATHESIS_HOOKS).

Idempotency-Key: schemathesis generates the same few valid keys over and over, and the worker
rightly answers a key reused with a different body with 422 `idempotency_key_reused`, so
POST /v1/orgs/{org}/jobs never got past that. A well-formed key is replaced by a fresh one on
every call; malformed keys (the coverage phase's negative cases) are sent as generated.
"""
import re
import uuid

import schemathesis

WELL_FORMED = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers
    if not headers:
        return
    for name in list(headers):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and WELL_FORMED.match(value):
                headers[name] = "conformance-" + uuid.uuid4().hex
