//! The breached-password check against a loopback stand-in of Have I Been Pwned's range API
//! (`GET /range/{5 hex}` → `SUFFIX:COUNT` lines with padding): a known password is refused
//! at signup and password change with only the 5-character prefix sent; an unknown one
//! passes; when the service is gone the check fails open.

use super::kit::{login, signup, Caller};
use crate::support::{trial, Suite};
use edge_tests::WorkerOptions;
use libtest_mimic::Trial;
use serde_json::json;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub fn trials() -> Vec<Trial> {
    vec![trial!(
        breached_passwords_are_refused_and_the_check_fails_open
    )]
}

const BREACHED: &str = "correct horse battery staple";
const SEEN: u64 = 4242;

/// SHA-1 in upper-case hex, by Python's hashlib (not by project code).
fn sha1_hex(s: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha1(sys.argv[1].encode()).hexdigest().upper())",
            s,
        ])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The stand-in: answers every range query with padding lines, and the breached password's
/// suffix when its prefix is asked. Records `(path, add-padding header)` of each request.
async fn stand_in(
    breached: String,
) -> (
    String,
    Arc<Mutex<Vec<(String, String)>>>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (breached, log) = (breached.clone(), log.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let padding = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("add-padding:")
                            .map(|v| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((path.clone(), padding));
                let prefix = path.rsplit('/').next().unwrap_or_default();
                let mut body = String::from("0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2\r\n");
                if breached.starts_with(prefix) && prefix.len() == 5 {
                    body.push_str(&format!("{}:{SEEN}\r\n", &breached[5..]));
                }
                body.push_str("FFFFF0000000000000000000000000000AA:0\r\n");
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, seen, task)
}

async fn breached_passwords_are_refused_and_the_check_fails_open(s: &Suite) {
    let hash = sha1_hex(BREACHED);
    let (addr, requests, server) = stand_in(hash.clone()).await;
    let worker = s
        .private_worker(
            WorkerOptions::new()
                .var("PWNED_PASSWORDS_URL", format!("http://{addr}/range/"))
                .var("OUTBOUND_ALLOW_HOSTS", addr.clone()),
        )
        .await;
    let api = worker.api();
    let email = edge_tests::random::email();
    let body = |password: &str| json!({"email": email, "password": password, "name": "Breach", "org_name": "Breach Co"});
    // Known from breaches: refused on the field, nothing created.
    let r = Caller::anon(&api)
        .post("/v1/auth/signup", &body(BREACHED))
        .await;
    let p = r.expect_problem(400, "validation_failed");
    let errors = r.json()["errors"].clone();
    assert_eq!(errors[0]["field"], "password", "{errors} {p:?}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("4242"),
        "{errors}"
    );
    login(&api, &email, BREACHED)
        .await
        .expect_problem(401, "unauthenticated");
    // Only the 5-character prefix left the edge, with padding asked for.
    let asked = requests.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        asked,
        [(format!("/range/{}", &hash[..5]), "true".to_owned())]
    );
    // An unknown password passes; a change to a known one is refused the same way.
    let r = Caller::anon(&api)
        .post("/v1/auth/signup", &body("an unlisted long password"))
        .await;
    r.expect_status(201);
    let access = r.json()["access_token"].as_str().expect("token").to_owned();
    let r = Caller::bearer(&api, &access)
        .post(
            "/v1/me/password",
            &json!({"current_password": "an unlisted long password", "new_password": BREACHED}),
        )
        .await;
    r.expect_problem(400, "validation_failed");
    assert_eq!(r.json()["errors"][0]["field"], "new_password");
    // The service gone: the check fails open.
    server.abort();
    let _ = server.await;
    let other = signup(&api).await;
    let r = Caller::bearer(&api, &other.access)
        .post(
            "/v1/me/password",
            &json!({"current_password": other.password, "new_password": BREACHED}),
        )
        .await;
    r.expect_status(204);
}
