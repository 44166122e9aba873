//! SQL text helpers (never values: values are always bound).

/// Renumbers the `?N` placeholders of `sql` by `offset`, so a condition written with ?1…?k can
/// be appended to a statement that already uses ?1…?offset.
pub fn shift_params(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '?' {
            let mut digits = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(*d);
                chars.next();
            }
            match digits.parse::<usize>() {
                Ok(n) => out.push_str(&(n + offset).to_string()),
                Err(_) => out.push_str(&digits),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_every_placeholder_once() {
        assert_eq!(
            shift_params("a = ?1 AND b = ?2 AND c = ?10 OR ?1", 13),
            "a = ?14 AND b = ?15 AND c = ?23 OR ?14"
        );
        assert_eq!(shift_params("no params", 3), "no params");
        assert_eq!(shift_params("x = ?", 3), "x = ?");
    }
}
