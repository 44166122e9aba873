//! The real worker under `wrangler dev --local`: built once per process, fresh state and fresh
//! secrets per [`Worker`], every process of it killed on [`Worker::stop`] and on drop.

mod launch;
mod logs;
mod options;

pub use options::WorkerOptions;

use crate::client::Api;
use crate::process::Group;
use crate::{project, secrets};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Where jobs go when no origin is given: a port nobody listens on (discard).
const NO_ORIGIN: &str = "http://127.0.0.1:9";

/// A running `wrangler dev`. Its temp dir holds the env file, the log and (unless given) the
/// state; it is deleted on drop unless [`Worker::keep_files`] was called or `EDGE_TESTS_KEEP=1`.
pub struct Worker {
    dir: Option<tempfile::TempDir>,
    dir_path: PathBuf,
    persist: PathBuf,
    env: BTreeMap<String, String>,
    env_file: PathBuf,
    log: PathBuf,
    running: Mutex<Running>,
    keep: AtomicBool,
}

#[derive(Default)]
struct Running {
    port: u16,
    group: Option<Group>,
}

impl Worker {
    /// Builds (once per process), writes the env file, applies the D1 migrations, starts
    /// `wrangler dev` and waits until `GET /health` answers 200.
    pub async fn start(opts: WorkerOptions) -> Result<Worker, String> {
        tokio::task::spawn_blocking(project::build_once)
            .await
            .map_err(|e| format!("build task: {e}"))??;
        let dir = tempfile::Builder::new()
            .prefix("edge-worker-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let dir_path = dir.path().to_path_buf();
        let keep = std::env::var("EDGE_TESTS_KEEP").is_ok_and(|v| v == "1");
        if !keep {
            temp_dirs().push(dir_path.clone());
        }
        let persist = opts.persist_dir.unwrap_or_else(|| dir_path.join("state"));
        std::fs::create_dir_all(&persist).map_err(|e| format!("{}: {e}", persist.display()))?;

        let mut env = secrets::fresh_secrets();
        env.extend(secrets::test_vars(
            opts.origin_url.as_deref().unwrap_or(NO_ORIGIN),
        ));
        env.extend(opts.vars);
        let env_file = dir_path.join("worker.env");
        secrets::write_env_file(&env_file, &env).map_err(|e| format!("env file: {e}"))?;

        let worker = Worker {
            dir: Some(dir),
            log: dir_path.join("wrangler.log"),
            dir_path,
            persist,
            env,
            env_file,
            running: Mutex::new(Running::default()),
            keep: AtomicBool::new(keep),
        };
        worker.migrate().await?;
        worker.launch().await?;
        Ok(worker)
    }

    /// Stops and starts `wrangler dev` again on the same state, env file and log.
    pub async fn restart(&self) -> Result<(), String> {
        self.stop();
        self.launch().await
    }

    /// Kills the whole process group (SIGTERM, then SIGKILL after 5 s). Idempotent.
    /// Its whole log is scanned for credentials then ([`crate::credentials`]).
    pub fn stop(&self) {
        let group = self.lock().group.take();
        if let Some(mut group) = group {
            group.kill();
            crate::credentials::scan_log(&self.log.display().to_string(), &self.logs());
        }
    }

    /// `http://127.0.0.1:<port>` of the running worker (the port changes on restart).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.lock().port)
    }

    /// A client for this worker (make a new one after a restart).
    pub fn api(&self) -> Api {
        Api::new(self.base_url())
    }

    /// A value of the env file: a generated secret or a setting.
    pub fn env_value(&self, name: &str) -> &str {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("the worker's env file has no {name}"))
    }

    /// Every env-file entry.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    pub fn persist_dir(&self) -> &Path {
        &self.persist
    }

    /// Keeps the temp dir (env file, log, state) after drop, for a failing run.
    pub fn keep_files(&self) -> &Path {
        self.keep.store(true, Ordering::SeqCst);
        temp_dirs().retain(|d| *d != self.dir_path);
        &self.dir_path
    }

    fn lock(&self) -> MutexGuard<'_, Running> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
        temp_dirs().retain(|d| *d != self.dir_path);
        if self.keep.load(Ordering::SeqCst) {
            if let Some(dir) = self.dir.take() {
                eprintln!("edge-tests: kept worker files in {}", dir.keep().display());
            }
        }
    }
}

/// Temp dirs of live workers, removed by [`remove_temp_dirs`] when a signal ends the process
/// (no destructor runs then).
static TEMP_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temp_dirs() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMP_DIRS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the temp dirs of every live worker not asked to keep them.
pub fn remove_temp_dirs() {
    for dir in temp_dirs().drain(..) {
        let _ = std::fs::remove_dir_all(dir);
    }
}
