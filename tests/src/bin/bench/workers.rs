//! The workers under test: "ours" (the repository root, as ours, ours-test with test routes and
//! ours-nolimit with RATE_LIMITS=off), "hello" (bench/hello) and "hello-log" (bench/hello with
//! one access-log line per request, a diagnostic baseline), each under `wrangler dev` in a
//! process group of its own ([`Group`]), served from a snapshot of its build, with fresh state.

use crate::config::Config;
use crate::out;
use anyhow::{anyhow, bail, Context, Result};
use edge_tests::ports::free_port;
use edge_tests::process::{self, Group};
use edge_tests::{project, secrets};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `wrangler dev` may take until `GET /health` answers 200.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(90);

pub struct BenchWorker {
    pub url: String,
    /// The runtime workerd's own port (bypassing wrangler's proxy), when found.
    pub direct: Option<String>,
    /// Spawn -> first 200 from /health.
    pub startup_ms: f64,
    /// Its `--persist-to` directory.
    pub state: PathBuf,
    group: Group,
    log: PathBuf,
}

impl BenchWorker {
    /// The group still holds processes of ours (not killed from outside mid-run).
    pub fn alive(&self) -> bool {
        process::members(self.group.pgid()) > 0
    }

    /// Resident memory of the worker's workerd processes, summed (KiB).
    pub fn rss_kib(&self) -> u64 {
        process::group_pids(self.group.pgid(), "workerd")
            .iter()
            .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
            .filter_map(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            })
            .sum()
    }
}

pub struct Workers {
    tmp: PathBuf,
    state_root: PathBuf,
    pub state_fs: String,
    server_cpus: Option<String>,
    running: BTreeMap<String, BenchWorker>,
    template: Option<PathBuf>,
    loads_up: bool,
    keep_tmp: bool,
    http: reqwest::Client,
}

impl Workers {
    /// Makes the state root and snapshots what wrangler dev serves (after the builds).
    pub fn new(cfg: &Config) -> Result<Workers> {
        let state_root = tempfile::Builder::new()
            .prefix("edge-bench-state.")
            .tempdir_in(&cfg.state_parent)
            .with_context(|| format!("state dir in {}", cfg.state_parent.display()))?
            .keep();
        let state_fs = Command::new("df")
            .args(["--output=fstype"])
            .arg(&state_root)
            .output()
            .ok()
            .and_then(|o| {
                String::from_utf8_lossy(&o.stdout)
                    .lines()
                    .last()
                    .map(|l| l.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        for name in ["ours", "hello", "hello-log", "peer"] {
            crate::snapshot::snapshot(cfg, name)?;
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .context("HTTP client")?;
        Ok(Workers {
            tmp: cfg.tmp.clone(),
            state_root,
            state_fs,
            server_cpus: cfg.server_cpus.clone(),
            running: BTreeMap::new(),
            template: None,
            loads_up: false,
            keep_tmp: false,
            http,
        })
    }

    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    pub fn state_root(&self) -> &Path {
        &self.state_root
    }

    /// The snapshot's wasm of `name` (ours or hello).
    pub fn wasm(&self, name: &str) -> PathBuf {
        self.tmp.join(format!("app-{name}/build/index_bg.wasm"))
    }

    pub fn get(&self, name: &str) -> Result<&BenchWorker> {
        self.running
            .get(name)
            .ok_or_else(|| anyhow!("worker {name} is not running"))
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.running.contains_key(name)
    }

    /// Which running worker serves `url` (public or runtime port), and whether it is alive.
    pub fn owner_alive(&self, url: &str) -> Option<(&str, bool)> {
        self.running.iter().find_map(|(name, w)| {
            let ours = url.starts_with(&format!("{}/", w.url))
                || w.direct
                    .as_ref()
                    .is_some_and(|d| url.starts_with(&format!("{d}/")));
            ours.then(|| (name.as_str(), w.alive()))
        })
    }

    /// ours, the baseline and the baseline with an access log line side by side for the load
    /// measurements (an idle one costs nothing); started once.
    pub async fn ensure_load_workers(&mut self) -> Result<()> {
        if self.loads_up {
            return Ok(());
        }
        out::step("Starting the workers for the load measurements");
        for name in ["ours", "hello", "hello-log"] {
            let w = self.start(name).await?;
            let direct = w.direct.clone().unwrap_or_else(|| "not found".into());
            out::ok(&format!("{name} at {} (runtime port: {direct})", w.url));
        }
        self.loads_up = true;
        Ok(())
    }

    /// Spawns `wrangler dev` for `name` in a fresh state dir and waits for the first 200 from
    /// /health (spawn -> 200 is its `startup_ms`).
    pub async fn start(&mut self, name: &str) -> Result<&BenchWorker> {
        self.stop(name);
        let ours = name.starts_with("ours");
        let peer = name.starts_with("peer");
        let app = self.tmp.join(if ours {
            "app-ours".to_owned()
        } else if peer {
            "app-peer".to_owned()
        } else {
            format!("app-{name}")
        });
        let (port, iport) = (free_port(), free_port());
        let state = tempfile::Builder::new()
            .prefix(&format!("state-{name}."))
            .tempdir_in(&self.state_root)
            .context("state dir")?
            .keep();
        let log = self.tmp.join(format!("wrangler-{name}.log"));
        let mut envs: Vec<PathBuf> = Vec::new();
        if ours {
            let template = self.template().await?;
            crate::snapshot::copy_dir_contents(&template, &state)?;
            envs.push(self.tmp.join("ours.env"));
            match name {
                "ours-test" => envs.push(self.tmp.join("test-routes.env")),
                "ours-nolimit" => envs.push(self.tmp.join("no-rate-limits.env")),
                // Written by the events measurement: its loopback receiver may be reached.
                "ours-hooks" => envs.push(self.tmp.join("hooks.env")),
                // Written by the generations measurement: its model server and AI limits.
                "ours-ai" => envs.push(self.tmp.join("ai.env")),
                _ => {}
            }
        }
        if peer {
            crate::peer::prepare(self, name, &state, &mut envs)?;
        }
        let file = std::fs::File::create(&log).with_context(|| log.display().to_string())?;
        let file2 = file.try_clone().context("log file")?;
        let mut cmd = match &self.server_cpus {
            Some(cpus) => {
                let mut c = project::command("taskset");
                c.arg("-c").arg(cpus).arg(project::wrangler());
                c
            }
            None => project::command(project::wrangler()),
        };
        cmd.current_dir(&app)
            .args(["dev", "--local", "--ip", "127.0.0.1"])
            .args([
                "--port",
                &port.to_string(),
                "--inspector-port",
                &iport.to_string(),
            ])
            .arg("--persist-to")
            .arg(&state)
            .args([
                "--show-interactive-dev-session=false",
                "--log-level",
                "error",
            ])
            // A no-op while the snapshot has no [build] step.
            .env(
                if ours {
                    "EDGE_SKIP_BUILD"
                } else {
                    "BENCH_SKIP_BUILD"
                },
                "1",
            )
            .env("WRANGLER_LOG_PATH", self.tmp.join("wrangler-debug-logs"))
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(file2);
        for env in &envs {
            cmd.arg("--env-file").arg(env);
        }
        let t0 = Instant::now();
        let mut group = Group::spawn(cmd).context("spawn wrangler dev")?;
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/health");
        let mut last;
        loop {
            match self.http.get(&health).send().await {
                Ok(r) if r.status() == 200 => break,
                Ok(r) => last = r.status().to_string(),
                Err(e) => last = e.to_string(),
            }
            if let Some(status) = group.exited() {
                bail!(
                    "wrangler dev ({name}) exited ({status}):\n{}",
                    log_tail(&log, 30)
                );
            }
            if t0.elapsed() > STARTUP_TIMEOUT {
                bail!(
                    "{name}: no 200 from /health within 90 s (last: {last}):\n{}",
                    log_tail(&log, 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let startup_ms = t0.elapsed().as_secs_f64() * 1000.0;
        let direct = self
            .find_direct_url(group.pgid(), &url, &[port, iport])
            .await;
        let worker = BenchWorker {
            url,
            direct,
            startup_ms,
            state,
            group,
            log,
        };
        Ok(self.running.entry(name.to_owned()).or_insert(worker))
    }

    /// wrangler dev runs two workerd processes: a proxy on the public port, and the runtime
    /// with the worker itself on a random loopback port, found here by probing the listening
    /// sockets of the group's workerd processes for the same /health answer.
    async fn find_direct_url(&self, pgid: i32, url: &str, skip: &[u16]) -> Option<String> {
        let want = self
            .http
            .get(format!("{url}/health"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let ss = Command::new("ss").arg("-ltnpH").output().ok()?;
        let listing = String::from_utf8_lossy(&ss.stdout).into_owned();
        for pid in process::group_pids(pgid, "workerd") {
            let tag = format!("pid={pid},");
            for line in listing.lines().filter(|l| l.contains(&tag)) {
                let Some(port) = line
                    .split_whitespace()
                    .nth(3)
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
                else {
                    continue;
                };
                if skip.contains(&port) {
                    continue;
                }
                let direct = format!("http://127.0.0.1:{port}");
                let answer = self.http.get(format!("{direct}/health")).send().await;
                if let Ok(r) = answer {
                    if r.text().await.ok().as_deref() == Some(want.as_str()) {
                        return Some(direct);
                    }
                }
            }
        }
        None
    }

    /// Once: the env files (random secrets, limits lifted) and a migrated D1 template.
    async fn template(&mut self) -> Result<PathBuf> {
        if let Some(t) = &self.template {
            return Ok(t.clone());
        }
        let mut env = secrets::fresh_secrets();
        env.insert("ROOM_MESSAGES_PER_WINDOW".into(), "1000000".into());
        env.insert(
            "PLAN_LIMITS".into(),
            r#"{"free":{"requests_per_minute":100000000,"documents_per_month":100000000,"room_connections":100000}}"#.into(),
        );
        let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        let write = |file: &str, entries: &BTreeMap<String, String>| {
            secrets::write_env_file(&self.tmp.join(file), entries)
                .with_context(|| format!("env file {file}"))
        };
        write("ours.env", &env)?;
        write("test-routes.env", &one("ENABLE_TEST_ROUTES", "true"))?;
        write("no-rate-limits.env", &one("RATE_LIMITS", "off"))?;
        let template = self.state_root.join("ours-template");
        std::fs::create_dir_all(&template).context("template dir")?;
        let mut cmd = project::command("timeout");
        cmd.arg("120")
            .arg(project::wrangler())
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(&template)
            .current_dir(self.tmp.join("app-ours"))
            .env("CI", "true");
        crate::tools::run_logged(cmd, &self.tmp.join("migrations.log"), "D1 migrations")?;
        self.template = Some(template.clone());
        Ok(template)
    }

    pub fn stop(&mut self, name: &str) {
        if let Some(mut w) = self.running.remove(name) {
            w.group.kill();
        }
    }

    pub fn stop_all(&mut self) {
        let names: Vec<String> = self.running.keys().cloned().collect();
        for name in names {
            self.stop(&name);
        }
    }

    /// What the running workers said last (before a failed run ends).
    pub fn show_logs(&self) {
        for (name, w) in &self.running {
            eprintln!(
                "\n--- last lines of wrangler-{name}.log ---\n{}",
                log_tail(&w.log, 15)
            );
        }
    }

    pub fn keep_tmp(&mut self) {
        self.keep_tmp = true;
        eprintln!("\nlogs kept in {}", self.tmp.display());
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop_all();
        let _ = std::fs::remove_dir_all(&self.state_root);
        if !self.keep_tmp {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

fn log_tail(log: &Path, n: usize) -> String {
    project::tail(&std::fs::read_to_string(log).unwrap_or_default(), n)
}
