//! Free loopback ports for the processes the harness starts.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// A port nobody listens on right now, never handed out twice by this process (two workers
/// starting at once must not both get the same one from the kernel).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("bind a loopback port");
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}
