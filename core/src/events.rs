//! The one event model: every domain change is an event `{id, type, version, org_id,
//! occurred_at, data}` written in the same D1 batch as the change (the outbox). This module is
//! the catalogue: the public event types, which audit actions announce which of them, and the
//! envelope customers receive (documented, with each type's `data` schema, in the `webhooks`
//! section of `core/openapi.json`).

use serde_json::{json, Value};

/// The version of every event's `data` schema; a breaking change bumps it (per type).
pub const SCHEMA_VERSION: u32 = 1;

/// Every public event type, grouped by namespace (the part before the first dot).
pub const EVENT_TYPES: &[&str] = &[
    "document.created",
    "document.updated",
    "document.deleted",
    "document.restored",
    "document.shared",
    "document.unshared",
    "file.ready",
    "file.deleted",
    "member.joined",
    "member.removed",
    "member.left",
    "member.role_changed",
    "invitation.created",
    "invitation.revoked",
    "invitation.accepted",
    "api_key.created",
    "api_key.revoked",
    "job.status_changed",
    "generation.finished",
    "billing.plan_changed",
    "quota.threshold_crossed",
    "webhook.test",
];

/// Whether `t` is a public event type.
pub fn is_type(t: &str) -> bool {
    EVENT_TYPES.contains(&t)
}

/// Whether any event type lives in namespace `ns` (`document`, `file`, …).
pub fn is_namespace(ns: &str) -> bool {
    EVENT_TYPES
        .iter()
        .any(|t| t.split_once('.').is_some_and(|(n, _)| n == ns))
}

/// The public event types an audit action announces (most one, `invitation.accepted` two:
/// the invitation's and the new member's). Actions that are not domain changes customers
/// subscribe to (logins, secret rotations…) announce none.
pub fn from_audit(action: &str) -> &'static [&'static str] {
    match action {
        "document.shared" => &["document.shared"],
        "document.unshared" => &["document.unshared"],
        "file.uploaded" => &["file.ready"],
        "file.deleted" => &["file.deleted"],
        "member.removed" => &["member.removed"],
        "member.left" => &["member.left"],
        "member.role_changed" => &["member.role_changed"],
        "invitation.created" => &["invitation.created"],
        "invitation.revoked" => &["invitation.revoked"],
        "invitation.accepted" => &["invitation.accepted", "member.joined"],
        "api_key.created" => &["api_key.created"],
        "api_key.revoked" => &["api_key.revoked"],
        "billing.subscription_changed" => &["billing.plan_changed"],
        "generation.finished" => &["generation.finished"],
        _ => &[],
    }
}

/// The `data` of an event announced by an audit entry: what changed (`object`), who did it
/// (`actor`) and the entry's details. Never a secret: audit details hold none.
pub fn audit_data(
    target: Option<(&str, &str)>,
    actor_type: &str,
    actor_id: Option<&str>,
    details: &Value,
) -> Value {
    json!({
        "object": target.map(|(kind, id)| json!({"type": kind, "id": id})),
        "actor": {"type": actor_type, "id": actor_id},
        "details": details,
    })
}

/// The body a receiver gets (and `GET …/events` lists).
pub fn envelope(id: &str, ty: &str, org_id: &str, occurred_at: &str, data: Value) -> Value {
    json!({
        "id": id,
        "type": ty,
        "version": SCHEMA_VERSION,
        "org_id": org_id,
        "occurred_at": occurred_at,
        "data": data,
    })
}

/// How long events are kept (and listable), in days, per plan name.
pub fn retention_days(plan: &str) -> i64 {
    match plan {
        "enterprise" => 90,
        "pro" => 30,
        _ => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_actions_map_to_public_types_only() {
        for action in [
            "document.shared",
            "file.uploaded",
            "invitation.accepted",
            "billing.subscription_changed",
            "api_key.revoked",
            "generation.finished",
        ] {
            let types = from_audit(action);
            assert!(!types.is_empty(), "{action}");
            assert!(types.iter().all(|t| is_type(t)), "{action}: {types:?}");
        }
        assert_eq!(
            from_audit("invitation.accepted"),
            &["invitation.accepted", "member.joined"]
        );
        for quiet in [
            "auth.login",
            "auth.login_failed",
            "webhook_secret.rotated",
            "",
        ] {
            assert!(from_audit(quiet).is_empty(), "{quiet}");
        }
    }

    #[test]
    fn namespaces_and_types() {
        assert!(is_namespace("document"));
        assert!(is_namespace("webhook"));
        assert!(!is_namespace("doc"));
        assert!(is_type("job.status_changed"));
        assert!(!is_type("job.*"));
        let mut sorted = EVENT_TYPES.to_vec();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), EVENT_TYPES.len(), "no duplicate types");
    }

    #[test]
    fn envelope_and_data_shapes() {
        let data = audit_data(
            Some(("api_key", "key_1")),
            "user",
            Some("usr_1"),
            &json!({}),
        );
        assert_eq!(data["object"], json!({"type": "api_key", "id": "key_1"}));
        assert_eq!(data["actor"]["id"], "usr_1");
        let e = envelope(
            "evt_1",
            "api_key.created",
            "org_1",
            "2026-01-01T00:00:00Z",
            data,
        );
        assert_eq!(e["version"], 1);
        assert_eq!(e["type"], "api_key.created");
        assert_eq!(retention_days("free"), 7);
        assert_eq!(retention_days("enterprise"), 90);
    }
}
