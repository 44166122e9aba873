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


# File downloads return the stored bytes with the media type they were uploaded with (any type,
# by design). Their content is opaque: schemathesis must not parse a file uploaded as YAML or
# JSON and validate it against the `format: binary` schema (that fails on any file that is not
# valid YAML, or passes by accident). Status and headers are still checked; the body is
# presented as what the document says it is, `application/octet-stream` (so the stored media
# type of a download is checked by the black-box suite, tests/api/files, not here).
FILE_CONTENT = re.compile(r"/v1/orgs/[^/]+/files/[^/]+/content$")


@schemathesis.hook
def after_call(context, case, response):
    if case.method.upper() == "GET" and FILE_CONTENT.search(case.formatted_path or ""):
        if response.status_code in (200, 206):
            response.headers["content-type"] = ["application/octet-stream"]
