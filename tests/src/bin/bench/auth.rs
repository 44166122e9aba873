//! Auth cost per operation (JWT verify, password hash), timed from outside through the
//! test-only /__test/bench routes of ours with ENABLE_TEST_ROUTES=true.

use crate::fixtures::sample_ms;
use crate::out;
use crate::report::{Cell, Report, Unit};
use crate::workers::Workers;
use anyhow::Result;

/// Sequential requests per sample (after one warm-up).
const REPS: usize = 7;

/// The cost (ms) of one operation of a /__test/bench route (which repeats it `?n=` times):
/// median time of REPS requests with n=N minus that with n=0, ÷ N. Timed from outside:
/// inside workerd the clock stands still during CPU work.
async fn op_cost_ms(url: &str, n: u32) -> Result<f64> {
    let sep = if url.contains('?') { '&' } else { '?' };
    let zero = sample_ms(&format!("{url}{sep}n=0"), REPS).await?;
    let full = sample_ms(&format!("{url}{sep}n={n}"), REPS).await?;
    Ok((full - zero) / f64::from(n))
}

pub async fn auth_cost(workers: &mut Workers, report: &mut Report) -> Result<()> {
    let section = "Auth cost (per operation, timed through the test-only /__test/bench routes)";
    out::step(&format!(
        "Auth cost: JWT verify and password hash (ours with ENABLE_TEST_ROUTES=true, {REPS} requests each)"
    ));
    let base = format!("{}/__test/bench", workers.start("ours-test").await?.url);
    let full = op_cost_ms(&format!("{base}/jwt-verify"), 200).await?;
    report.row(
        section,
        "JWT verify, EdDSA (full check)",
        Unit::Us,
        Some(full * 1000.0),
        None,
    );
    let cached = op_cost_ms(&format!("{base}/jwt-verify?cached=1"), 1000).await? * 1000.0;
    // 1,000 hits can take less than the timing noise of one request: no fake precision.
    let cell = if cached < 1.0 {
        Cell::Text("< 1 µs (below timing resolution)".to_owned())
    } else {
        Cell::Value(Some(cached), Unit::Us)
    };
    report.push(section, "JWT verify, isolate cache hit", cell, Cell::None);
    let hash = op_cost_ms(&format!("{base}/password-hash"), 3).await?;
    report.row(
        section,
        "password hash, Argon2id (production parameters)",
        Unit::Ms,
        Some(hash),
        None,
    );
    workers.stop("ours-test");
    Ok(())
}
