//! Typed configuration, parsed once from the worker's variables and secrets. A missing or
//! malformed value is an error naming the variable; secrets never print.

use crate::cors::CorsPolicy;
use crate::limits::{Limits, Plan};

/// A secret value: usable as bytes, never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "configuration variable {}: {}",
            self.variable, self.problem
        )
    }
}

impl std::error::Error for ConfigError {}

/// Everything the worker reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub cors: CorsPolicy,
    /// The customer's backend, without a trailing slash.
    pub origin_url: String,
    pub origin_secret: Secret,
    pub origin_timeout_ms: u32,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub job_retry_base_seconds: u32,
    pub job_retry_max_seconds: u32,
    /// Equal to the queue consumer's `max_retries`: attempts beyond `1 + this` are dead.
    pub job_max_retries: u32,
    pub test_routes: bool,
    /// `kid:base64url(seed)[,…]`, parsed into a key ring by the glue.
    pub jwt_signing_keys: Secret,
    /// Seals cursors, invitation and verification links, signed URLs.
    pub url_signing_secret: Secret,
    /// Plan limits and quotas (`PLAN_LIMITS` overrides the defaults).
    pub limits: Limits,
    /// Verifies `Stripe-Signature` (`whsec_…`).
    pub stripe_webhook_secret: Secret,
    /// Stripe price id → plan (`STRIPE_PRICE_PLANS`: `price_a:pro,price_b:enterprise`).
    pub price_plans: Vec<(String, Plan)>,
    /// Per-tenant request limits on (default); `RATE_LIMITS=off` exists only so the benchmark
    /// can measure what the limiter costs.
    pub rate_limits: bool,
    /// The cap on one file, whatever the plan (`MAX_UPLOAD_BYTES`, default 100 MiB).
    pub max_upload_bytes: u64,
    /// How long signed URLs live (`SIGNED_URL_TTL_SECONDS`, default 600, at most 900).
    pub signed_url_ttl_seconds: i64,
    /// How long a multipart upload may stay open (`MULTIPART_TTL_SECONDS`, default 24 h).
    pub multipart_ttl_seconds: i64,
    /// Derives each organization's webhook secret (`crate::origin_signing::webhook_key`).
    pub webhook_signing_key: Secret,
    /// `OUTBOUND_ALLOW_HOSTS`: exact `host:port` pairs webhooks may reach although the
    /// outbound check refuses them (a loopback receiver in tests and local development only).
    pub outbound_allow_hosts: Vec<String>,
    /// `WEBHOOK_RETRY_SCHEDULE`: seconds before each retry of an event delivery (default about
    /// a day, `crate::webhooks::DEFAULT_SCHEDULE`).
    pub webhook_schedule: crate::webhooks::Schedule,
    /// `WEBHOOK_DISABLE_AFTER_SECONDS`: an endpoint failing continuously this long is disabled
    /// (default 5 days).
    pub webhook_disable_after_seconds: i64,
    /// AI generations: the model provider and the limits (`AI_*`).
    pub ai: crate::generations::Settings,
    /// `AI_API_KEY`: sent as `Authorization: Bearer` to the model provider when set.
    pub ai_api_key: Option<Secret>,
    /// `PWNED_PASSWORDS_URL`: the breached-password range API (Have I Been Pwned's shape,
    /// e.g. `https://api.pwnedpasswords.com/range/`); unset, no check is made.
    pub pwned_passwords_url: Option<String>,
    /// Passkeys: `WEBAUTHN_RP_ID` (default `localhost`), `WEBAUTHN_RP_NAME` and
    /// `WEBAUTHN_ORIGINS` (comma separated, default `http://localhost:8787`).
    pub webauthn: crate::webauthn::RelyingParty,
    /// `ACCOUNT_DELETION_GRACE_SECONDS`: how long a deleted account can be restored before the
    /// sweep removes it (default 30 days).
    pub account_deletion_grace_seconds: u32,
}

impl Config {
    /// Builds the configuration from a lookup of variables and secrets by name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            get(name)
                .filter(|v| !v.trim().is_empty())
                .ok_or(ConfigError {
                    variable: name,
                    problem: "is not set".into(),
                })
        };
        let number = |name: &'static str, default: u32, max: u32| -> Result<u32, ConfigError> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or(ConfigError {
                        variable: name,
                        problem: format!("must be a whole number from 0 to {max}"),
                    }),
            }
        };
        let secret32 = |name: &'static str| {
            let v = required(name)?;
            if v.len() < 32 {
                return Err(ConfigError {
                    variable: name,
                    problem: "must be at least 32 characters".into(),
                });
            }
            Ok(v)
        };
        let origin_url = required("ORIGIN_URL")?
            .trim()
            .trim_end_matches('/')
            .to_owned();
        if !(origin_url.starts_with("https://") || origin_url.starts_with("http://")) {
            return Err(ConfigError {
                variable: "ORIGIN_URL",
                problem: "must be an http(s) URL".into(),
            });
        }
        let origin_secret = required("ORIGIN_SECRET")?;
        if origin_secret.len() < 16 {
            return Err(ConfigError {
                variable: "ORIGIN_SECRET",
                problem: "must be at least 16 characters".into(),
            });
        }
        let ai = ai_settings(&get, &origin_url, &number)?;
        Ok(Self {
            cors: CorsPolicy::parse(&get("CORS_ORIGINS").unwrap_or_default()),
            origin_url,
            origin_secret: Secret::new(origin_secret),
            origin_timeout_ms: number("ORIGIN_TIMEOUT_MS", 10_000, 900_000)?.max(1),
            jwt_issuer: required("JWT_ISSUER")?,
            jwt_audience: required("JWT_AUDIENCE")?,
            job_retry_base_seconds: number("JOB_RETRY_BASE_SECONDS", 2, 3600)?,
            job_retry_max_seconds: number("JOB_RETRY_MAX_SECONDS", 300, 43_200)?,
            job_max_retries: number("JOB_MAX_RETRIES", 4, 100)?,
            test_routes: get("ENABLE_TEST_ROUTES").is_some_and(|v| v.trim() == "true"),
            jwt_signing_keys: Secret::new(required("JWT_SIGNING_KEYS")?),
            url_signing_secret: Secret::new(secret32("URL_SIGNING_SECRET")?),
            limits: Limits::with_overrides(&get("PLAN_LIMITS").unwrap_or_default()).map_err(
                |problem| ConfigError {
                    variable: "PLAN_LIMITS",
                    problem,
                },
            )?,
            stripe_webhook_secret: Secret::new(required("STRIPE_WEBHOOK_SECRET")?),
            price_plans: parse_price_plans(&get("STRIPE_PRICE_PLANS").unwrap_or_default())?,
            rate_limits: get("RATE_LIMITS").is_none_or(|v| v.trim() != "off"),
            max_upload_bytes: match get("MAX_UPLOAD_BYTES") {
                None => crate::files::DEFAULT_MAX_UPLOAD_BYTES,
                Some(v) => v.trim().parse().map_err(|_| ConfigError {
                    variable: "MAX_UPLOAD_BYTES",
                    problem: "must be a number of bytes".into(),
                })?,
            },
            signed_url_ttl_seconds: i64::from(number(
                "SIGNED_URL_TTL_SECONDS",
                crate::files::SIGNED_URL_TTL_S as u32,
                crate::files::SIGNED_URL_MAX_TTL_S as u32,
            )?)
            .max(1),
            multipart_ttl_seconds: i64::from(number(
                "MULTIPART_TTL_SECONDS",
                crate::files::MULTIPART_TTL_S as u32,
                30 * 86_400,
            )?)
            .max(1),
            webhook_signing_key: Secret::new(secret32("WEBHOOK_SIGNING_KEY")?),
            outbound_allow_hosts: crate::webhook_target::parse_allow_hosts(
                &get("OUTBOUND_ALLOW_HOSTS").unwrap_or_default(),
            )
            .map_err(|problem| ConfigError {
                variable: "OUTBOUND_ALLOW_HOSTS",
                problem,
            })?,
            webhook_schedule: crate::webhooks::Schedule::parse(
                &get("WEBHOOK_RETRY_SCHEDULE").unwrap_or_default(),
            )
            .map_err(|problem| ConfigError {
                variable: "WEBHOOK_RETRY_SCHEDULE",
                problem,
            })?,
            webhook_disable_after_seconds: i64::from(number(
                "WEBHOOK_DISABLE_AFTER_SECONDS",
                5 * 86_400,
                365 * 86_400,
            )?),
            account_deletion_grace_seconds: number(
                "ACCOUNT_DELETION_GRACE_SECONDS",
                crate::account::GRACE_DEFAULT_SECONDS,
                crate::account::GRACE_MAX_SECONDS,
            )?,
            ai,
            ai_api_key: get("AI_API_KEY")
                .filter(|v| !v.trim().is_empty())
                .map(|v| Secret::new(v.trim().to_owned())),
            pwned_passwords_url: match get("PWNED_PASSWORDS_URL").filter(|v| !v.trim().is_empty()) {
                None => None,
                Some(v) => {
                    let v = v.trim().to_owned();
                    crate::outbound::parse(&v).map_err(|problem| ConfigError {
                        variable: "PWNED_PASSWORDS_URL",
                        problem,
                    })?;
                    Some(v)
                }
            },
            webauthn: crate::webauthn::RelyingParty::parse(
                &get("WEBAUTHN_RP_ID").unwrap_or_else(|| "localhost".into()),
                &get("WEBAUTHN_RP_NAME").unwrap_or_default(),
                &get("WEBAUTHN_ORIGINS")
                    .filter(|v| !v.trim().is_empty())
                    .unwrap_or_else(|| "http://localhost:8787".into()),
            )
            .map_err(|problem| ConfigError {
                variable: "WEBAUTHN_RP_ID or WEBAUTHN_ORIGINS",
                problem: problem.into(),
            })?,
        })
    }
}

/// The `AI_*` settings: `AI_BASE_URL` (default `${ORIGIN_URL}/ai/v1`), `AI_MODELS`,
/// `AI_MAX_PROMPT_CHARS`, `AI_MAX_OUTPUT_CHARS`, `AI_MAX_TOKENS`, `AI_DEADLINE_MS`,
/// `AI_MAX_ATTEMPTS`.
fn ai_settings(
    get: &impl Fn(&str) -> Option<String>,
    origin_url: &str,
    number: &impl Fn(&'static str, u32, u32) -> Result<u32, ConfigError>,
) -> Result<crate::generations::Settings, ConfigError> {
    use crate::generations::Settings;
    let base_url = match get("AI_BASE_URL").filter(|v| !v.trim().is_empty()) {
        None => format!("{origin_url}/ai/v1"),
        Some(v) => v.trim().trim_end_matches('/').to_owned(),
    };
    if !(base_url.starts_with("https://") || base_url.starts_with("http://")) {
        return Err(ConfigError {
            variable: "AI_BASE_URL",
            problem: "must be an http(s) URL".into(),
        });
    }
    let models = get("AI_MODELS")
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| Settings::DEFAULT_MODELS.to_owned());
    Ok(Settings {
        base_url,
        max_prompt_chars: number("AI_MAX_PROMPT_CHARS", 32_768, 1_000_000)?.max(1) as usize,
        max_output_chars: number("AI_MAX_OUTPUT_CHARS", 65_536, 400_000)?.max(1) as usize,
        max_tokens: number("AI_MAX_TOKENS", 4_096, 1_000_000)?.max(1),
        deadline_ms: number("AI_DEADLINE_MS", 120_000, 840_000)?.max(1),
        max_attempts: number("AI_MAX_ATTEMPTS", 3, 10)?.max(1),
        models: Settings::parse_models(&models).map_err(|problem| ConfigError {
            variable: "AI_MODELS",
            problem,
        })?,
    })
}

fn parse_price_plans(spec: &str) -> Result<Vec<(String, Plan)>, ConfigError> {
    let bad = || ConfigError {
        variable: "STRIPE_PRICE_PLANS",
        problem: "must be `price_id:plan` pairs separated by commas (plan: free, pro, enterprise)"
            .into(),
    };
    spec.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (price, plan) = e.split_once(':').ok_or_else(bad)?;
            let plan = Plan::parse(plan.trim()).ok_or_else(bad)?;
            Ok((price.trim().to_owned(), plan))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("ORIGIN_URL", "http://127.0.0.1:9000/"),
        ("ORIGIN_SECRET", "0123456789abcdef0123"),
        ("JWT_ISSUER", "iss"),
        ("JWT_AUDIENCE", "aud"),
        ("JWT_SIGNING_KEYS", "k1:AAAA"),
        ("URL_SIGNING_SECRET", "0123456789abcdef0123456789abcdef"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_test"),
        ("STRIPE_PRICE_PLANS", "price_pro:pro, price_ent:enterprise"),
        ("WEBHOOK_SIGNING_KEY", "abcdef0123456789abcdef0123456789"),
    ];

    #[test]
    fn parses_with_defaults() {
        let c = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(c.origin_url, "http://127.0.0.1:9000");
        assert_eq!(c.job_max_retries, 4);
        assert!(!c.test_routes);
        assert_eq!(c.webauthn.id, "localhost");
        assert_eq!(c.webauthn.origins, ["http://localhost:8787"]);
        assert_eq!(format!("{:?}", c.origin_secret), "Secret([redacted])");
        assert!(!format!("{c:?}").contains("0123456789abcdef0123"));
        assert_eq!(c.ai.base_url, "http://127.0.0.1:9000/ai/v1");
        assert_eq!(
            c.ai.endpoint(),
            "http://127.0.0.1:9000/ai/v1/chat/completions"
        );
        assert_eq!(c.ai.models_of(Plan::Free), ["gpt-4o-mini".to_owned()]);
        assert!(c.ai_api_key.is_none());
    }

    #[test]
    fn ai_settings_are_checked() {
        let mut pairs = BASE.to_vec();
        pairs.push(("AI_BASE_URL", "http://127.0.0.1:7/v1/"));
        pairs.push(("AI_API_KEY", "sk-test-secret"));
        pairs.push(("AI_MODELS", r#"{"free":["m"]}"#));
        let c = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(c.ai.base_url, "http://127.0.0.1:7/v1");
        assert!(c.ai.models_of(Plan::Pro).is_empty());
        assert!(!format!("{c:?}").contains("sk-test-secret"));
        let mut pairs = BASE.to_vec();
        pairs.push(("AI_MODELS", "gpt"));
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap_err().variable,
            "AI_MODELS"
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("AI_BASE_URL", "ftp://x"));
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap_err().variable,
            "AI_BASE_URL"
        );
    }

    #[test]
    fn price_plans_and_limits() {
        let c = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(
            c.price_plans,
            vec![
                ("price_pro".to_owned(), Plan::Pro),
                ("price_ent".to_owned(), Plan::Enterprise)
            ]
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("STRIPE_PRICE_PLANS", "price_x:gold"));
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap_err().variable,
            "STRIPE_PRICE_PLANS"
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("PLAN_LIMITS", "{\"free\":{\"requests_per_minute\":3}}"));
        assert_eq!(
            Config::from_lookup(env(&pairs))
                .unwrap()
                .limits
                .free
                .requests_per_minute,
            3
        );
    }

    #[test]
    fn names_the_bad_variable() {
        let mut pairs = BASE.to_vec();
        pairs.push(("JOB_MAX_RETRIES", "many"));
        let e = Config::from_lookup(env(&pairs)).unwrap_err();
        assert_eq!(e.variable, "JOB_MAX_RETRIES");
        let e = Config::from_lookup(env(&BASE[..1])).unwrap_err();
        assert_eq!(e.variable, "ORIGIN_SECRET");
        let mut pairs = BASE.to_vec();
        pairs[0] = ("ORIGIN_URL", "file:///etc");
        assert_eq!(
            Config::from_lookup(env(&pairs)).unwrap_err().variable,
            "ORIGIN_URL"
        );
    }

    #[test]
    fn test_routes_only_when_exactly_true() {
        let with = |v: &'static str| {
            let mut pairs = BASE.to_vec();
            pairs.push(("ENABLE_TEST_ROUTES", v));
            Config::from_lookup(env(&pairs)).unwrap().test_routes
        };
        assert!(!with("yes"));
        assert!(!with("TRUE "));
        assert!(with("true"));
    }
}
