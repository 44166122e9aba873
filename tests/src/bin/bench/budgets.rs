//! The budgets as data: each a measured figure, a limit (absolute, or a factor of a baseline
//! figure measured in the same run), and why that baseline. `--check` fails when one is
//! missed; an empty or zero measurement misses its budget instead of passing it.

use crate::report::{fmt, Unit};
use std::collections::BTreeMap;

/// The figures budgets are checked on, recorded by the measurements ([`crate::report::Report::figure`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fig {
    WasmGzipBytes,
    StartupOursMs,
    StartupHelloMs,
    HealthP50OursMs,
    HealthP50HelloMs,
    DocGetP50Ms,
    UploadRssGrowthMib,
    // Ours and the Hono + jose peer, same rounds.
    OursHealthRps,
    PeerHealthRps,
    OursDocGetRps,
    PeerDocGetRps,
    OursDocGetP50Ms,
    PeerDocGetP50Ms,
    OursDocGetOffRps,
    PeerDocGetOffRps,
    OursCreateRps,
    PeerCreateRps,
    OursListRps,
    PeerListRps,
    // Events and webhooks.
    EventDeliveredP50Ms,
    CreateWithEndpointP50Ms,
    CreateWithoutEndpointP50Ms,
    // AI generations.
    GenerationDeltaP50Ms,
    GenerationsLost,
}

#[derive(Debug, Clone, Copy)]
pub enum Limit {
    Absolute(f64),
    /// At most `factor ×` another figure of the same run.
    Times(f64, Fig),
    /// At least `factor ×` another figure of the same run (throughput).
    AtLeast(f64, Fig),
}

#[derive(Debug)]
pub struct Budget {
    pub name: &'static str,
    /// The measurement (a `BENCH_ONLY` name) that provides the figures.
    pub bench: &'static str,
    pub measured: Fig,
    pub limit: Limit,
    pub unit: Unit,
    /// The least acceptable value; `None`: anything above 0.
    pub min: Option<f64>,
    /// Which baseline, and why (rendered under the budget table).
    pub why: &'static str,
}

pub const BUDGETS: &[Budget] = &[
    Budget {
        name: "gzipped wasm ≤ 1 MiB",
        bench: "bench_wasm_size",
        measured: Fig::WasmGzipBytes,
        limit: Limit::Absolute(1048576.0),
        unit: Unit::Bytes,
        min: None,
        why: "an absolute limit on `build/index_bg.wasm` after `gzip -9`.",
    },
    Budget {
        name: "start-up (spawn -> first 200) ≤ 1.2× hello-world",
        bench: "bench_worker_startup",
        measured: Fig::StartupOursMs,
        limit: Limit::Times(1.2, Fig::StartupHelloMs),
        unit: Unit::Ms,
        min: None,
        why: "spawning `wrangler dev` to the first 200, medians, against plain hello-world.",
    },
    Budget {
        name: "/health p50 ≤ 2× hello-world /health p50",
        bench: "bench_health",
        measured: Fig::HealthP50OursMs,
        limit: Limit::Times(2.0, Fig::HealthP50HelloMs),
        unit: Unit::Ms,
        min: None,
        why: "against the p50 of plain **hello-world** (`/health` of `bench/hello`), the \
              baseline the issue named, measured in the same rounds.",
    },
    Budget {
        name: "authenticated document GET p50 ≤ 2× hello-world /health p50",
        bench: "bench_documents",
        measured: Fig::DocGetP50Ms,
        limit: Limit::Times(2.0, Fig::HealthP50HelloMs),
        unit: Unit::Ms,
        min: None,
        why: "against the same plain **hello-world** `/health` p50 (not the one with a log \
              line), measured in the same rounds.",
    },
    Budget {
        name: "document GET, exact limits: req/s ≥ 1.25× the peer's",
        bench: "bench_peer",
        measured: Fig::OursDocGetRps,
        limit: Limit::AtLeast(1.25, Fig::PeerDocGetRps),
        unit: Unit::ReqS,
        min: None,
        why: "against the Hono + jose peer with its exact per-org Durable Object counter \
              (`bench/peers/hono`), same rounds, same data.",
    },
    Budget {
        name: "document GET, exact limits: p50 ≤ 0.8× the peer's",
        bench: "bench_peer",
        measured: Fig::OursDocGetP50Ms,
        limit: Limit::Times(0.8, Fig::PeerDocGetP50Ms),
        unit: Unit::Ms,
        min: None,
        why: "the same peer and rounds, latency.",
    },
    Budget {
        name: "document GET, limits off: req/s ≥ 1.25× the peer's without a limiter",
        bench: "bench_peer",
        measured: Fig::OursDocGetOffRps,
        limit: Limit::AtLeast(1.25, Fig::PeerDocGetOffRps),
        unit: Unit::ReqS,
        min: None,
        why: "ours with RATE_LIMITS=off against the peer with RATE_LIMITS=off.",
    },
    Budget {
        name: "/health: req/s ≥ 1.0× the peer's hello (one log line each)",
        bench: "bench_peer",
        measured: Fig::OursHealthRps,
        limit: Limit::AtLeast(1.0, Fig::PeerHealthRps),
        unit: Unit::ReqS,
        min: None,
        why: "both write one access-log line per request and set the same headers.",
    },
    Budget {
        name: "document create: req/s ≥ 1.0× the peer's",
        bench: "bench_peer",
        measured: Fig::OursCreateRps,
        limit: Limit::AtLeast(1.0, Fig::PeerCreateRps),
        unit: Unit::ReqS,
        min: None,
        why: "the same JSON body posted to both, each into a second organization.",
    },
    Budget {
        name: "list 20 of 1000 documents: req/s ≥ 1.0× the peer's",
        bench: "bench_peer",
        measured: Fig::OursListRps,
        limit: Limit::AtLeast(1.0, Fig::PeerListRps),
        unit: Unit::ReqS,
        min: None,
        why: "the same organization of 1000 documents (the peer serves a copy of ours' D1).",
    },
    Budget {
        name: "workerd RSS growth during a 64 MiB upload ≤ 16 MiB",
        bench: "bench_files",
        measured: Fig::UploadRssGrowthMib,
        limit: Limit::Absolute(16.0),
        unit: Unit::Mib,
        // Flat memory: 0 growth is a valid reading here, an empty one is not.
        min: Some(0.0),
        why: "streamed bodies never sit in memory (0 growth is a valid reading, a missing one \
              is not).",
    },
    Budget {
        name: "document write → webhook delivered, p50 ≤ 2 s (idle)",
        bench: "bench_events",
        measured: Fig::EventDeliveredP50Ms,
        limit: Limit::Absolute(2000.0),
        unit: Unit::Ms,
        min: None,
        why: "from sending the create to the receiver holding the signed delivery, one write at a time (#19).",
    },
    Budget {
        name: "create with a subscribed endpoint p50 ≤ 1.1× without",
        bench: "bench_events",
        measured: Fig::CreateWithEndpointP50Ms,
        limit: Limit::Times(1.1, Fig::CreateWithoutEndpointP50Ms),
        unit: Unit::Ms,
        min: None,
        why: "the fan-out row and the queue message a subscribed endpoint adds to a write, alternating with writes to an organization without one (#19).",
    },
    Budget {
        name: "upstream chunk → generation.delta at a room client, p50 ≤ 20 ms",
        bench: "bench_generations",
        measured: Fig::GenerationDeltaP50Ms,
        limit: Limit::Absolute(20.0),
        unit: Unit::Ms,
        min: None,
        why: "from the relay handing an SSE event of mock-llm to the worker to the delta frame at a WebSocket client of the document's room (#20).",
    },
    Budget {
        name: "50 concurrent generations in one organization: none lost",
        bench: "bench_generations",
        measured: Fig::GenerationsLost,
        limit: Limit::Absolute(0.0),
        unit: Unit::Count,
        min: Some(0.0),
        why: "each ends succeeded with its document holding exactly the streamed text (#20).",
    },
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    Pass,
    Fail,
    /// Its measurement was not run (a BENCH_ONLY run).
    NotRun,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub name: &'static str,
    pub measured: String,
    pub limit: String,
    pub state: State,
}

impl Verdict {
    pub fn counts_as_failure(&self) -> bool {
        self.state == State::Fail
    }

    pub fn label(&self) -> &'static str {
        match self.state {
            State::Pass => "PASS",
            State::Fail => "FAIL",
            State::NotRun => "not measured in this run",
        }
    }
}

impl Budget {
    /// The limit in this run (`None` when its baseline was not measured or is zero).
    pub fn limit_value(&self, figures: &BTreeMap<Fig, f64>) -> Option<f64> {
        match self.limit {
            Limit::Absolute(l) => Some(l),
            Limit::Times(f, base) | Limit::AtLeast(f, base) => {
                figures.get(&base).filter(|b| **b > 0.0).map(|b| f * b)
            }
        }
    }

    fn at_least(&self) -> bool {
        matches!(self.limit, Limit::AtLeast(..))
    }

    pub fn check(&self, figures: &BTreeMap<Fig, f64>, ran: &[&str]) -> Verdict {
        let actual = figures.get(&self.measured).copied();
        let limit = self.limit_value(figures);
        let state = if !ran.contains(&self.bench) {
            State::NotRun
        } else if self.at_least() {
            at_least(actual, limit)
        } else {
            passes(actual, limit, self.min)
        };
        let sign = if self.at_least() { "≥" } else { "≤" };
        Verdict {
            name: self.name,
            measured: fmt(actual, self.unit),
            limit: format!("{sign} {}", fmt(limit, self.unit)),
            state,
        }
    }
}

/// PASS when `actual` and `limit` are finite numbers, `actual` at least `min` (default: above
/// 0, so that a run that measured nothing fails) and at most `limit`.
pub fn passes(actual: Option<f64>, limit: Option<f64>, min: Option<f64>) -> State {
    let (Some(a), Some(l)) = (actual, limit) else {
        return State::Fail;
    };
    let low = match min {
        Some(m) => a >= m,
        None => a > 0.0,
    };
    if a.is_finite() && l.is_finite() && low && a <= l {
        State::Pass
    } else {
        State::Fail
    }
}

/// PASS when `actual` and `limit` are finite positive numbers and `actual ≥ limit`.
pub fn at_least(actual: Option<f64>, limit: Option<f64>) -> State {
    match (actual, limit) {
        (Some(a), Some(l)) if a.is_finite() && l.is_finite() && a > 0.0 && a >= l => State::Pass,
        _ => State::Fail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_or_zero_fails() {
        assert_eq!(passes(None, Some(1.0), None), State::Fail);
        assert_eq!(passes(Some(0.0), Some(1.0), None), State::Fail);
        assert_eq!(passes(Some(0.0), Some(1.0), Some(0.0)), State::Pass);
        assert_eq!(passes(Some(0.5), None, None), State::Fail);
        assert_eq!(passes(Some(f64::NAN), Some(1.0), None), State::Fail);
        assert_eq!(passes(Some(1.0), Some(1.0), None), State::Pass);
        assert_eq!(passes(Some(1.1), Some(1.0), None), State::Fail);
    }

    #[test]
    fn throughput_budgets_need_at_least_the_limit() {
        assert_eq!(at_least(Some(125.0), Some(125.0)), State::Pass);
        assert_eq!(at_least(Some(124.0), Some(125.0)), State::Fail);
        assert_eq!(at_least(None, Some(1.0)), State::Fail);
        assert_eq!(at_least(Some(0.0), Some(0.0)), State::Fail);
        assert_eq!(at_least(Some(5.0), None), State::Fail);
    }

    #[test]
    fn ratios_name_plain_hello_world() {
        let doc = BUDGETS.iter().find(|b| b.measured == Fig::DocGetP50Ms);
        assert!(matches!(
            doc.map(|b| b.limit),
            Some(Limit::Times(_, Fig::HealthP50HelloMs))
        ));
    }
}
