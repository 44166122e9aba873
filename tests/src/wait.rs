//! Polling with a deadline instead of sleeping blindly.

use std::future::Future;
use std::time::{Duration, Instant};

/// Calls `probe` until it yields `Some`, every 100 ms, for at most `timeout`; panics naming
/// `what` (and the last value seen, via `probe`'s own messages) when the deadline passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
