//! What to do with a request body the handler left unread before the answer goes out.
//!
//! Local workerd (`wrangler dev`) sends a response only once the request body has arrived in
//! full, and breaks the connection if the body is cancelled: an early refusal (401, 404, 413,
//! 415, 411, 429…) of a large upload reaches the client as the dev server's `500 Network
//! connection lost`. The pipeline therefore drains an unread body (natively, the bytes never
//! enter wasm) before answering — but only up to the largest body the API accepts plus one
//! byte, so the cost is bounded. In production Cloudflare's edge refuses bodies over the
//! plan's limit itself (413, 100 MB on Free/Pro) and discards a body the Worker did not read,
//! so draining there costs only wall time (no CPU worth counting: the pipe runs in the
//! runtime) and never more than one accepted upload's worth; a body declared larger than the
//! bound is answered at once.

/// The largest body a handler buffers (the origin proxy's; JSON bodies are 1 MiB).
pub const LARGEST_BUFFERED: u64 = 10 * 1024 * 1024;
/// A drain that has not finished after this long is abandoned (the answer goes out anyway).
pub const MAX_DRAIN_MS: u64 = 120_000;

/// The most an unread body is drained: one byte more than the largest body any route
/// accepts, so a body refused for being one byte too large still gets its problem.
pub fn limit(max_upload_bytes: u64) -> u64 {
    max_upload_bytes.max(LARGEST_BUFFERED).saturating_add(1)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// No body (or an empty one): nothing to do.
    Nothing,
    /// A body of this declared length, within the bound: pipe it into a null sink (the
    /// runtime enforces the length).
    Declared(u64),
    /// A body of unknown length (chunked): pipe it into a counting sink that gives up past
    /// this many bytes.
    Counted(u64),
    /// Declared larger than the bound (or unreadable length): answer at once.
    GiveUp,
}

/// The plan for a request with these headers (`content_length` as sent; `chunked` when it
/// has a `Transfer-Encoding`), given the bound from [`limit`].
pub fn plan(content_length: Option<&str>, chunked: bool, bound: u64) -> Plan {
    match content_length.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(0)) => Plan::Nothing,
        Some(Ok(n)) if n <= bound => Plan::Declared(n),
        Some(_) => Plan::GiveUp,
        None if chunked => Plan::Counted(bound),
        None => Plan::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn the_bound_is_one_byte_over_the_largest_accepted_body() {
        assert_eq!(limit(100 * MIB), 100 * MIB + 1);
        assert_eq!(
            limit(600),
            LARGEST_BUFFERED + 1,
            "the proxy's 10 MiB still counts"
        );
        assert_eq!(limit(u64::MAX), u64::MAX);
    }

    #[test]
    fn bodies_are_drained_only_within_the_bound() {
        let b = limit(100 * MIB);
        assert_eq!(plan(None, false, b), Plan::Nothing);
        assert_eq!(plan(Some("0"), false, b), Plan::Nothing);
        assert_eq!(plan(Some("17"), false, b), Plan::Declared(17));
        assert_eq!(plan(Some(" 17 "), false, b), Plan::Declared(17));
        assert_eq!(plan(Some(&b.to_string()), false, b), Plan::Declared(b));
        assert_eq!(plan(Some(&(b + 1).to_string()), false, b), Plan::GiveUp);
        assert_eq!(plan(Some("x"), false, b), Plan::GiveUp);
        assert_eq!(plan(Some("-1"), false, b), Plan::GiveUp);
        assert_eq!(plan(None, true, b), Plan::Counted(b));
        assert_eq!(plan(Some("5"), true, b), Plan::Declared(5));
    }
}
