//! TOTP (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30 s steps, 6 digits, the parameters every
//! authenticator app defaults to. A code is accepted in the step before, at or after the
//! server's (clock skew), and only for a step later than the last one accepted, so a code (or
//! an earlier one still in the window) is never accepted twice.

use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps accepted on either side of the server's.
pub const WINDOW: i64 = 1;
/// Secret bytes (160 bits, RFC 4226's recommendation).
pub const SECRET_BYTES: usize = 20;

/// The HOTP value of `secret` at `counter` (RFC 4226 §5.3), as a number below 10^DIGITS.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any size"),
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    binary % 10u32.pow(DIGITS)
}

/// The step a unix time falls in.
pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code for `step`, zero-padded.
pub fn code_at(secret: &[u8], step: i64) -> String {
    format!(
        "{:0width$}",
        hotp(secret, step.max(0) as u64),
        width = DIGITS as usize
    )
}

/// A presented code reduced to its digits (spaces, as apps show `123 456`, are dropped);
/// `None` unless exactly [`DIGITS`] ASCII digits remain.
pub fn normalize(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// The step `code` is valid for at `now` (within the window) and later than `last_step`, the
/// last step accepted for this secret; `None` if there is none. The caller stores the step
/// returned with a conditional write (`… WHERE last_step < ?`) so two concurrent uses of one
/// code cannot both succeed.
pub fn verify(secret: &[u8], code: &str, now_unix: i64, last_step: i64) -> Option<i64> {
    let code = normalize(code)?;
    let current = step_of(now_unix);
    // Every candidate is computed and compared, so timing does not tell which step matched.
    let mut found = None;
    for step in (current - WINDOW)..=(current + WINDOW) {
        let matches =
            crate::encoding::constant_time_eq(code_at(secret, step).as_bytes(), code.as_bytes());
        if matches && step > last_step && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// RFC 4648 base32 (upper case, no padding): how authenticator apps take a secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://totp/` URI an app scans as a QR code (Google Authenticator's key URI format):
/// label `issuer:account`, and the parameters spelled out so no app guesses.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let label = format!("{}:{}", encode(issuer), encode(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        base32(secret),
        encode(issuer)
    )
}

/// Percent-encoding of everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_4226_hotp_vectors() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as u64), *want, "counter {counter}");
        }
    }

    #[test]
    fn rfc_6238_totp_vectors_truncated_to_six_digits() {
        // Appendix B gives 8 digits; the low 6 are the 6-digit code.
        for (time, eight) in [
            (59_i64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, step_of(time)), eight[2..], "t={time}");
        }
    }

    #[test]
    fn the_window_is_one_step_each_side() {
        let now = 1_700_000_000;
        let s = step_of(now);
        for (offset, ok) in [(-2, false), (-1, true), (0, true), (1, true), (2, false)] {
            let code = code_at(RFC_SECRET, s + offset);
            assert_eq!(
                verify(RFC_SECRET, &code, now, 0).is_some(),
                ok,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn a_step_is_accepted_once_and_earlier_steps_never_after_it() {
        let now = 1_700_000_000;
        let s = step_of(now);
        let code = code_at(RFC_SECRET, s);
        assert_eq!(verify(RFC_SECRET, &code, now, 0), Some(s));
        assert_eq!(verify(RFC_SECRET, &code, now, s), None, "replay");
        let earlier = code_at(RFC_SECRET, s - 1);
        assert_eq!(
            verify(RFC_SECRET, &earlier, now, s),
            None,
            "older than the last"
        );
        let later = code_at(RFC_SECRET, s + 1);
        assert_eq!(verify(RFC_SECRET, &later, now, s), Some(s + 1));
    }

    #[test]
    fn codes_are_six_digits_with_spaces_allowed() {
        assert_eq!(normalize("123 456").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert_eq!(verify(RFC_SECRET, "abcdef", 59, 0), None);
    }

    #[test]
    fn base32_is_rfc_4648() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn the_uri_names_issuer_account_and_parameters() {
        let uri = otpauth_uri("Edge API", "ada+1@example.com", RFC_SECRET);
        assert_eq!(
            uri,
            "otpauth://totp/Edge%20API:ada%2B1%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Edge%20API&algorithm=SHA1&digits=6&period=30"
        );
    }
}
