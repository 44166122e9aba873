//! `Stripe-Signature` headers made by Stripe's own Node library (`stripe` on npm, pinned in
//! package.json): `stripe.webhooks.generateTestHeaderString`, the helper Stripe ships for
//! exactly this, so the worker's verification is checked against Stripe's signing, not ours.

use crate::project;
use std::io::Write;
use std::process::Stdio;

const SCRIPT: &str = r#"
const Stripe = require('stripe');
const stripe = new Stripe('sk_test_unused');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const [secret, timestamp] = process.argv.slice(1);
  const payload = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(stripe.webhooks.generateTestHeaderString({
    payload, secret, timestamp: Number(timestamp),
  }));
});
"#;

/// The header Stripe's library makes for `body` signed with `secret` at `timestamp`.
pub fn header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut child = project::command("node")
        .args(["-e", SCRIPT, secret, &timestamp.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs (scripts/setup installs Node 22)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body)
        .expect("body to node");
    let out = child.wait_with_output().expect("node finishes");
    assert!(
        out.status.success(),
        "stripe's generateTestHeaderString failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("ASCII header")
}
