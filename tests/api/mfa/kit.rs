//! What the second-factor trials share: TOTP codes computed by PyPI's `pyotp` (never by
//! project code), enrollment through the API, logins that stop at `mfa_required`, and the
//! claims of an access token as a client library would read them.

pub use crate::identity::kit::{login, send_totp_enroll, signup, Account, Caller};
use edge_tests::{Api, Reply};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Runs `script` with `args` under the test venv's Python; its stdout, trimmed.
fn python(script: &str, args: &[&str]) -> String {
    let python = edge_tests::project::root().join(".venv-tests/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "pyotp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `pyotp.TOTP(secret).at(unix)`: the code an authenticator app shows at that time.
pub fn code_at(secret: &str, unix: i64) -> String {
    python(
        "import pyotp,sys; print(pyotp.TOTP(sys.argv[1]).at(int(sys.argv[2])))",
        &[secret, &unix.to_string()],
    )
}

/// What `pyotp.parse_uri` reads from an `otpauth://` URI: `{secret, issuer, name, digits,
/// interval, digest}`.
pub fn parse_uri(uri: &str) -> Value {
    let out = python(
        "import pyotp,sys,json\n\
         t = pyotp.parse_uri(sys.argv[1])\n\
         print(json.dumps({'secret': t.secret, 'issuer': t.issuer, 'name': t.name, \
         'digits': t.digits, 'interval': t.interval, 'digest': t.digest().name}))",
        &[uri],
    );
    serde_json::from_str(&out).expect("pyotp's JSON")
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Hands out codes the way a person with an app would, each for a later 30 s step than the
/// last one used (the server takes a step once, and never one before the last): the current
/// step, else the next one (in the window), else it waits for the clock. Never within 2 s of
/// a step boundary, so the server's clock cannot see another step than ours.
pub struct Authenticator {
    pub secret: String,
    last_step: i64,
}

impl Authenticator {
    pub fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            last_step: 0,
        }
    }

    pub async fn code(&mut self) -> String {
        loop {
            let t = now();
            let phase = t.rem_euclid(30);
            if !(2..=27).contains(&phase) {
                tokio::time::sleep(Duration::from_secs(3)).await;
                continue;
            }
            let step = t.div_euclid(30);
            for candidate in [step, step + 1] {
                if candidate > self.last_step {
                    self.last_step = candidate;
                    return code_at(&self.secret, candidate * 30);
                }
            }
            tokio::time::sleep(Duration::from_secs((30 - phase + 2) as u64)).await;
        }
    }
}

/// An account with a confirmed authenticator app: the account (its `access` now carrying the
/// second factor), the app, and the recovery codes.
pub struct Enrolled {
    pub account: Account,
    pub app: Authenticator,
    pub recovery: Vec<String>,
    /// The token from the signup, before the factor: `amr` is `["pwd"]`.
    pub password_only: String,
}

/// `POST /v1/me/mfa/totp` (201 expected): the enrollment answer.
pub async fn start(api: &Api, account: &Account) -> Value {
    let r = send_totp_enroll(
        account
            .on(api)
            .request(reqwest::Method::POST, "/v1/me/mfa/totp")
            .json(&json!({"password": account.password})),
    )
    .await;
    r.expect_status(201);
    r.json()
}

/// Signs up and enrolls an authenticator app, confirmed with a pyotp code.
pub async fn enrolled(api: &Api) -> Enrolled {
    let mut account = signup(api).await;
    let password_only = account.access.clone();
    // Enroll from a second session, so the signup session keeps a password-only token.
    let mut second = account.clone();
    second.access = login_tokens(&login(api, &account.email, &account.password).await).0;
    let e = start(api, &second).await;
    let mut app = Authenticator::new(e["secret"].as_str().expect("secret"));
    let r = second
        .on(api)
        .post(
            "/v1/me/mfa/totp/confirm",
            &json!({"code": app.code().await}),
        )
        .await;
    r.expect_status(200);
    let b = r.json();
    account.access = b["access_token"].as_str().expect("token").to_owned();
    let recovery = b["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().unwrap_or_default().to_owned())
        .collect();
    Enrolled {
        account,
        app,
        recovery,
        password_only,
    }
}

/// `(access, refresh)` of a 200 token answer.
pub fn login_tokens(r: &Reply) -> (String, String) {
    r.expect_status(200);
    let b = r.json();
    (
        b["access_token"].as_str().unwrap_or_default().to_owned(),
        b["refresh_token"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A password login that must stop at `mfa_required`: its `mfa_token`.
pub async fn challenge(api: &Api, account: &Account) -> String {
    let r = login(api, &account.email, &account.password).await;
    r.expect_problem(403, "mfa_required");
    let b = r.json();
    assert_eq!(b["methods"], json!(["totp", "recovery_code"]), "{b}");
    assert_eq!(b["expires_in"], 300, "{b}");
    assert!(
        b.get("access_token").is_none(),
        "no tokens before the factor: {b}"
    );
    b["mfa_token"].as_str().expect("mfa_token").to_owned()
}

/// `POST /v1/auth/mfa`.
pub async fn complete(api: &Api, mfa_token: &str, factor: Value) -> Reply {
    let mut body = factor;
    body["mfa_token"] = json!(mfa_token);
    Caller::anon(api).post("/v1/auth/mfa", &body).await
}

/// `POST /v1/auth/step-up` with `access`.
pub async fn step_up(api: &Api, access: &str, factor: Value) -> Reply {
    Caller::bearer(api, access)
        .post("/v1/auth/step-up", &factor)
        .await
}

/// The claims of a JWT, read as any client reads them (no verification: the worker verified).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}
