//! `ANY /v1/orgs/{org}/origin/{path…}`: method, path, query, body and status pass through; the
//! origin sees the caller's identity in signed headers and never the caller's credential;
//! access, tenancy and the origin timeout.

use super::kit::{api_key, join, signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::{random, signature, Answer, Method, Recorded, Reply, SendExt};
use libtest_mimic::Trial;
use serde_json::json;
use std::time::{Duration, Instant};

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(every_method_passes_through_signed_without_credentials),
        trial!(origin_status_and_headers_come_back_without_set_cookie),
        trial!(api_keys_are_named_by_id_and_need_jobs_write),
        trial!(viewer_403_anonymous_401_other_org_404),
        trial!(a_slow_origin_is_504_gateway_timeout),
    ]
}

pub(super) fn proxy_path(org: &str, rest: &str) -> String {
    format!("/v1/orgs/{org}/origin/{rest}")
}

/// `X-Signature` verifies (independent HMAC) over `edge-proxy.v1` with the request's method,
/// path and query, body and the identity headers the origin received, `t` within a minute of
/// now; returns those identity headers (`X-Org-Id`, `X-User-Id`, `X-Api-Key-Id`,
/// `X-User-Role`, `X-Request-Id`), each present exactly once.
pub(super) fn assert_proxy_signed(secret: &str, d: &Recorded) -> [String; 5] {
    let header = d
        .header("x-signature")
        .expect("X-Signature on a proxied call");
    let one = |n: &str| {
        let all: Vec<&str> = d
            .headers
            .iter()
            .filter(|(k, _)| k == n)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            all.len(),
            1,
            "{n} must be set exactly once: {:?}",
            d.headers
        );
        all[0].to_owned()
    };
    let ids = [
        one("x-org-id"),
        one("x-user-id"),
        one("x-api-key-id"),
        one("x-user-role"),
        one("x-request-id"),
    ];
    let target = match &d.query {
        Some(q) => format!("{}?{q}", d.path),
        None => d.path.clone(),
    };
    let identity = signature::ProxyIdentity {
        org_id: &ids[0],
        user_id: &ids[1],
        api_key_id: &ids[2],
        role: &ids[3],
        request_id: &ids[4],
    };
    let message = |t| signature::proxy_message(t, &d.method, &target, identity, &d.body);
    if let Err(e) = signature::verify_with(secret, header, message, signature::unix_now(), 60) {
        panic!("bad X-Signature on a proxied call: {e}");
    }
    ids
}

/// The proxied path with the origin's script key in the query (custom headers are not
/// forwarded).
pub(super) fn keyed(path: &str, key: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}test_key={key}")
}

async fn call(by: &Caller, method: Method, path: &str, key: &str, body: Option<&str>) -> Reply {
    let mut req = by
        .request(method, &keyed(path, key))
        .header("Cookie", "session=secret-cookie-value")
        .header("X-Custom-In", "hello")
        .header("Accept-Language", "de-CH");
    if let Some(b) = body {
        req = req.header("content-type", "text/plain").body(b.to_owned());
    }
    req.reply().await
}

async fn every_method_passes_through_signed_without_credentials(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let secret = s.worker.env_value("ORIGIN_SECRET");
    for method in [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ] {
        let key = random::unique("proxy-m");
        s.origin.script(
            &key,
            vec![Answer::Json(201, json!({"method": method.as_str()}))],
        );
        let body = (method != Method::GET).then(|| format!("body of {method} {key}"));
        let path = proxy_path(org, "reports/2024/q1.json?x=1&y=two%20words");
        let r = call(&by, method.clone(), &path, &key, body.as_deref()).await;
        assert_eq!(r.status, 201, "{method}: {}", r.text());
        assert_eq!(r.json(), json!({"method": method.as_str()}), "{method}");
        let request_id = r.header("x-request-id").expect("X-Request-Id").to_owned();

        let seen = s.origin.requests_for(&key);
        assert_eq!(seen.len(), 1, "{method}: one origin request");
        let d = &seen[0];
        assert_eq!(d.method, method.as_str());
        assert_eq!(d.path, "/reports/2024/q1.json", "{method}");
        assert_eq!(
            d.query.as_deref(),
            Some(format!("x=1&y=two%20words&test_key={key}").as_str()),
            "{method}"
        );
        assert_eq!(
            d.body.as_ref(),
            body.as_deref().unwrap_or_default().as_bytes(),
            "{method}: body"
        );
        assert_eq!(d.header("x-org-id"), Some(org.as_str()), "{method}");
        assert_eq!(d.header("x-user-id"), Some(owner.id.as_str()), "{method}");
        assert_eq!(d.header("x-api-key-id"), Some(""), "{method}");
        assert_eq!(d.header("x-user-role"), Some("owner"), "{method}");
        assert_eq!(
            d.header("x-request-id"),
            Some(request_id.as_str()),
            "{method}"
        );
        assert!(
            d.header("x-custom-in").is_none(),
            "{method}: a custom header passed"
        );
        assert_eq!(d.header("accept-language"), Some("de-CH"), "{method}");
        assert!(
            d.header("authorization").is_none(),
            "{method}: Authorization reached the origin"
        );
        assert!(
            d.header("cookie").is_none(),
            "{method}: Cookie reached the origin"
        );
        let all: String = d
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect();
        assert!(
            !all.contains(&owner.access) && !all.contains("secret-cookie-value"),
            "{method}: the caller's credential reached the origin:\n{all}"
        );
        assert_proxy_signed(secret, d);
    }
}

async fn origin_status_and_headers_come_back_without_set_cookie(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    for status in [200u16, 404, 418, 500, 503] {
        let key = random::unique("proxy-status");
        s.origin.script(
            &key,
            vec![Answer::with_headers(
                &[
                    ("x-origin-header", "kept"),
                    ("cache-control", "max-age=7"),
                    ("set-cookie", "origin_session=abc; Path=/"),
                ],
                Answer::Json(status, json!({"status": status})),
            )],
        );
        let r = call(&by, Method::GET, &proxy_path(org, "a"), &key, None).await;
        assert_eq!(r.status, status, "{}", r.text());
        assert_eq!(r.json(), json!({"status": status}));
        assert_eq!(r.header("x-origin-header"), Some("kept"), "status {status}");
        assert!(r.header("set-cookie").is_none(), "Set-Cookie came back");
        assert!(
            r.header("x-request-id").is_some_and(|v| !v.is_empty()),
            "the edge adds X-Request-Id"
        );
        assert_eq!(s.origin.requests_for(&key).len(), 1);
    }
    // An empty answer stays empty.
    let key = random::unique("proxy-204");
    s.origin.script(&key, vec![Answer::Status(204)]);
    let r = call(
        &by,
        Method::DELETE,
        &proxy_path(org, "things/1"),
        &key,
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
}

async fn api_keys_are_named_by_id_and_need_jobs_write(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let (key_id, secret) = api_key(&by, org, &["jobs:write"]).await;
    let (_, weak) = api_key(&by, org, &["documents:read"]).await;
    let key = random::unique("proxy-key");
    let r = call(
        &Caller::new(&s.api, &secret),
        Method::POST,
        &proxy_path(org, "k/run"),
        &key,
        Some("{\"a\":1}"),
    )
    .await;
    r.expect_status(200);
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 1);
    let d = &seen[0];
    assert_eq!(d.header("x-api-key-id"), Some(key_id.as_str()));
    assert_eq!(
        d.header("x-user-id"),
        Some(""),
        "an API key call names no user"
    );
    assert_eq!(
        d.header("x-user-role"),
        Some("member"),
        "a key acts as a member"
    );
    assert_eq!(d.header("x-org-id"), Some(org.as_str()));
    assert!(d.header("authorization").is_none());
    let all: String = d
        .headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\n"))
        .collect();
    assert!(
        !all.contains(&secret),
        "the API key reached the origin:\n{all}"
    );
    assert_proxy_signed(s.worker.env_value("ORIGIN_SECRET"), d);

    let key2 = random::unique("proxy-weak");
    let r = call(
        &Caller::new(&s.api, &weak),
        Method::GET,
        &proxy_path(org, "k/run"),
        &key2,
        None,
    )
    .await;
    r.expect_problem(403, "forbidden");
    assert!(
        s.origin.requests_for(&key2).is_empty(),
        "a refused call reached the origin"
    );
}

async fn viewer_403_anonymous_401_other_org_404(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let org = &owner.org_id;
    let viewer = join(s, &by, org, "viewer").await;
    let member = join(s, &by, org, "member").await;
    let stranger = signup(&s.api).await;
    let key = random::unique("proxy-acl");
    let path = proxy_path(org, "secret/thing");
    call(&viewer.on(&s.api), Method::GET, &path, &key, None)
        .await
        .expect_problem(403, "forbidden");
    call(&viewer.on(&s.api), Method::POST, &path, &key, Some("x"))
        .await
        .expect_problem(403, "forbidden");
    call(&Caller::anon(&s.api), Method::GET, &path, &key, None)
        .await
        .expect_problem(401, "unauthenticated");
    call(
        &Caller::new(&s.api, "not-a-token"),
        Method::GET,
        &path,
        &key,
        None,
    )
    .await
    .expect_problem(401, "unauthenticated");
    call(&stranger.on(&s.api), Method::GET, &path, &key, None)
        .await
        .expect_problem(404, "not_found");
    assert!(
        s.origin.requests_for(&key).is_empty(),
        "a refused call reached the origin"
    );
    // A member may.
    let r = call(&member.on(&s.api), Method::GET, &path, &key, None).await;
    r.expect_status(200);
    let seen = s.origin.requests_for(&key);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("x-user-id"), Some(member.id.as_str()));
}

async fn a_slow_origin_is_504_gateway_timeout(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    let key = random::unique("proxy-slow");
    s.origin.script(
        &key,
        vec![Answer::slow(
            6_000,
            Answer::Json(200, json!({"late": true})),
        )],
    );
    let started = Instant::now();
    let r = call(
        &by,
        Method::GET,
        &proxy_path(&owner.org_id, "slow"),
        &key,
        None,
    )
    .await;
    let took = started.elapsed();
    r.expect_problem(504, "gateway_timeout");
    assert!(
        took < Duration::from_millis(5_500),
        "the 504 came after {took:?} (ORIGIN_TIMEOUT_MS is 2000)"
    );
    assert!(
        took >= Duration::from_millis(1_900),
        "the 504 came too early: {took:?}"
    );
}
