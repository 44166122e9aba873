//! Outbound address checks against the spellings `fetch` itself accepts: an admin aims a
//! webhook endpoint at loopback, unspecified, private and metadata addresses written the
//! ways the WHATWG URL parser normalizes (hex, octal, empty `0x` parts, shortened and integer
//! forms, trailing dots, percent-encoding, full-width digits, backslashes, embedded IPv4 in
//! IPv6…). Each is refused at creation and creates nothing; written as a redirect hop, each
//! fails the delivery unfollowed. `0x.0x.0x.0x`, `0x7f.0x.0x.1` and `[::127.0.0.1]` passed the
//! hand-written filter this replaced as "public" names.

use super::kit::signup;
use super::webhook::{assert_blocked, hooks_path, job_requests, refused, webhook_redirected};
use crate::support::{trial, Suite};
use edge_tests::{random, Answer};
use libtest_mimic::Trial;
use serde_json::json;

pub fn trials() -> Vec<Trial> {
    vec![
        trial!(every_spelling_of_a_blocked_address_is_refused_at_creation),
        trial!(a_redirect_to_a_spelled_loopback_address_is_not_followed),
    ]
}

const SPELLINGS: &[&str] = &[
    "http://0x.0x.0x.0x/",
    "http://127.0.0.0x/",
    "http://0x7f.0x.0x.1/",
    "http://0x7f.1/",
    "http://0X7F.0X0.0X0.0X1/",
    "http://127.1/",
    "http://127.0.1/",
    "http://2130706433/",
    "http://017700000001/",
    "http://0x7f000001/",
    "http://0177.0.0.1/",
    "http://127.000.000.001/",
    "http://0/",
    "http://127.0.0.1./",
    "http://localhost./",
    "http://LOCALHOST/",
    "http://%31%32%37.0.0.1/",
    "http://１２７.０.０.１/",
    "http:\\\\127.0.0.1\\hook",
    "http:127.0.0.1/",
    "http://127.0.\t0.1/",
    "http://[::127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[fec0::1]/",
    "http://0xa9fea9fe/latest/meta-data",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://167772161/",
    "http://0xc0a80101/",
    "http://router.home.arpa/",
];

async fn every_spelling_of_a_blocked_address_is_refused_at_creation(s: &Suite) {
    let owner = signup(&s.api).await;
    let by = owner.on(&s.api);
    for url in SPELLINGS {
        refused(&by, &owner.org_id, url).await;
    }
    let list = by.get(&hooks_path(&owner.org_id)).await.json();
    assert_eq!(
        list["items"],
        json!([]),
        "refusals created endpoints: {list}"
    );
    // The positive control: a public destination is accepted with the same request shape.
    let body = json!({"url": "https://hooks.example.com/x", "event_types": ["webhook.test"]});
    by.post(&hooks_path(&owner.org_id), &body)
        .await
        .expect_status(201);
}

async fn a_redirect_to_a_spelled_loopback_address_is_not_followed(s: &Suite) {
    // 127.0.0.2 in hex on the receiver's port: were it followed, the job would fail as
    // unreachable (nothing listens there), not as blocked.
    let port = s.receiver.url().rsplit(':').next().unwrap().to_owned();
    for target in [
        format!("http://0x7f.0x.0x.2:{port}/stolen"),
        format!("http://[::127.0.0.2]:{port}/stolen"),
        "http://0x.0x.0x.0x/stolen".to_owned(),
    ] {
        let key = random::unique("hook-spelled");
        let done = webhook_redirected(s, &key, vec![Answer::redirect(307, &target)]).await;
        assert_blocked(&done);
        assert_eq!(job_requests(s, &key), 1, "only the first hop");
    }
}
