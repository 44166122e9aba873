//! The bench's settings, read once from the environment (see the tunables in `main.rs`), and
//! where things go: the temp dir, the workers' state on tmpfs, the CPUs of each side.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub struct Config {
    pub connections: u32,
    pub warmup_s: u64,
    pub startup_runs: u32,
    pub rounds: u32,
    /// Seconds of one round: BENCH_DURATION spread over BENCH_ROUNDS, rounded up.
    pub round_s: u64,
    pub seed_docs: usize,
    pub room_sockets: u32,
    pub room_messages: u32,
    pub file_runs: u32,
    pub only: Option<Vec<String>>,
    pub skip_build: bool,
    /// The command line as the report shows it.
    pub command: String,
    pub root: PathBuf,
    pub hello_dir: PathBuf,
    /// Logs, snapshots, env files; kept when the run fails.
    pub tmp: PathBuf,
    /// The directory under which the workers' state dirs are made (a tmpfs when possible).
    pub state_parent: PathBuf,
    pub ncpu: usize,
    /// CPUs of wrangler + workerd, and of the load side, when pinned.
    pub server_cpus: Option<String>,
    pub load_cpu: Option<usize>,
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        _ => Ok(default),
    }
}

impl Config {
    pub fn from_env(args: &[String], skip_build: bool) -> Result<Config> {
        let root = edge_tests::project::root().to_path_buf();
        let duration: u64 = env_num("BENCH_DURATION", 12)?;
        let rounds: u32 = env_num("BENCH_ROUNDS", 3)?;
        if rounds == 0 {
            bail!("BENCH_ROUNDS must be at least 1");
        }
        let round_s = duration.div_ceil(u64::from(rounds));
        let tmp_parent = std::env::var_os("TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
        let tmp = tempfile::Builder::new()
            .prefix("edge-bench.")
            .tempdir_in(&tmp_parent)
            .context("temp dir")?
            .keep();
        // The workers' local state (D1, Durable Objects: SQLite files) lives on tmpfs when there
        // is one: on a VM disk every D1/DO write waits for an fsync (3× the cost of a document
        // create here), a property of the disk, not of the worker, nor of production D1.
        let state_parent = match std::env::var("BENCH_STATE_DIR") {
            Ok(d) if !d.is_empty() => PathBuf::from(d),
            _ if writable_dir(Path::new("/dev/shm")) => PathBuf::from("/dev/shm"),
            _ => tmp.clone(),
        };
        let ncpu = std::thread::available_parallelism().map_or(1, usize::from);
        let pin = std::env::var("BENCH_PIN").unwrap_or_else(|_| "1".into()) == "1";
        let (server_cpus, load_cpu) = if pin && ncpu >= 2 && which("taskset") {
            let server = if ncpu == 2 {
                "1".to_owned()
            } else {
                format!("1-{}", ncpu - 1)
            };
            (Some(server), Some(0))
        } else {
            (None, None)
        };
        let only = std::env::var("BENCH_ONLY")
            .ok()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.split_whitespace().map(str::to_owned).collect());
        let mut command = String::from("bash scripts/bench");
        for a in args {
            command.push(' ');
            command.push_str(a);
        }
        Ok(Config {
            connections: env_num("BENCH_CONNECTIONS", 8)?,
            warmup_s: env_num("BENCH_WARMUP", 3)?,
            startup_runs: env_num("BENCH_STARTUP_RUNS", 3)?,
            rounds,
            round_s,
            seed_docs: env_num("BENCH_SEED_DOCS", 1000)?,
            room_sockets: env_num("BENCH_ROOM_SOCKETS", 200)?,
            room_messages: env_num("BENCH_ROOM_MESSAGES", 50)?,
            file_runs: env_num("BENCH_FILE_RUNS", 3)?,
            only,
            skip_build,
            command,
            hello_dir: root.join("bench/hello"),
            root,
            tmp,
            state_parent,
            ncpu,
            server_cpus,
            load_cpu,
        })
    }

    /// BENCHMARKS.md, or the partial report of a BENCH_ONLY run.
    pub fn out_path(&self) -> PathBuf {
        if self.only.is_some() {
            if let Ok(p) = std::env::var("BENCH_OUT") {
                if !p.is_empty() {
                    return PathBuf::from(p);
                }
            }
            let t = std::env::var_os("TMPDIR").map_or_else(|| "/tmp".into(), PathBuf::from);
            return t.join("BENCHMARKS.partial.md");
        }
        self.root.join("BENCHMARKS.md")
    }

    /// Pins this process (and so every thread and child it starts from now on, unless told
    /// otherwise with taskset) to the load CPU. Call before any other thread exists.
    pub fn pin_self(&self) -> Result<()> {
        let Some(cpu) = self.load_cpu else {
            return Ok(());
        };
        // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and sched_setaffinity only touch
        // that local value and this thread's scheduling attributes.
        let rc = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
        };
        if rc != 0 {
            bail!(
                "sched_setaffinity to CPU {cpu}: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// `taskset -c <server cpus> program` when pinned, else `program`: a command for the
    /// server side (wrangler, node measuring wasm).
    pub fn server_command(&self, program: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
        match &self.server_cpus {
            Some(cpus) => {
                let mut cmd = edge_tests::project::command("taskset");
                cmd.arg("-c").arg(cpus).arg(program);
                cmd
            }
            None => edge_tests::project::command(program),
        }
    }

    pub fn pin_note(&self) -> String {
        match (&self.server_cpus, self.load_cpu) {
            (Some(s), Some(l)) => {
                format!("wrangler + workerd on CPU {s}, wrk on CPU {l} (taskset)")
            }
            _ => "unpinned".to_owned(),
        }
    }
}

fn writable_dir(p: &Path) -> bool {
    p.is_dir()
        && tempfile::Builder::new()
            .prefix(".edge-bench-probe")
            .tempfile_in(p)
            .is_ok()
}

/// Whether `tool` is on the project's PATH.
pub fn which(tool: &str) -> bool {
    edge_tests::project::command("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
