//! The OpenAPI 3.1 document of the API (`GET /v1/openapi.json`), and the tests that keep it in
//! step with the route table: every public route is documented with exactly its methods, and
//! nothing else is.

/// The document as written in `core/openapi.json` without the whitespace between tokens
/// (`core/build.rs`), for the tests below only: the worker serves the same bytes from its static
/// assets (`scripts/build` writes them to `build/assets/openapi.json`), not from the wasm.
#[cfg(test)]
pub const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use crate::router::ROUTES;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet};

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];

    fn document() -> Value {
        serde_json::from_str(DOCUMENT).expect("core/openapi.json is not valid JSON")
    }

    /// `(METHOD, path) → operation` of every operation under `paths`.
    fn operations(doc: &Value) -> BTreeMap<(String, String), &Value> {
        let paths = doc["paths"].as_object().expect("`paths` is an object");
        let mut out = BTreeMap::new();
        for (path, item) in paths {
            let item = item.as_object().expect("a path item is an object");
            for (key, operation) in item {
                if METHODS.contains(&key.as_str()) {
                    out.insert((key.to_uppercase(), path.clone()), operation);
                }
            }
        }
        out
    }

    /// Every operation of the document: those of `paths` and of `webhooks`.
    fn all_operations(doc: &Value) -> Vec<(String, &Value)> {
        let mut out: Vec<(String, &Value)> = operations(doc)
            .into_iter()
            .map(|((m, p), op)| (format!("{m} {p}"), op))
            .collect();
        if let Some(hooks) = doc["webhooks"].as_object() {
            for (name, item) in hooks {
                for m in METHODS {
                    if let Some(op) = item.get(m) {
                        out.push((format!("webhook {name} {m}"), op));
                    }
                }
            }
        }
        out
    }

    fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix('#')
                .and_then(|p| doc.pointer(p))
                .unwrap_or_else(|| panic!("unresolvable $ref {r}")),
            None => v,
        }
    }

    fn collect_refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => collect_refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn is_an_openapi_3_1_document() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        assert_eq!(doc["info"]["title"], "edge-api");
        assert!(doc["info"]["version"].is_string());
        assert!(doc["paths"].is_object());
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearerJwt"]["scheme"], "bearer");
        assert_eq!(schemes["apiKey"]["scheme"], "bearer");
    }

    #[test]
    fn the_stripped_document_is_the_written_one() {
        let written: Value = serde_json::from_str(include_str!("../openapi.json")).unwrap();
        let stripped: Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(written, stripped);
        assert!(DOCUMENT.len() * 10 < include_str!("../openapi.json").len() * 7);
    }

    #[test]
    fn documents_exactly_the_public_routes_of_the_router() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = operations(&doc).into_keys().collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .filter(|d| !d.test_only)
            .map(|d| (d.method.to_owned(), d.pattern.replace("*}", "}")))
            .collect();
        let show = |set: BTreeSet<&(String, String)>| {
            set.iter()
                .map(|(m, p)| format!("  {m} {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let undocumented: BTreeSet<_> = routed.difference(&documented).collect();
        let unrouted: BTreeSet<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "core/openapi.json is out of step with core/src/router.rs\n\
             in the router but not documented:\n{}\n\
             documented but not in the router (or test-only):\n{}",
            show(undocumented),
            show(unrouted)
        );
    }

    #[test]
    fn path_parameters_match_the_templates() {
        let doc = document();
        for ((method, path), op) in operations(&doc) {
            let in_template: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let item = &doc["paths"][path.as_str()];
            let declared: BTreeSet<&str> = [&item["parameters"], &op["parameters"]]
                .into_iter()
                .filter_map(Value::as_array)
                .flatten()
                .map(|p| resolve(&doc, p))
                .filter(|p| p["in"] == "path")
                .map(|p| {
                    assert_eq!(
                        p["required"], true,
                        "{method} {path}: path parameters are required"
                    );
                    p["name"].as_str().unwrap_or_default()
                })
                .collect();
            assert_eq!(in_template, declared, "{method} {path}: path parameters");
        }
    }

    #[test]
    fn operations_are_identified_succeed_somehow_and_refs_resolve() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (name, op) in all_operations(&doc) {
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no operationId"));
            assert!(
                ids.insert(id.to_owned()),
                "{name}: duplicate operationId {id}"
            );
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{name}: no responses"));
            // A WebSocket upgrade succeeds with 101 Switching Protocols.
            assert!(
                responses.keys().any(|k| k.starts_with('2') || k == "101"),
                "{name}: no 2xx (or 101) response"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: no tags"
            );
            assert!(op["security"].is_array(), "{name}: no explicit security");
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let target = r.strip_prefix('#').and_then(|p| doc.pointer(p));
            assert!(
                target.is_some(),
                "$ref {r} does not resolve within the document"
            );
        }
    }

    #[test]
    fn public_routes_need_no_credential_and_the_rest_do() {
        let doc = document();
        let public = [
            "GET /health",
            "GET /health/ready",
            "GET /.well-known/jwks.json",
            "GET /v1/openapi.json",
            "POST /v1/auth/signup",
            "POST /v1/auth/login",
            "POST /v1/auth/mfa",
            "POST /v1/auth/refresh",
            "POST /v1/auth/verify-email",
            "POST /v1/auth/password-reset",
            "POST /v1/auth/password-reset/confirm",
            "POST /v1/auth/email/confirm",
            "POST /v1/me/restore",
            "POST /v1/billing/stripe/webhook",
            "PUT /v1/orgs/{org}/files/{id}/content",
            "GET /demo/rooms",
            "POST /v1/auth/passkey/options",
            "POST /v1/auth/passkey/verify",
            "GET /demo/passkeys",
        ];
        for ((method, path), op) in operations(&doc) {
            let name = format!("{method} {path}");
            let open = op["security"].as_array().is_some_and(Vec::is_empty);
            assert_eq!(open, public.contains(&name.as_str()), "{name}: security");
            if !open {
                assert!(
                    op["responses"].get("401").is_some(),
                    "{name}: an authenticated route documents 401"
                );
            }
        }
    }

    /// Every code an `ApiError` constructor of `problem.rs` can carry, plus the ad-hoc ones.
    const PROBLEM_CODES: [&str; 30] = [
        "validation_failed",
        "malformed_json",
        "bad_request",
        "unauthenticated",
        "forbidden",
        "not_found",
        "conflict",
        "precondition_failed",
        "payload_too_large",
        "unsupported_media_type",
        "idempotency_key_reused",
        "rate_limited",
        "internal",
        "unavailable",
        "gateway_timeout",
        "unknown_field",
        "method_not_allowed",
        "invalid_signature",
        "length_required",
        "range_not_satisfiable",
        "upgrade_required",
        "mfa_required",
        "mfa_code_invalid",
        "mfa_not_enrolled",
        "step_up_required",
        "mfa_enrollment_required",
        "csrf_failed",
        "webauthn_failed",
        "account_pending_deletion",
        "last_owner",
    ];

    #[test]
    fn every_problem_code_is_documented() {
        let doc = document();
        let code = &doc["components"]["schemas"]["Problem"]["properties"]["code"];
        let listed: Vec<&str> = code["enum"]
            .as_array()
            .map(|e| e.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let description = code["description"].as_str().unwrap_or_default();
        for c in PROBLEM_CODES {
            assert!(
                listed.contains(&c) || description.contains(&format!("`{c}`")),
                "problem code {c} is not documented in the Problem schema"
            );
        }
        let statuses: [(&str, u16); 4] = [
            ("validation_failed", 400),
            ("rate_limited", 429),
            ("internal", 500),
            ("unavailable", 503),
        ];
        for (c, status) in statuses {
            assert!(
                description.contains(&format!("`{c}` ({status})")),
                "{c} is documented with its status"
            );
        }
    }

    #[test]
    fn request_bodies_reject_unknown_members() {
        let doc = document();
        for (name, op) in all_operations(&doc) {
            let Some(body) = op.get("requestBody") else {
                continue;
            };
            // Raw uploads (files) have no JSON body to close.
            if body["content"].get("application/json").is_none() {
                continue;
            }
            let schema = resolve(&doc, &body["content"]["application/json"]["schema"]);
            if name.contains("/stripe/")
                || name.starts_with("webhook ")
                || name.contains("/origin/")
            {
                // Stripe's and our own outgoing event objects, and bodies proxied to the
                // origin as they are, are open by design.
                continue;
            }
            // A `oneOf` of shapes is closed when every shape is.
            let shapes: Vec<&Value> = match schema["oneOf"].as_array() {
                Some(variants) => variants.iter().map(|v| resolve(&doc, v)).collect(),
                None => vec![schema],
            };
            for shape in shapes {
                assert_eq!(
                    shape["additionalProperties"], false,
                    "{name}: request body schema must set additionalProperties: false"
                );
            }
        }
    }
}
