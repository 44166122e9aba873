//! Bringing a worker up: D1 migrations, then `wrangler dev` in a process group of its own,
//! then `GET /health` until it answers 200.

use super::{Running, Worker};
use crate::ports::free_port;
use crate::process::Group;
use crate::project;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long `wrangler dev` may take until `GET /health` answers 200.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

impl Worker {
    /// `wrangler d1 migrations apply DB --local` on the state dir (non-interactive).
    pub(super) async fn migrate(&self) -> Result<(), String> {
        let mut cmd = project::command(project::wrangler());
        cmd.args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(&self.persist)
            .env("CI", "true")
            .stdin(Stdio::null());
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .map_err(|_| "D1 migrations: no answer within 120 s".to_owned())?
            .map_err(|e| format!("D1 migrations: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let _ = std::fs::write(self.dir_path.join("migrations.log"), &text);
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "D1 migrations failed ({}):\n{}",
                out.status,
                project::tail(&text, 30)
            ))
        }
    }

    /// Starts `wrangler dev` on fresh ports and waits for health; stops it again on failure.
    /// A wrangler killed by a signal it did not get from us (another process's cleanup) is
    /// started once more.
    pub(super) async fn launch(&self) -> Result<(), String> {
        match self.launch_once().await {
            Err(Failure::Killed(why)) => {
                eprintln!("edge-tests: {why}; starting wrangler dev once more");
                self.launch_once().await.map_err(Failure::into_message)
            }
            other => other.map_err(Failure::into_message),
        }
    }

    async fn launch_once(&self) -> Result<(), Failure> {
        let (port, inspector) = (free_port(), free_port());
        // Passkey ceremonies run on a page this worker serves at http://localhost:<port> (an IP
        // address cannot be an RP id): that origin is allowed unless the test set its own.
        let mut env = self.env.clone();
        env.entry("WEBAUTHN_ORIGINS".into())
            .or_insert_with(|| format!("http://localhost:{port}"));
        crate::secrets::write_env_file(&self.env_file, &env)
            .map_err(|e| Failure::Other(format!("env file: {e}")))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| Failure::Other(format!("{}: {e}", self.log.display())))?;
        let log2 = log
            .try_clone()
            .map_err(|e| Failure::Other(format!("log file: {e}")))?;
        let mut cmd = project::command(project::wrangler());
        let config = project::test_config().map_err(Failure::Other)?;
        cmd.args(["dev", "--local", "--ip", "127.0.0.1"])
            .arg("--config")
            .arg(config)
            .args(["--port", &port.to_string()])
            .args(["--inspector-port", &inspector.to_string()])
            .arg("--persist-to")
            .arg(&self.persist)
            .arg("--env-file")
            .arg(&self.env_file)
            .arg("--show-interactive-dev-session=false")
            // `GET /__scheduled?cron=…` runs the cron handler, as the Cron Trigger would.
            .arg("--test-scheduled")
            // `info` would hide the worker's own console.log lines (the structured logs).
            .args(["--log-level", "log"])
            .env("EDGE_SKIP_BUILD", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        let group =
            Group::spawn(cmd).map_err(|e| Failure::Other(format!("spawn wrangler dev: {e}")))?;
        *self.lock() = Running {
            port,
            group: Some(group),
        };
        let ready = self.wait_healthy().await;
        if ready.is_err() {
            self.stop();
        }
        ready
    }

    async fn wait_healthy(&self) -> Result<(), Failure> {
        let started = Instant::now();
        let url = format!("{}/health", self.base_url());
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| Failure::Other(e.to_string()))?;
        let mut last = String::from("no answer");
        while started.elapsed() < STARTUP_TIMEOUT {
            let exited = self.lock().group.as_mut().and_then(Group::exited);
            if let Some(status) = exited {
                let why = self.failure(&format!("wrangler dev exited ({status})"));
                // The wrapper reports a signalled child as 128 + signal: SIGINT, SIGTERM.
                let signalled =
                    status.signal().is_some() || matches!(status.code(), Some(130 | 143));
                return Err(if signalled {
                    Failure::Killed(why)
                } else {
                    Failure::Other(why)
                });
            }
            match http.get(&url).send().await {
                Ok(r) if r.status() == 200 => return Ok(()),
                Ok(r) => last = format!("status {}", r.status()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Failure::Other(self.failure(&format!(
            "GET /health gave no 200 within {STARTUP_TIMEOUT:?} (last: {last})"
        ))))
    }

    fn failure(&self, what: &str) -> String {
        format!(
            "{what}; wrangler log {}:\n{}",
            self.log.display(),
            project::tail(&self.logs(), 40)
        )
    }
}

enum Failure {
    /// wrangler died of a signal while starting.
    Killed(String),
    Other(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Killed(m) | Failure::Other(m) => m,
        }
    }
}
