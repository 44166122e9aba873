//! Child process groups. Every long-running child (wrangler, which starts node, esbuild and two
//! workerd processes) gets a group of its own, and the whole group is killed: on
//! [`Group::kill`], on drop (a failing test unwinds through it), and on SIGINT/SIGTERM/SIGHUP
//! of the test process ([`kill_all_on_signals`]).

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Groups started and not yet killed, for the signal handler.
static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn live() -> std::sync::MutexGuard<'static, BTreeSet<i32>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A child process leading its own process group.
pub struct Group {
    child: Child,
    pgid: i32,
    killed: bool,
}

impl Group {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(mut cmd: Command) -> std::io::Result<Group> {
        cmd.process_group(0);
        let child = cmd.spawn()?;
        let pgid = i32::try_from(child.id()).expect("pid fits in i32");
        live().insert(pgid);
        Ok(Group {
            child,
            pgid,
            killed: false,
        })
    }

    /// The process group id (the leader's pid).
    pub fn pgid(&self) -> i32 {
        self.pgid
    }

    /// The leader's exit status if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM to the whole group, up to 5 s for it to go, then SIGKILL. Idempotent.
    pub fn kill(&mut self) {
        if self.killed {
            return;
        }
        self.killed = true;
        signal_group(self.pgid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let _ = self.child.try_wait(); // reap the leader so it leaves the group
            if members(self.pgid) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(self.pgid, libc::SIGKILL);
        let _ = self.child.wait();
        live().remove(&self.pgid);
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

fn signal_group(pgid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pgid, sig);
    }
}

/// Live (non-zombie) processes in group `pgid`, from /proc. Zombies are not counted: a
/// container's init may never reap them, yet they hold no ports and use no CPU.
pub fn members(pgid: i32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // "pid (comm) state ppid pgrp …"; comm may contain spaces and parentheses.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
        })
        .count()
}

/// Pids of the live processes in group `pgid` whose command name is `comm` (e.g. `workerd`).
pub fn group_pids(pgid: i32, comm: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            let Some((head, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let name = head.split_once('(').map_or("", |(_, n)| n);
            let fields: Vec<&str> = rest.split_whitespace().collect();
            name == comm && fields.len() > 2 && fields[0] != "Z" && fields[2] == pgid.to_string()
        })
        .collect()
}

/// Kills every group still alive; for the signal handler and the end of a run.
pub fn kill_all_live() {
    let groups: Vec<i32> = live().iter().copied().collect();
    for pgid in &groups {
        signal_group(*pgid, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && groups.iter().any(|g| members(*g) > 0) {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pgid in &groups {
        signal_group(*pgid, libc::SIGKILL);
    }
    live().clear();
}

/// On SIGINT, SIGTERM or SIGHUP: kill every live group, remove the workers' temp dirs, then
/// exit (130/143/129). Children run
/// in groups of their own, so a Ctrl-C on the terminal would not reach them otherwise.
/// Call once, inside a Tokio runtime that lives as long as the test process.
pub fn kill_all_on_signals() {
    use tokio::signal::unix::{signal, SignalKind};
    for (kind, code) in [
        (SignalKind::interrupt(), 130),
        (SignalKind::terminate(), 143),
        (SignalKind::hangup(), 129),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                eprintln!("edge-tests: signal received, stopping every child process");
                kill_all_live();
                crate::worker::remove_temp_dirs();
                std::process::exit(code);
            }
        });
    }
}
