//! The host around the workers: others' workerd processes (a noise figure) and the signals
//! that end a run early (every worker's process group is killed, the tmpfs state removed).

use edge_tests::process;
use std::path::PathBuf;

/// Live processes named `comm` on the machine (others' workerd: a noise figure).
pub fn count_named(comm: &str) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim_end() == comm)
        })
        .count()
}

/// On SIGINT, SIGTERM or SIGHUP: kill every worker's group, remove the state on tmpfs, exit.
pub fn stop_on_signals(state_root: PathBuf) {
    use tokio::signal::unix::{signal, SignalKind};
    for (kind, code) in [
        (SignalKind::interrupt(), 130),
        (SignalKind::terminate(), 143),
        (SignalKind::hangup(), 129),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let state_root = state_root.clone();
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                eprintln!("bench: signal received, stopping every worker");
                process::kill_all_live();
                let _ = std::fs::remove_dir_all(&state_root);
                std::process::exit(code);
            }
        });
    }
}
