"""schemathesis hooks for scripts/conformance (loaded through SCHEMATHESIS_HOOKS).

Idempotency-Key: schemathesis generates the same few valid keys over and over, and the worker
rightly answers a key reused with a different body with 422 `idempotency_key_reused`, so
POST /v1/orgs/{org}/jobs never got past that. A well-formed key is replaced by a fresh one on
every call; malformed keys (the coverage phase's negative cases) are sent as generated.
"""
import datetime
import json
import os
import re
import uuid

import ast
import threading

import schemathesis

WELL_FORMED = re.compile(r"^[!-~]{1,255}$")

# CPython 3.11's AST constructor keeps its recursion-depth bookkeeping per interpreter, not
# per thread: two `ast.parse` calls at once in two threads can fail with "AST constructor
# recursion depth mismatch". With `--workers 2`, hypothesis parses the source of the lambdas
# schemathesis filters with (to describe them) from both worker threads, and one run failed on
# that alone. Parsing one at a time costs nothing measurable.
_PARSE = ast.parse
_PARSE_LOCK = threading.Lock()


def _parse_one_at_a_time(*args, **kwargs):
    with _PARSE_LOCK:
        return _PARSE(*args, **kwargs)


ast.parse = _parse_one_at_a_time


@schemathesis.hook
def before_call(context, case, kwargs):
    label_what_was_generated(case)
    keep_the_run_user_admitted(case)
    state_the_generator_cannot_make(case)
    headers = case.headers
    if not headers:
        return
    for name in list(headers):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and WELL_FORMED.match(value):
                headers[name] = "conformance-" + uuid.uuid4().hex


def keep_the_run_user_admitted(case):
    """`require_mfa: true` on the seeded organization would hold the run's own user (who has no
    second factor) with 403 `mfa_enrollment_required` on every later request to it: whatever
    phase generated it, it is sent as `false` (still a boolean, so a negative case stays
    negative for its other reason). The black-box suite turns the requirement on and off."""
    path = case.path_parameters or {}
    if case.operation.method.upper() == "PATCH" and case.operation.path == "/v1/orgs/{org}" \
            and path.get("org") == os.environ.get("CONFORMANCE_ORG") \
            and isinstance(case.body, dict) and case.body.get("require_mfa") is True:
        case.body["require_mfa"] = False


DOCUMENT = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "core", "openapi.json")))


def path_patterns(path, method):
    """`{name: compiled pattern or None}` of the path parameters of one operation."""
    item = DOCUMENT["paths"].get(path, {})
    params = list(item.get("parameters", [])) + list(item.get(method.lower(), {}).get("parameters", []))
    out = {}
    for p in params:
        if "$ref" in p:
            p = DOCUMENT["components"]["parameters"][p["$ref"].rsplit("/", 1)[-1]]
        if p.get("in") == "path":
            pattern = p.get("schema", {}).get("pattern")
            out[p["name"]] = re.compile(pattern) if pattern else None
    return out


def label_what_was_generated(case):
    """In the stateful phase a case can carry the "negative" label while what is sent is valid:
    its schema-violating path value was replaced by one drawn from an earlier response (e.g. a
    room name a GET answered), or no component was generated negative at all. The worker then
    rightly accepts it and negative_data_rejection would fault it. Such a case is labelled
    positive, so positive_data_acceptance checks it instead. Only the path is re-validated
    (against the document's patterns); a case with any other negative component is left as
    it is."""
    meta = case.meta
    if meta is None or meta.generation.mode.is_positive or not meta.components:
        return
    negative = {str(getattr(k, "value", k)) for k, info in meta.components.items() if not info.mode.is_positive}
    if negative - {"path"}:
        return
    if negative:
        params = case.path_parameters or {}
        patterns = path_patterns(case.operation.path, case.operation.method)
        if not patterns or not all(
            rx is not None and isinstance(params.get(n), str) and rx.search(params[n])
            for n, rx in patterns.items()
        ):
            return
    positive = next(info.mode for info in meta.components.values() if info.mode.is_positive) \
        if any(info.mode.is_positive for info in meta.components.values()) else None
    if positive is not None:
        meta.generation.mode = positive


def is_positive(case):
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


def state_the_generator_cannot_make(case):
    """Schema-valid requests (positive cases, checked by positive_data_acceptance) whose validity
    also depends on server state the schema cannot express get that state's real values; what
    else was generated is sent as it is. Negative cases are left alone.

    - `cursor`: only a `next_cursor` the same list handed out is valid (sealed, bound to the
      list and organization); a made-up one is rightly 400, so positive cases go without.
    - `expires_at` of a new API key: must lie in the future; a past instant moves a year ahead.
    - `payload.file_id` of a `file.process` job: must name a file of the organization; it
      becomes the seeded file (CONFORMANCE_FILE).
    - `user_id` of a share: must be a member; schemathesis draws ids of users it signed up
      (not members) over the configured one, so it becomes the seeded sharee again.
    - `url` of a webhook endpoint: must be a public destination (never loopback, private or
      the origin), which no schema can say, and the stateful phase links our own loopback URLs
      into it; it becomes a public https URL.
    - a part of the seeded multipart upload (CONFORMANCE_PART_UPLOAD, one byte): part 1 of
      exactly one byte, the only part that upload can take.
    """
    if not is_positive(case):
        return
    op = case.operation
    if isinstance(case.query, dict):
        case.query.pop("cursor", None)
    body = case.body
    if op.path in ("/v1/orgs/{org}/webhooks", "/v1/orgs/{org}/webhooks/{id}") and isinstance(body, dict):
        if "url" in body:
            body["url"] = "https://hooks.example.com/conformance"
    if op.method.upper() == "POST" and op.path == "/v1/orgs/{org}/api-keys" and isinstance(body, dict):
        at = body.get("expires_at")
        if isinstance(at, str):
            try:
                when = datetime.datetime.fromisoformat(at.replace("Z", "+00:00"))
            except ValueError:
                when = None
            now = datetime.datetime.now(datetime.timezone.utc)
            if when is not None and (when.tzinfo is None or when <= now + datetime.timedelta(minutes=5)):
                body["expires_at"] = (now + datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if op.method.upper() == "POST" and op.path == "/v1/orgs/{org}/jobs" and isinstance(body, dict):
        payload = body.get("payload")
        if body.get("type") == "file.process" and isinstance(payload, dict) and "file_id" in payload:
            payload["file_id"] = os.environ["CONFORMANCE_FILE"]
    if op.method.upper() == "POST" and op.path == "/v1/orgs/{org}/documents/{id}/shares" and isinstance(body, dict):
        if "user_id" in body:
            body["user_id"] = os.environ["CONFORMANCE_SHAREE"]
    if op.method.upper() == "PUT" and op.path == "/v1/orgs/{org}/files/multipart/{upload}/parts/{n}":
        if (case.path_parameters or {}).get("upload") == os.environ.get("CONFORMANCE_PART_UPLOAD"):
            case.path_parameters["n"] = 1
            # Sent as the one raw byte (`*/*` would send it JSON-encoded or as a form); a str:
            # bytes would no longer validate as the `binary` string.
            case.media_type = "application/octet-stream"
            case.body = "x"


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
