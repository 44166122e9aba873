//! Proxied calls where the client sends the edge's identity headers itself (`X-User-Role:
//! owner`, `X-Api-Key-Id`, `X-Org-Id` of another org, job and forwarding headers…), by a user
//! and by an API key: the origin sees only the edge's values and the signature covers them.

use super::kit::{api_key, join, signup, Caller};
use super::proxy::{assert_proxy_signed, keyed, proxy_path};
use crate::support::{trial, Suite};
use edge_tests::{random, Method, SendExt};
use libtest_mimic::Trial;

pub fn trials() -> Vec<Trial> {
    vec![trial!(client_identity_headers_never_reach_the_origin)]
}

/// A client sends the identity headers itself — by a user and by an API key: the origin sees
/// only the edge's values, each once, and the signature verifies over exactly those.
async fn client_identity_headers_never_reach_the_origin(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let member = join(s, &by, org, "member").await;
    let (key_id, secret) = api_key(&by, org, &["jobs:write"]).await;
    let victim = signup(&s.api).await;
    let forged = [
        ("X-User-Role", "owner"),
        ("X-User-Id", owner.id.as_str()),
        ("X-Api-Key-Id", "key_forged0000000000"),
        ("X-Org-Id", victim.org_id.as_str()),
        ("X-Job-Id", "job_forged0000000000"),
        ("X-Job-Type", "email"),
        ("X-Attempt", "1"),
        ("X-Signature", "t=1,v1=00"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("X-Real-IP", "203.0.113.7"),
        ("Forwarded", "for=203.0.113.7"),
        ("X-Forwarded-Host", "evil.example"),
        ("webhook-signature", "v1,AAAA"),
    ];
    let cases = [
        (
            member.on(&s.api),
            member.id.clone(),
            String::new(),
            "member",
        ),
        (
            Caller::new(&s.api, &secret),
            String::new(),
            key_id.clone(),
            "member",
        ),
    ];
    for (caller, user, key, role) in cases {
        let tag = random::unique("proxy-spoof");
        let mut req = caller
            .request(Method::POST, &keyed(&proxy_path(org, "who/am/i"), &tag))
            .header("content-type", "application/json")
            .body("{\"act\":\"as owner\"}");
        for (n, v) in forged {
            req = req.header(n, v);
        }
        let r = req.reply().await;
        r.expect_status(200);
        let seen = s.origin.requests_for(&tag);
        assert_eq!(seen.len(), 1);
        let d = &seen[0];
        let ids = assert_proxy_signed(s.worker.env_value("ORIGIN_SECRET"), d);
        assert_eq!(
            ids[..4],
            [org.clone(), user.clone(), key.clone(), role.to_owned()],
            "the identity the origin saw ({:?})",
            d.headers
        );
        assert_eq!(Some(ids[4].as_str()), r.header("x-request-id"));
        for h in [
            "x-job-id",
            "x-job-type",
            "x-attempt",
            "x-forwarded-for",
            "x-real-ip",
            "forwarded",
            "x-forwarded-host",
            "webhook-signature",
        ] {
            assert!(
                d.header(h).is_none(),
                "{h} reached the origin: {:?}",
                d.headers
            );
        }
        let all: String = d
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect();
        for (_, v) in forged {
            if v != org.as_str() && v != user.as_str() && v != "member" && v != "1" {
                assert!(
                    !all.contains(v),
                    "a forged value {v:?} reached the origin:\n{all}"
                );
            }
        }
    }
}
