//! The breached-password check at signup, password reset and password change: k-anonymity
//! against a range API shaped like Have I Been Pwned's. `GET {base}{5 hex of SHA-1}` answers
//! `SUFFIX:COUNT` lines for every known hash with that prefix (padding lines count 0), so only
//! 20 bits of the hash leave the edge and the password never does.

use sha1::{Digest, Sha1};

/// How long the edge waits for the range API before it lets the password through (the check
/// fails open: an unreachable service must not stop sign-ups).
pub const TIMEOUT_MS: u64 = 2_000;
/// The most of a range answer read (a real one is ~30 KB; padded ones up to ~40 KB).
pub const MAX_BODY: usize = 256 * 1024;

/// The two halves of a password's SHA-1 in upper-case hex: the prefix sent, the suffix kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub prefix: String,
    pub suffix: String,
}

pub fn query(password: &str) -> Query {
    let hex = crate::encoding::hex(&Sha1::digest(password.as_bytes())).to_ascii_uppercase();
    Query {
        prefix: hex[..5].to_owned(),
        suffix: hex[5..].to_owned(),
    }
}

/// The range URL: `base` (e.g. `https://api.pwnedpasswords.com/range/`) and the prefix.
pub fn url(base: &str, prefix: &str) -> String {
    format!("{}/{prefix}", base.trim_end_matches('/'))
}

/// How often the range answer says the suffix was seen in breaches (0 if not listed).
pub fn times_seen(body: &str, suffix: &str) -> u64 {
    body.lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(s, _)| s.trim().eq_ignore_ascii_case(suffix))
        .and_then(|(_, n)| n.trim().parse().ok())
        .unwrap_or(0)
}

/// The field message for a breached password.
pub fn refusal(seen: u64) -> String {
    format!(
        "appears in {seen} known data breach{} (Have I Been Pwned): choose another",
        if seen == 1 { "" } else { "es" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_the_sha1_split_at_five() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        let q = query("password");
        assert_eq!(q.prefix, "5BAA6");
        assert_eq!(q.suffix, "1E4C9B93F3F0682250B6CF8331B7EE68FD8");
        assert_eq!(
            url("https://api.pwnedpasswords.com/range/", &q.prefix),
            "https://api.pwnedpasswords.com/range/5BAA6"
        );
        assert_eq!(
            url("http://127.0.0.1:9/range", "ABCDE"),
            "http://127.0.0.1:9/range/ABCDE"
        );
    }

    #[test]
    fn counts_are_read_from_the_listed_suffix_only() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD9:0\r\n";
        assert_eq!(
            times_seen(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"),
            10_434_004
        );
        assert_eq!(
            times_seen(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"),
            10_434_004
        );
        assert_eq!(
            times_seen(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD9"),
            0,
            "padding"
        );
        assert_eq!(times_seen(body, "FFFF"), 0);
        assert_eq!(times_seen("garbage", "X"), 0);
        assert!(refusal(1).contains("1 known data breach "));
        assert!(refusal(2).contains("breaches"));
    }
}
