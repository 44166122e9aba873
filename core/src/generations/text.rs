//! What a generation does to the document's text, and token arithmetic when the upstream does
//! not report usage. Positions and sizes are in characters (Unicode scalar values), as a
//! client counts them in a JSON string, never in bytes (no cut inside a character).

use super::Mode;

/// The document content after the generated `text` is placed by `mode`. `insert_at` beyond the
/// end appends (the document may have shrunk since the request was accepted).
pub fn apply(content: &str, mode: Mode, position: usize, text: &str) -> String {
    match mode {
        Mode::Append => {
            let mut out = String::with_capacity(content.len() + text.len());
            out.push_str(content);
            out.push_str(text);
            out
        }
        Mode::Replace => text.to_owned(),
        Mode::InsertAt => {
            let at = content
                .char_indices()
                .nth(position)
                .map(|(i, _)| i)
                .unwrap_or(content.len());
            let mut out = String::with_capacity(content.len() + text.len());
            out.push_str(&content[..at]);
            out.push_str(text);
            out.push_str(&content[at..]);
            out
        }
    }
}

/// An estimate of the tokens of `text` when the upstream gives no `usage`: one per four
/// characters, rounded up (the usual rule of thumb for English with BPE tokenizers).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The part of `piece` that still fits when `written` characters are already out and at most
/// `max` may be; `None` when nothing more fits.
pub fn fit(piece: &str, written: usize, max: usize) -> Option<&str> {
    let room = max.checked_sub(written).filter(|r| *r > 0)?;
    match piece.char_indices().nth(room) {
        Some((i, _)) => Some(&piece[..i]),
        None => Some(piece),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(apply("ab", Mode::Append, 0, "cd"), "abcd");
        assert_eq!(apply("ab", Mode::Replace, 0, "cd"), "cd");
        assert_eq!(apply("ab", Mode::InsertAt, 1, "X"), "aXb");
        assert_eq!(apply("ab", Mode::InsertAt, 0, "X"), "Xab");
        assert_eq!(apply("ab", Mode::InsertAt, 2, "X"), "abX");
        assert_eq!(apply("ab", Mode::InsertAt, 99, "X"), "abX");
        // Characters, not bytes.
        assert_eq!(apply("é€z", Mode::InsertAt, 2, "|"), "é€|z");
    }

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abc"), 1);
        assert_eq!(estimate_tokens("abcd"), 1);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("€€€€€"), 2);
    }

    #[test]
    fn fitting_cuts_at_characters() {
        assert_eq!(fit("abcdef", 0, 10), Some("abcdef"));
        assert_eq!(fit("abcdef", 6, 10), Some("abcd"));
        assert_eq!(fit("ééé", 8, 10), Some("éé"));
        assert_eq!(fit("abc", 10, 10), None);
        assert_eq!(fit("abc", 11, 10), None);
    }
}
