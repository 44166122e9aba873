#!/usr/bin/env python3
"""Fails the conformance run when an operation with a documented 2xx response never got one.

A run that answers every request of an operation with 404 (a random id) or 400 checks that
the errors are documented, never the success schema. This reads the NDJSON reports that
schemathesis wrote (every call, its request and its response status), groups the calls by
operation (method and path template of the case; calls with a method the operation does not
have, the coverage phase's "unspecified method" cases, are not that operation's) and compares
the operations that got a 2xx with the operations that document one in the OpenAPI document.

Usage: coverage.py OPENAPI_JSON ALLOW_LIST NDJSON...
ALLOW_LIST names operations (operationId, one per line, `#` comments) that are known not to
reach a 2xx under schemathesis, each with its reason; an entry that did get a 2xx is an error
too, so the list cannot go stale.
"""
import collections
import json
import sys

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def documented(openapi_path):
    """operationId -> (METHOD, path) of every operation that documents a 2xx response."""
    doc = json.load(open(openapi_path))
    ops = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            if any(str(code).startswith("2") or str(code) == "2XX" for code in op.get("responses", {})):
                ops[op["operationId"]] = (method.upper(), path)
    return ops


def allow_list(path):
    allowed = set()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line:
            allowed.add(line)
    return allowed


def statuses(ndjson_paths):
    """(METHOD, path template) -> Counter of response statuses."""
    seen = collections.defaultdict(collections.Counter)
    for report in ndjson_paths:
        for line in open(report):
            event = json.loads(line)
            finished = event.get("ScenarioFinished")
            if not finished:
                continue
            recorder = finished.get("recorder") or {}
            cases = recorder.get("cases") or {}
            for case_id, interaction in (recorder.get("interactions") or {}).items():
                case = (cases.get(case_id) or {}).get("value") or {}
                response = interaction.get("response") or {}
                if not case or "status_code" not in response:
                    continue
                method = (interaction.get("request") or {}).get("method") or case.get("method")
                if method != case.get("method"):
                    continue
                seen[(method.upper(), case["path"])][response["status_code"]] += 1
    return seen


def main():
    openapi_path, allow_path, *reports = sys.argv[1:]
    ops = documented(openapi_path)
    allowed = allow_list(allow_path)
    seen = statuses(reports)
    unknown = sorted(allowed - ops.keys())
    missing, stale = [], []
    for op_id, key in sorted(ops.items(), key=lambda kv: kv[1]):
        got = seen.get(key, collections.Counter())
        success = any(200 <= code < 300 for code in got)
        if op_id in allowed:
            if success:
                stale.append((op_id, key, got))
        elif not success:
            missing.append((op_id, key, got))

    def show(op_id, key, got):
        codes = ", ".join(f"{code}×{n}" for code, n in sorted(got.items())) or "no calls"
        return f"  {op_id} ({key[0]} {key[1]}): {codes}"

    reached = sum(1 for op_id, key in ops.items() if any(200 <= c < 300 for c in seen.get(key, {})))
    print(f"2xx reached by {reached} of {len(ops)} operations that document one "
          f"({len(allowed)} allow-listed)")
    failed = False
    if missing:
        failed = True
        print("operations with a documented 2xx that never got one:")
        for row in missing:
            print(show(*row))
    if stale:
        failed = True
        print("allow-listed operations that did get a 2xx (remove them from the allow-list):")
        for row in stale:
            print(show(*row))
    if unknown:
        failed = True
        print("allow-list entries that name no operation with a documented 2xx: " + ", ".join(unknown))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
