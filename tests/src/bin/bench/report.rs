//! Results as typed rows: a figure with its unit, a row of the report (ours vs. baseline and
//! their ratio), the notes under the tables, and the named figures the budgets are checked on.

use crate::budgets::{self, Fig, Verdict};
use crate::out;
use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    Bytes,
    Ms,
    Us,
    S,
    ReqS,
    MsgS,
    MibS,
    Mib,
    /// A plain number of things.
    Count,
}

impl Unit {
    fn suffix(self) -> &'static str {
        match self {
            Unit::Bytes => "B",
            Unit::Ms => "ms",
            Unit::Us => "µs",
            Unit::S => "s",
            Unit::ReqS => "req/s",
            Unit::MsgS => "msg/s",
            Unit::MibS => "MiB/s",
            Unit::Mib => "MiB",
            Unit::Count => "",
        }
    }
}

/// A measured value in `unit`; `None` or a non-finite value is a measurement that failed.
pub fn fmt(v: Option<f64>, unit: Unit) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "n/a".to_owned();
    };
    if unit == Unit::Bytes {
        return format!("{} B ({:.1} KiB)", v.round() as i64, v / 1024.0);
    }
    let a = v.abs();
    let num = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    };
    format!("{num} {}", unit.suffix())
}

/// "1.23×", or "n/a" when either side is missing or the baseline is zero.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a.is_finite() && b.is_finite() && b != 0.0 => {
            format!("{:.2}×", a / b)
        }
        _ => "n/a".to_owned(),
    }
}

/// One side of a row.
#[derive(Debug, Clone)]
pub enum Cell {
    Value(Option<f64>, Unit),
    /// A figure that is text (a pair of figures, a bound).
    Text(String),
    /// No such thing (the baseline has none).
    None,
}

impl Cell {
    pub fn text(&self) -> String {
        match self {
            Cell::Value(v, u) => fmt(*v, *u),
            Cell::Text(t) => t.clone(),
            Cell::None => "-".to_owned(),
        }
    }
    fn value(&self) -> Option<f64> {
        match self {
            Cell::Value(v, _) => *v,
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub section: String,
    pub metric: String,
    pub ours: Cell,
    pub baseline: Cell,
}

impl Row {
    pub fn ratio(&self) -> String {
        match self.baseline {
            Cell::None => "-".to_owned(),
            _ => ratio(self.ours.value(), self.baseline.value()),
        }
    }
}

/// Everything measured in one run.
pub struct Report {
    pub rows: Vec<Row>,
    pub notes: Vec<String>,
    pub figures: BTreeMap<Fig, f64>,
    /// The measurements run (BENCH_ONLY may leave some out).
    pub ran: Vec<String>,
    pub build_note: String,
    /// The file system the workers' state is on.
    pub state_fs: String,
    pub loadavg_before: String,
    pub loadavg_after: String,
    pub other_workerd: usize,
    measure_started: Instant,
    measure_seconds: u64,
}

impl Report {
    pub fn new(build_note: String) -> Report {
        Report {
            rows: Vec::new(),
            notes: Vec::new(),
            figures: BTreeMap::new(),
            ran: Vec::new(),
            build_note,
            state_fs: String::new(),
            loadavg_before: loadavg(),
            loadavg_after: String::new(),
            other_workerd: crate::host::count_named("workerd"),
            measure_started: Instant::now(),
            measure_seconds: 0,
        }
    }

    /// A row, ours vs. baseline, both in `unit` (`base` `None` = the baseline has none).
    pub fn row(
        &mut self,
        section: &str,
        metric: &str,
        unit: Unit,
        ours: Option<f64>,
        base: Option<Option<f64>>,
    ) {
        let baseline = match base {
            Some(b) => Cell::Value(b, unit),
            None => Cell::None,
        };
        self.push(section, metric, Cell::Value(ours, unit), baseline);
    }

    pub fn push(&mut self, section: &str, metric: &str, ours: Cell, baseline: Cell) {
        let row = Row {
            section: section.to_owned(),
            metric: metric.to_owned(),
            ours,
            baseline,
        };
        out::detail(&format!(
            "{:<44} ours {:<22} baseline {:<22} {}",
            row.metric,
            row.ours.text(),
            row.baseline.text(),
            row.ratio()
        ));
        self.rows.push(row);
    }

    /// A row for a capability not measured (with why).
    pub fn pending(&mut self, section: &str, metric: &str, why: &str) {
        self.push(section, metric, Cell::Text(why.to_owned()), Cell::None);
    }

    pub fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    /// Records a figure a budget is checked on (a failed measurement is simply not recorded).
    pub fn figure(&mut self, fig: Fig, value: Option<f64>) {
        if let Some(v) = value.filter(|v| v.is_finite()) {
            self.figures.insert(fig, v);
        }
    }

    pub fn finish_measuring(&mut self) {
        self.measure_seconds = self.measure_started.elapsed().as_secs();
        self.loadavg_after = loadavg();
    }

    pub fn measure_seconds(&self) -> u64 {
        self.measure_seconds
    }

    /// The verdict of every budget, in table order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let ran: Vec<&str> = self.ran.iter().map(String::as_str).collect();
        budgets::BUDGETS
            .iter()
            .map(|b| b.check(&self.figures, &ran))
            .collect()
    }

    pub fn failed_budgets(&self) -> usize {
        self.verdicts()
            .iter()
            .filter(|v| v.counts_as_failure())
            .count()
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
