//! A strict decoder for the subset of CBOR (RFC 8949) WebAuthn uses: unsigned and negative
//! integers, byte and text strings, arrays, maps, `true`/`false`/`null`, all with definite
//! lengths. Tags, floats, indefinite lengths and non-minimal length encodings are refused, as
//! are lengths beyond the input and nesting deeper than [`MAX_DEPTH`]: malformed input is an
//! error, never a panic or a large allocation.

/// How deep arrays and maps may nest.
pub const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Any integer that fits `i64` (COSE labels and algorithms are small).
    Int(i64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
}

impl Value {
    /// The value of `key` in a map.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn get_int(&self, label: i64) -> Option<&Value> {
        self.get(&Value::Int(label))
    }

    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.get(&Value::Text(key.to_owned()))
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Decodes exactly one item filling all of `input`.
pub fn decode(input: &[u8]) -> Option<Value> {
    let (v, used) = decode_prefix(input)?;
    (used == input.len()).then_some(v)
}

/// Decodes the item at the start of `input`: the item and how many bytes it took.
pub fn decode_prefix(input: &[u8]) -> Option<(Value, usize)> {
    let mut r = Reader { input, pos: 0 };
    let v = r.item(0)?;
    Some((v, r.pos))
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.input.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: u64) -> Option<&[u8]> {
        let n = usize::try_from(n).ok()?;
        let end = self.pos.checked_add(n)?;
        let s = self.input.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    /// The argument of a head with additional information `info`, minimally encoded.
    fn argument(&mut self, info: u8) -> Option<u64> {
        let (n, min) = match info {
            0..=23 => return Some(u64::from(info)),
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            _ => return None,
        };
        let bytes = self.take(n)?;
        let v = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        (v >= min).then_some(v)
    }

    /// A count of items that cannot exceed what is left (each item takes at least one byte).
    fn count(&mut self, info: u8, per_item: u64) -> Option<usize> {
        let n = self.argument(info)?;
        let left = (self.input.len() - self.pos) as u64;
        (n.checked_mul(per_item)? <= left).then_some(n as usize)
    }

    fn item(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        match major {
            0 => i64::try_from(self.argument(info)?).ok().map(Value::Int),
            1 => {
                let n = i64::try_from(self.argument(info)?).ok()?;
                Some(Value::Int(-1 - n))
            }
            2 => {
                let n = self.argument(info)?;
                self.take(n).map(|b| Value::Bytes(b.to_vec()))
            }
            3 => {
                let n = self.argument(info)?;
                let b = self.take(n)?;
                std::str::from_utf8(b)
                    .ok()
                    .map(|s| Value::Text(s.to_owned()))
            }
            4 => {
                let n = self.count(info, 1)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Some(Value::Array(items))
            }
            5 => {
                let n = self.count(info, 2)?;
                let mut entries: Vec<(Value, Value)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    let v = self.item(depth + 1)?;
                    if entries.iter().any(|(seen, _)| *seen == k) {
                        return None; // duplicate keys are not well formed for WebAuthn
                    }
                    entries.push((k, v));
                }
                Some(Value::Map(entries))
            }
            7 => match info {
                20 => Some(Value::Bool(false)),
                21 => Some(Value::Bool(true)),
                22 => Some(Value::Null),
                _ => None,
            },
            _ => None, // tags (6)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_webauthn_subset() {
        // {"fmt": "none", "attStmt": {}, "x": h'0102'}
        let bytes = [
            0xa3, 0x63, b'f', b'm', b't', 0x64, b'n', b'o', b'n', b'e', 0x67, b'a', b't', b't',
            b'S', b't', b'm', b't', 0xa0, 0x61, b'x', 0x42, 1, 2,
        ];
        let v = decode(&bytes).expect("decodes");
        assert_eq!(v.get_text("fmt").and_then(Value::as_text), Some("none"));
        assert_eq!(v.get_text("attStmt"), Some(&Value::Map(vec![])));
        assert_eq!(
            v.get_text("x").and_then(Value::as_bytes),
            Some(&[1u8, 2][..])
        );
        assert_eq!(decode(&[0x26]), Some(Value::Int(-7)));
        assert_eq!(decode(&[0x27]), Some(Value::Int(-8)));
        assert_eq!(decode(&[0x39, 0x01, 0x00]), Some(Value::Int(-257)));
        assert_eq!(decode(&[0x18, 0xff]), Some(Value::Int(255)));
        assert_eq!(decode(&[0xf5]), Some(Value::Bool(true)));
        assert_eq!(decode(&[0xf6]), Some(Value::Null));
        assert_eq!(
            decode(&[0x82, 0x01, 0x20]),
            Some(Value::Array(vec![Value::Int(1), Value::Int(-1)]))
        );
    }

    #[test]
    fn prefix_reports_what_it_took() {
        assert_eq!(decode_prefix(&[0x01, 0xff, 0xff]), Some((Value::Int(1), 1)));
        assert_eq!(decode(&[0x01, 0x00]), None, "trailing bytes");
    }

    #[test]
    fn refuses_what_is_not_strict() {
        for bad in [
            &[][..],
            &[0x18, 0x05],                   // non-minimal length
            &[0x5f, 0x41, 0x00, 0xff],       // indefinite byte string
            &[0xc0, 0x00],                   // a tag
            &[0xf9, 0x00, 0x00],             // a half float
            &[0x42, 0x01],                   // shorter than its length
            &[0x63, 0xff, 0xfe, 0xfd],       // not UTF-8
            &[0xa2, 0x01, 0x02, 0x01, 0x03], // duplicate key
            &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // beyond i64
            &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // a huge array
            &[0x5b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // a huge string
            &[0x1c],                         // reserved additional information
        ] {
            assert_eq!(decode(bad), None, "{bad:02x?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = vec![0x81; MAX_DEPTH + 1];
        deep.push(0x00);
        assert_eq!(decode(&deep), None);
        let mut ok = vec![0x81; MAX_DEPTH];
        ok.push(0x00);
        assert!(decode(&ok).is_some());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed: u32 = 7;
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len % 40)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            let _ = decode(&bytes);
        }
    }
}
