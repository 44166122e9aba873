//! A small parser for the structured fields (RFC 8941) of the rate-limit headers
//! (`RateLimit-Policy: "user";q=5;w=60`, `RateLimit: "user";r=4;t=60`), and the view of one
//! response's rate-limit headers, checked against the `X-RateLimit-*` trio.

use crate::support::{trial, Suite};
use edge_tests::Reply;
use libtest_mimic::Trial;
use std::collections::BTreeMap;

pub fn trials() -> Vec<Trial> {
    vec![trial!(the_field_parser_itself)]
}

/// One list member: a string item with integer parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub params: BTreeMap<String, i64>,
}

/// Parses an sf-list of string items with integer (or boolean `true`) parameters.
pub fn parse_list(field: &str) -> Result<Vec<Item>, String> {
    let mut p = Parser {
        s: field.as_bytes(),
        i: 0,
    };
    let mut items = Vec::new();
    p.spaces();
    loop {
        items.push(p.item()?);
        p.ows();
        if p.done() {
            return Ok(items);
        }
        p.expect(b',')?;
        p.ows();
        if p.done() {
            return Err(format!("trailing comma in {field:?}"));
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn item(&mut self) -> Result<Item, String> {
        let name = self.string()?;
        let mut params = BTreeMap::new();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.spaces();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                self.integer()?
            } else {
                1 // a bare key is boolean true
            };
            if params.insert(key.clone(), value).is_some() {
                // RFC 8941 keeps the last value; a limiter repeating a key is suspicious.
                return Err(format!("parameter {key} given twice"));
            }
        }
        Ok(Item { name, params })
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("unterminated string".into()),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(c as char),
                        _ => return Err("bad escape in string".into()),
                    }
                    self.i += 1;
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(c as char);
                    self.i += 1;
                }
                Some(c) => return Err(format!("byte {c:#x} in a string")),
            }
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let start = self.i;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.i += 1,
            _ => return Err(format!("expected a key at {start}")),
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.i += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn integer(&mut self) -> Result<i64, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let n = self.i - digits;
        if n == 0 || n > 15 || self.peek() == Some(b'.') {
            return Err(format!("expected an integer at {start}"));
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("bad integer at {start}"))
    }
}

/// One policy of a response's rate-limit headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub policy: String,
    /// `q`: requests allowed per window.
    pub limit: i64,
    /// `w`: the window in seconds.
    pub window: i64,
    /// `r`: requests left in this window.
    pub remaining: i64,
    /// `t`: seconds until the window resets.
    pub reset: i64,
    /// The response's `Retry-After`, if present.
    pub retry_after: Option<i64>,
}

/// The members of the (possibly repeated) list header `name`.
fn list(reply: &Reply, name: &str) -> Vec<Item> {
    let values: Vec<&str> = reply
        .headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_else(|_| panic!("{name} is not ASCII")))
        .collect();
    assert!(
        !values.is_empty(),
        "no {name} on a {} ({})",
        reply.status,
        reply.text()
    );
    let joined = values.join(", ");
    parse_list(&joined)
        .unwrap_or_else(|e| panic!("{name}: {joined:?} is not a structured field list: {e}"))
}

fn number(reply: &Reply, name: &str) -> i64 {
    let v = reply
        .header(name)
        .unwrap_or_else(|| panic!("no {name} on a {} ({})", reply.status, reply.text()));
    v.parse()
        .unwrap_or_else(|_| panic!("{name}: {v:?} is not an integer"))
}

fn param(item: &Item, key: &str, header: &str) -> i64 {
    *item
        .params
        .get(key)
        .unwrap_or_else(|| panic!("{header} \"{}\" has no `{key}`: {item:?}", item.name))
}

/// Every policy in `RateLimit-Policy` / `RateLimit` of `reply`, checked: both headers list the
/// same policies in the same order, each with a 60 s window, `0 ≤ r ≤ q` and `1 ≤ t ≤ w`; the
/// `X-RateLimit-Limit/-Remaining/-Reset` trio equals the tightest policy (fewest remaining);
/// a 429 has `r = 0` there and `Retry-After` equal to its `t`.
pub fn rates(reply: &Reply) -> Vec<Rate> {
    let policies = list(reply, "ratelimit-policy");
    let states = list(reply, "ratelimit");
    let names = |items: &[Item]| items.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&policies),
        names(&states),
        "RateLimit-Policy and RateLimit list different policies"
    );
    let retry_after = reply.header("retry-after").map(|v| {
        v.parse::<i64>()
            .unwrap_or_else(|_| panic!("Retry-After {v:?} is not delay-seconds"))
    });
    let rates: Vec<Rate> = policies
        .iter()
        .zip(&states)
        .map(|(p, st)| Rate {
            policy: p.name.clone(),
            limit: param(p, "q", "RateLimit-Policy"),
            window: param(p, "w", "RateLimit-Policy"),
            remaining: param(st, "r", "RateLimit"),
            reset: param(st, "t", "RateLimit"),
            retry_after,
        })
        .collect();
    let ctx = format!("{} answer, {rates:?}", reply.status);
    for rate in &rates {
        assert_eq!(rate.window, 60, "{ctx}");
        assert!((0..=rate.limit).contains(&rate.remaining), "{ctx}");
        assert!((1..=rate.window).contains(&rate.reset), "{ctx}");
    }
    let trio = (
        number(reply, "x-ratelimit-limit"),
        number(reply, "x-ratelimit-remaining"),
        number(reply, "x-ratelimit-reset"),
    );
    let fewest = rates.iter().map(|r| r.remaining).min().unwrap_or_default();
    assert!(
        rates
            .iter()
            .any(|r| r.remaining == fewest && (r.limit, r.remaining, r.reset) == trio),
        "X-RateLimit-Limit/-Remaining/-Reset {trio:?} are not the tightest policy's: {ctx}"
    );
    if reply.status == 429 {
        assert_eq!(trio.1, 0, "{ctx}");
        assert_eq!(retry_after, Some(trio.2), "Retry-After ≠ t: {ctx}");
    }
    rates
}

/// The one policy of `reply`'s rate-limit headers, checked as [`rates`] does.
pub fn rate(reply: &Reply) -> Rate {
    let mut rates = rates(reply);
    assert_eq!(rates.len(), 1, "expected one policy: {rates:?}");
    rates.remove(0)
}

/// The rate of a 429 `rate_limited` problem from a rate limit; asserts the problem (which
/// names the policy) too.
pub fn refused(reply: &Reply) -> Rate {
    let problem = reply.expect_problem(429, "rate_limited");
    let rate = rate(reply);
    assert!(rate.retry_after.is_some_and(|s| s >= 1), "{rate:?}");
    assert_eq!(
        problem.body["policy"],
        rate.policy.as_str(),
        "the problem names the policy: {}",
        reply.text()
    );
    rate
}

async fn the_field_parser_itself(_: &Suite) {
    let items = parse_list(r#""user";q=100;w=60"#).unwrap();
    assert_eq!(items[0].name, "user");
    assert_eq!(items[0].params["q"], 100);
    assert_eq!(items[0].params["w"], 60);
    let items = parse_list(r#""a";r=0;t=17, "b\"c";r=-1; t=2;x"#).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1].name, "b\"c");
    assert_eq!(items[1].params["r"], -1);
    assert_eq!(items[1].params["x"], 1);
    for bad in [
        "user;q=1",
        r#""user";Q=1"#,
        r#""user";q=1.5"#,
        r#""user";q="#,
        r#""user";q=1,"#,
        r#""user""#.trim_end_matches('"'),
        r#""user";q=1;q=2"#,
        r#""user" ;q=1"#,
    ] {
        assert!(parse_list(bad).is_err(), "accepted {bad:?}");
    }
}
