//! The exact strings the edge signs, one scheme per purpose, so that a signature made for one
//! purpose can never be replayed as another:
//!
//! - job deliveries to `${ORIGIN_URL}/jobs/{type}` (`ORIGIN_SECRET`, [`JOB_SCHEME`]);
//! - proxied calls to `${ORIGIN_URL}/{path}` (`ORIGIN_SECRET`, [`PROXY_SCHEME`]);
//! - customer webhooks (`webhook.deliver`), signed per the Standard Webhooks spec with a
//!   per-organization secret derived from `WEBHOOK_SIGNING_KEY` — never with `ORIGIN_SECRET`.
//!
//! Every field but the body is one line: the composers refuse a field holding `\n` or `\r`,
//! so no two different field tuples give the same string. The body is last and taken as is.

use crate::encoding::{base64_std, hex};
use crate::signature::hmac_sha256;

/// First line of a job delivery's signed string.
pub const JOB_SCHEME: &str = "edge-job.v1";
/// First line of a proxied call's signed string.
pub const PROXY_SCHEME: &str = "edge-proxy.v1";
/// First line of the message a webhook secret is derived from.
pub const WEBHOOK_SECRET_SCHEME: &str = "edge-webhook-secret.v1";

/// A field that would make the signed string ambiguous (it holds a line break).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBreakIn(pub &'static str);

/// What a job delivery binds (see [`job_message`]).
#[derive(Debug, Clone, Copy)]
pub struct JobFields<'a> {
    pub t: i64,
    pub job_id: &'a str,
    pub job_type: &'a str,
    /// `None` for account-level jobs (signed as an empty line).
    pub org_id: Option<&'a str>,
    pub attempt: u32,
    pub body: &'a [u8],
}

/// What a proxied call binds (see [`proxy_message`]).
#[derive(Debug, Clone, Copy)]
pub struct ProxyFields<'a> {
    pub t: i64,
    pub method: &'a str,
    /// The path on the origin with its query, e.g. `/reports/q1?x=1`.
    pub path_and_query: &'a str,
    pub org_id: &'a str,
    /// Empty for API keys.
    pub user_id: &'a str,
    /// Empty for users.
    pub api_key_id: &'a str,
    pub role: &'a str,
    pub request_id: &'a str,
    pub body: &'a [u8],
}

/// The only client request headers a proxied call forwards to the origin (lowercase). All
/// others are dropped — credentials, cookies, hop-by-hop, forwarding and any `X-*` header a
/// client could use to pose as the edge — and the edge sets the identity headers itself.
pub const PROXY_FORWARDED_HEADERS: [&str; 12] = [
    "accept",
    "accept-encoding",
    "accept-language",
    "content-language",
    "content-type",
    "idempotency-key",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-unmodified-since",
    "range",
    "user-agent",
];

/// Whether a client's request header `name` (any case) is forwarded on a proxied call.
pub fn is_forwarded_header(name: &str) -> bool {
    PROXY_FORWARDED_HEADERS.contains(&name.to_ascii_lowercase().as_str())
}

fn lines(
    scheme: &str,
    fields: &[(&'static str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, LineBreakIn> {
    let mut out = Vec::with_capacity(64 + body.len());
    out.extend_from_slice(scheme.as_bytes());
    out.push(b'\n');
    for (name, value) in fields {
        if value.contains(['\n', '\r']) {
            return Err(LineBreakIn(name));
        }
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(body);
    Ok(out)
}

/// `"edge-job.v1\n{t}\n{job_id}\n{type}\n{org_id or empty}\n{attempt}\n{body}"`.
pub fn job_message(f: &JobFields) -> Result<Vec<u8>, LineBreakIn> {
    lines(
        JOB_SCHEME,
        &[
            ("t", &f.t.to_string()),
            ("job_id", f.job_id),
            ("type", f.job_type),
            ("org_id", f.org_id.unwrap_or("")),
            ("attempt", &f.attempt.to_string()),
        ],
        f.body,
    )
}

/// `"edge-proxy.v1\n{t}\n{METHOD}\n{path?query}\n{org}\n{user}\n{key}\n{role}\n{request id}\n{body}"`.
pub fn proxy_message(f: &ProxyFields) -> Result<Vec<u8>, LineBreakIn> {
    lines(
        PROXY_SCHEME,
        &[
            ("t", &f.t.to_string()),
            ("method", f.method),
            ("path", f.path_and_query),
            ("org_id", f.org_id),
            ("user_id", f.user_id),
            ("api_key_id", f.api_key_id),
            ("role", f.role),
            ("request_id", f.request_id),
        ],
        f.body,
    )
}

fn header(secret: &[u8], t: i64, message: &[u8]) -> String {
    format!("t={t},v1={}", hex(&hmac_sha256(secret, &[message])))
}

/// `X-Signature: t=<t>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, job_message)>`.
pub fn sign_job(secret: &[u8], f: &JobFields) -> Result<String, LineBreakIn> {
    Ok(header(secret, f.t, &job_message(f)?))
}

/// `X-Signature: t=<t>,v1=<hex HMAC-SHA256(ORIGIN_SECRET, proxy_message)>`.
pub fn sign_proxy(secret: &[u8], f: &ProxyFields) -> Result<String, LineBreakIn> {
    Ok(header(secret, f.t, &proxy_message(f)?))
}

/// The key bytes of an organization's webhook secret of `generation`:
/// `HMAC-SHA256(WEBHOOK_SIGNING_KEY, "edge-webhook-secret.v1\n{org_id}\n{generation}")`.
/// Derived, so nothing secret is stored per organization; rotating bumps `generation`.
pub fn webhook_key(signing_key: &[u8], org_id: &str, generation: u32) -> [u8; 32] {
    let message = format!("{WEBHOOK_SECRET_SCHEME}\n{org_id}\n{generation}");
    hmac_sha256(signing_key, &[message.as_bytes()])
}

/// The secret as the customer configures it: `whsec_<standard base64 of the key bytes>`.
pub fn webhook_secret(key: &[u8]) -> String {
    format!("whsec_{}", base64_std(key))
}

/// One Standard Webhooks signature: `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`.
pub fn webhook_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let prefix = format!("{id}.{timestamp}.");
    let mac = hmac_sha256(key, &[prefix.as_bytes(), body]);
    format!("v1,{}", base64_std(&mac))
}

/// The `webhook-signature` header: one signature per key (space-separated, as the spec allows),
/// so a receiver holding either the new or the previous secret verifies during a rotation.
pub fn webhook_signature_header(
    keys: &[[u8; 32]],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    keys.iter()
        .map(|k| webhook_signature(k, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobFields<'static> {
        JobFields {
            t: 1_700_000_000,
            job_id: "job_01",
            job_type: "email",
            org_id: Some("org_01"),
            attempt: 2,
            body: b"{\"a\":1}",
        }
    }

    fn proxy() -> ProxyFields<'static> {
        ProxyFields {
            t: 1_700_000_000,
            method: "POST",
            path_and_query: "/r?x=1",
            org_id: "org_01",
            user_id: "",
            api_key_id: "key_01",
            role: "member",
            request_id: "req-1",
            body: b"hi",
        }
    }

    #[test]
    fn job_string_is_exactly_the_documented_one() {
        let m = job_message(&job()).unwrap();
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "edge-job.v1\n1700000000\njob_01\nemail\norg_01\n2\n{\"a\":1}"
        );
        let none = JobFields {
            org_id: None,
            ..job()
        };
        assert_eq!(
            String::from_utf8(job_message(&none).unwrap()).unwrap(),
            "edge-job.v1\n1700000000\njob_01\nemail\n\n2\n{\"a\":1}"
        );
    }

    #[test]
    fn proxy_string_is_exactly_the_documented_one() {
        let m = proxy_message(&proxy()).unwrap();
        assert_eq!(
            String::from_utf8(m).unwrap(),
            "edge-proxy.v1\n1700000000\nPOST\n/r?x=1\norg_01\n\nkey_01\nmember\nreq-1\nhi"
        );
    }

    // Known answers computed independently with Python:
    // python3 -c 'import hmac,hashlib;print(hmac.new(b"s3cret-origin",
    //   b"edge-job.v1\n1700000000\njob_01\nemail\norg_01\n2\n{\"a\":1}", hashlib.sha256).hexdigest())'
    #[test]
    fn job_known_answer() {
        assert_eq!(
            sign_job(b"s3cret-origin", &job()).unwrap(),
            "t=1700000000,v1=5eee3536b61f971c2937271ca6451a77134632eb4709ccf4188318b2e50e3401"
        );
    }

    // python3 -c 'import hmac,hashlib;print(hmac.new(b"s3cret-origin",
    //   b"edge-proxy.v1\n1700000000\nPOST\n/r?x=1\norg_01\n\nkey_01\nmember\nreq-1\nhi",
    //   hashlib.sha256).hexdigest())'
    #[test]
    fn proxy_known_answer() {
        assert_eq!(
            sign_proxy(b"s3cret-origin", &proxy()).unwrap(),
            "t=1700000000,v1=661f34a092097434ca2b3d849865e745f4af0b65ae59046eb74e31bc29df5ab1"
        );
    }

    // python3: k = hmac.new(b"signing-key", b"edge-webhook-secret.v1\norg_01\n1", sha256).digest();
    //   "whsec_" + base64.b64encode(k); base64.b64encode(hmac.new(k, b"job_01.1700000000.{\"a\":1}",
    //   sha256).digest())
    #[test]
    fn webhook_known_answers() {
        let key = webhook_key(b"signing-key", "org_01", 1);
        assert_eq!(
            webhook_secret(&key),
            "whsec_sFyu42CiWTmUDxK3pP1ysAHlzHVzVVKAV0ka5IDrEsg="
        );
        assert_eq!(
            webhook_signature(&key, "job_01", 1_700_000_000, b"{\"a\":1}"),
            "v1,UmUDt+lu+ZzYsYxEPUEugzToHUeEhyumRSVfPOLOwSk="
        );
        assert_ne!(key, webhook_key(b"signing-key", "org_01", 2));
        assert_ne!(key, webhook_key(b"signing-key", "org_02", 1));
        let two = webhook_signature_header(&[key, key], "i", 1, b"b");
        assert_eq!(two.split(' ').count(), 2);
    }

    #[test]
    fn every_bound_field_changes_the_signature() {
        let s = b"k";
        let base = sign_job(s, &job()).unwrap();
        for changed in [
            JobFields {
                job_id: "job_02",
                ..job()
            },
            JobFields {
                job_type: "file.process",
                ..job()
            },
            JobFields {
                org_id: None,
                ..job()
            },
            JobFields {
                org_id: Some("org_02"),
                ..job()
            },
            JobFields {
                attempt: 3,
                ..job()
            },
            JobFields {
                body: b"{\"a\":2}",
                ..job()
            },
            JobFields { t: 1, ..job() },
        ] {
            assert_ne!(sign_job(s, &changed).unwrap(), base, "{changed:?}");
        }
        let base = sign_proxy(s, &proxy()).unwrap();
        for changed in [
            ProxyFields {
                method: "GET",
                ..proxy()
            },
            ProxyFields {
                path_and_query: "/r?x=2",
                ..proxy()
            },
            ProxyFields {
                org_id: "org_02",
                ..proxy()
            },
            ProxyFields {
                user_id: "usr_1",
                ..proxy()
            },
            ProxyFields {
                api_key_id: "",
                ..proxy()
            },
            ProxyFields {
                role: "owner",
                ..proxy()
            },
            ProxyFields {
                request_id: "req-2",
                ..proxy()
            },
            ProxyFields {
                body: b"ho",
                ..proxy()
            },
        ] {
            assert_ne!(sign_proxy(s, &changed).unwrap(), base, "{changed:?}");
        }
    }

    #[test]
    fn schemes_are_separated() {
        // The old bare "{t}.{body}" signature of the same body never equals a job signature,
        // and a job string never reads as a proxy string.
        let old = crate::signature::sign(b"k", 1_700_000_000, &[b"{\"a\":1}"]);
        assert_ne!(old, sign_job(b"k", &job()).unwrap());
        let j = job_message(&job()).unwrap();
        assert!(j.starts_with(b"edge-job.v1\n"));
        assert!(!j.starts_with(PROXY_SCHEME.as_bytes()));
    }

    #[test]
    fn only_allow_listed_headers_are_forwarded() {
        for h in [
            "Content-Type",
            "accept",
            "If-None-Match",
            "Range",
            "Idempotency-Key",
        ] {
            assert!(is_forwarded_header(h), "{h}");
        }
        for h in [
            "authorization",
            "cookie",
            "x-user-role",
            "X-User-Id",
            "x-api-key-id",
            "x-org-id",
            "x-job-id",
            "x-signature",
            "x-request-id",
            "x-forwarded-for",
            "forwarded",
            "cf-connecting-ip",
            "host",
            "connection",
            "transfer-encoding",
            "x-custom",
            "webhook-signature",
        ] {
            assert!(!is_forwarded_header(h), "{h}");
        }
    }

    #[test]
    fn line_breaks_in_fields_are_refused() {
        let bad = ProxyFields {
            request_id: "r\nX",
            ..proxy()
        };
        assert_eq!(proxy_message(&bad), Err(LineBreakIn("request_id")));
        let bad = JobFields {
            job_type: "email\r",
            ..job()
        };
        assert_eq!(job_message(&bad), Err(LineBreakIn("type")));
        // The body may hold anything.
        let ok = JobFields {
            body: b"a\nb\r\n",
            ..job()
        };
        assert!(job_message(&ok).is_ok());
    }
}
