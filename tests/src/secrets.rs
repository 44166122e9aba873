//! The env file handed to `wrangler dev --env-file`: fresh random secrets per worker and the
//! test settings. With `--env-file`, wrangler 4 skips `.dev.vars` and the file's entries
//! replace `wrangler.toml` `[vars]` of the same name (checked by the suite: CORS, test routes
//! and ORIGIN_URL only work when they do).

use crate::random;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The secrets `wrangler.toml` does not hold, each freshly random.
pub fn fresh_secrets() -> BTreeMap<String, String> {
    [
        ("JWT_SIGNING_KEYS", format!("t1:{}", random::base64url(32))),
        ("ORIGIN_SECRET", random::base64url(32)),
        (
            "STRIPE_WEBHOOK_SECRET",
            format!("whsec_{}", random::base64url(24)),
        ),
        ("URL_SIGNING_SECRET", random::base64url(32)),
        ("WEBHOOK_SIGNING_KEY", random::base64url(32)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// Settings every test worker runs with (overriding `wrangler.toml` `[vars]`).
pub fn test_vars(origin_url: &str) -> BTreeMap<String, String> {
    [
        ("ORIGIN_URL", origin_url),
        ("ENABLE_TEST_ROUTES", "true"),
        ("CORS_ORIGINS", "https://app.test.example"),
        ("JOB_RETRY_BASE_SECONDS", "0"),
        ("ORIGIN_TIMEOUT_MS", "2000"),
        // Customer webhook retries within seconds (the default spans about a day).
        ("WEBHOOK_RETRY_SCHEDULE", "1,1,1,1"),
        // The shared worker serves every test from one address: limits high enough never to
        // interfere; the rate-limit tests start private workers with small ones.
        (
            "PLAN_LIMITS",
            r#"{"free":{"requests_per_minute":100000},"pro":{"requests_per_minute":100000},"auth_per_minute":100000}"#,
        ),
        ("STRIPE_PRICE_PLANS", "price_test_pro:pro,price_test_enterprise:enterprise"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Writes `KEY="value"` lines (`KEY='value'` for values with double quotes, such as JSON),
/// readable by the owner only.
pub fn write_env_file(path: &Path, entries: &BTreeMap<String, String>) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    for (key, value) in entries {
        assert!(
            !value.contains(['\'', '\n', '\\', '$']),
            "env value of {key} needs no quoting: {value:?}"
        );
        if value.contains('"') {
            writeln!(file, "{key}='{value}'")?;
        } else {
            writeln!(file, "{key}=\"{value}\"")?;
        }
    }
    Ok(())
}
