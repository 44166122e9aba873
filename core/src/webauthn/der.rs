//! ECDSA signatures as authenticators give them (ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }`)
//! into the raw `r ‖ s` form WebCrypto verifies (IEEE P1363, 32 bytes each for P-256).

/// The raw 64-byte form of a DER ECDSA P-256 signature, or `None` if it is not strict DER
/// with two positive integers of at most 32 significant bytes.
pub fn ecdsa_p256_raw(der: &[u8]) -> Option<[u8; 64]> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x30 {
        return None;
    }
    let (&len, body) = rest.split_first()?;
    // At most 2 × (2 + 33) = 70 bytes: always the short length form.
    if len >= 0x80 || usize::from(len) != body.len() {
        return None;
    }
    let (r, body) = integer(body)?;
    let (s, body) = integer(body)?;
    if !body.is_empty() {
        return None;
    }
    let mut out = [0u8; 64];
    out[32 - r.len()..32].copy_from_slice(r);
    out[64 - s.len()..].copy_from_slice(s);
    Some(out)
}

/// One DER INTEGER: its significant bytes (at most 32, non-zero) and what follows.
fn integer(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&len, rest) = rest.split_first()?;
    let len = usize::from(len);
    if tag != 0x02 || len == 0 || len > 33 || rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    if value[0] & 0x80 != 0 {
        return None; // negative
    }
    let value = if value[0] == 0 {
        // A leading zero only where the next byte would read as negative (minimal DER).
        if value.len() == 1 || value[1] & 0x80 == 0 {
            return None;
        }
        &value[1..]
    } else {
        value
    };
    (value.len() <= 32).then_some((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30, (4 + r.len() + s.len()) as u8, 0x02, r.len() as u8];
        out.extend_from_slice(r);
        out.extend_from_slice(&[0x02, s.len() as u8]);
        out.extend_from_slice(s);
        out
    }

    #[test]
    fn converts_full_padded_and_short_integers() {
        let mut r = vec![0x00];
        r.extend_from_slice(&[0x80; 32]);
        let s = vec![0x01; 32];
        let raw = ecdsa_p256_raw(&der(&r, &s)).expect("converts");
        assert_eq!(&raw[..32], &[0x80; 32]);
        assert_eq!(&raw[32..], &[0x01; 32]);
        let raw = ecdsa_p256_raw(&der(&[0x05], &[0x7f, 0x01])).expect("short ones");
        assert_eq!(raw[31], 0x05);
        assert!(raw[..31].iter().all(|b| *b == 0));
        assert_eq!(&raw[62..], &[0x7f, 0x01]);
    }

    #[test]
    fn refuses_what_is_not_strict_der() {
        let s = vec![0x01; 32];
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x31, 0x00],
            der(&[0x00, 0x01], &s), // needless leading zero
            der(&[0x80], &s),       // negative
            der(&[], &s),           // empty integer
            der(&[0x01; 33], &s),   // too long
            der(&[0x00], &s),       // zero alone
            {
                let mut d = der(&[0x01], &s);
                d.push(0x00); // trailing byte
                d
            },
            {
                let mut d = der(&[0x01], &s);
                d[1] += 1; // length beyond the input
                d
            },
            vec![0x30, 0x81, 0x02, 0x02, 0x01],
        ];
        for d in cases {
            assert_eq!(ecdsa_p256_raw(&d), None, "{d:02x?}");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed: u32 = 3;
        for len in 0..300 {
            let mut bytes: Vec<u8> = (0..len % 72)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 16) as u8
                })
                .collect();
            if let Some(b) = bytes.first_mut() {
                *b = 0x30;
            }
            let _ = ecdsa_p256_raw(&bytes);
        }
    }
}
