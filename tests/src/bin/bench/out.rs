//! Progress lines on the terminal, in the style of `scripts/lib.sh` (step, ok, error).

pub fn step(what: &str) {
    println!("\x1b[1;34m==>\x1b[0m {what}");
}

pub fn ok(what: &str) {
    println!("    \x1b[32mok\x1b[0m {what}");
}

pub fn fail(what: &str) {
    println!("    \x1b[1;31mFAIL\x1b[0m {what}");
}

pub fn error(what: &str) {
    eprintln!("\x1b[1;31merror:\x1b[0m {what}");
}

/// One indented detail line (a round, a run).
pub fn detail(what: &str) {
    println!("    {what}");
}
