//! Properties of the pure parsers and decisions, on generated input (proptest, bounded case
//! counts so the layer runs in seconds): nothing a client sends makes them panic, tampered
//! credentials never open or verify, and every spelling of a blocked address stays blocked.

use edge_core::{outbound, pagination, rooms, router, sealed, signature};
use proptest::prelude::*;
use std::net::Ipv4Addr;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An IPv4 address inside a range no webhook may reach.
fn blocked_v4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(127, b, c, d)),
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(10, b, c, d)),
        (16u8..32, any::<[u8; 2]>()).prop_map(|(b, [c, d])| Ipv4Addr::new(172, b, c, d)),
        any::<[u8; 2]>().prop_map(|[c, d]| Ipv4Addr::new(192, 168, c, d)),
        any::<[u8; 2]>().prop_map(|[c, d]| Ipv4Addr::new(169, 254, c, d)),
        (64u8..128, any::<[u8; 2]>()).prop_map(|(b, [c, d])| Ipv4Addr::new(100, b, c, d)),
        any::<[u8; 3]>().prop_map(|[b, c, d]| Ipv4Addr::new(0, b, c, d)),
    ]
}

/// One of the spellings the WHATWG parser reads as `ip`.
fn spell(ip: Ipv4Addr, form: u8, mix: [bool; 4]) -> String {
    let o = ip.octets();
    let n = u32::from(ip);
    let part = |v: u32, hex: bool| {
        if hex {
            format!("0x{v:x}")
        } else if v > 0 && mix[3] {
            format!("0{v:o}")
        } else {
            v.to_string()
        }
    };
    match form % 5 {
        0 => o
            .iter()
            .zip(mix)
            .map(|(v, h)| part(u32::from(*v), h))
            .collect::<Vec<_>>()
            .join("."),
        1 => part(n, mix[0]),
        // a.b.c (the last part takes 16 bits)
        2 => format!(
            "{}.{}.{}",
            part(u32::from(o[0]), mix[0]),
            part(u32::from(o[1]), mix[1]),
            part(n & 0xffff, mix[2])
        ),
        // a.b (the last part takes 24 bits)
        3 => format!(
            "{}.{}",
            part(u32::from(o[0]), mix[0]),
            part(n & 0xff_ffff, mix[1])
        ),
        _ => format!("{ip}."),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_spelling_of_a_blocked_address_is_refused(
        ip in blocked_v4(), form in any::<u8>(), mix in any::<[bool; 4]>(), https in any::<bool>()
    ) {
        let scheme = if https { "https" } else { "http" };
        let url = format!("{scheme}://{}/hook", spell(ip, form, mix));
        prop_assert!(outbound::check(&url).is_err(), "{} passed", url);
        let mapped = format!("{scheme}://[::ffff:{ip}]/");
        prop_assert!(outbound::check(&mapped).is_err(), "{} passed", mapped);
    }

    #[test]
    fn public_addresses_pass_in_their_plain_spelling(a in 1u8..224, b: u8, c: u8, d: u8) {
        let ip = Ipv4Addr::new(a, b, c, d);
        prop_assume!(!outbound::blocked_v4(ip));
        let url = format!("https://{ip}/");
        prop_assert!(outbound::check(&url).is_ok(), "{} refused", url);
    }

    #[test]
    fn url_checks_never_panic(s in ".{0,80}") {
        let _ = outbound::check(&s);
        let _ = outbound::check(&format!("http://{s}"));
    }

    #[test]
    fn route_matching_never_panics_and_params_round_trip(
        method in prop_oneof![Just("GET"), Just("POST"), Just("PATCH"), Just("DELETE"), Just("QUERY")],
        path in "(/[A-Za-z0-9_%.:~-]{0,12}){0,7}",
        id in "[a-z0-9]{1,20}",
    ) {
        let _ = router::resolve(method, &path, true);
        let doc = format!("doc_{id}");
        let org = format!("org_{id}");
        match router::resolve("GET", &format!("/v1/orgs/org_{id}/documents/{doc}"), false) {
            router::Matched::Found { params, .. } => {
                prop_assert_eq!(params.get("org"), Some(org.as_str()));
                prop_assert_eq!(params.get("id"), Some(doc.as_str()));
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn json_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = edge_core::json::decode::<serde_json::Value>(&body);
        let _ = edge_core::json::decode::<std::collections::BTreeMap<String, String>>(&body);
    }

    #[test]
    fn arbitrary_cursors_and_sealed_tokens_never_open(raw in ".{0,200}") {
        prop_assert!(pagination::decode(b"secret", Some(&raw), "documents", "org_x").is_err());
        prop_assert!(sealed::open::<serde_json::Value>(b"secret", "ticket", &raw).is_err());
    }

    #[test]
    fn a_tampered_cursor_never_opens(k in "[a-z0-9]{1,20}", at: usize, bit in 0u8..6) {
        let pos = pagination::Position { l: "documents".into(), s: "org_x".into(), k, i: String::new() };
        let good = pagination::encode(b"secret", &pos);
        prop_assert!(pagination::decode(b"secret", Some(&good), "documents", "org_x").is_ok());
        let mut bytes = good.into_bytes();
        let i = at % bytes.len();
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let flipped = ALPHABET[(ALPHABET.iter().position(|c| *c == bytes[i]).unwrap_or(0) ^ (1 << bit)) % 64];
        prop_assume!(flipped != bytes[i] && bytes[i] != b'.');
        bytes[i] = flipped;
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        let opened = pagination::decode(b"secret", Some(&tampered), "documents", "org_x");
        // A change in the last base64 character's padding bits can leave the bytes equal.
        if let Ok(Some(p)) = opened {
            prop_assert_eq!(p, pos);
        }
    }

    #[test]
    fn stripe_signature_headers_never_panic_and_flips_never_verify(
        header in ".{0,120}", body in proptest::collection::vec(any::<u8>(), 0..64), at: usize
    ) {
        let _ = signature::verify(b"whsec", &header, &[&body], 1000, 300);
        let good = signature::sign(b"whsec", 1000, &[&body]);
        prop_assert!(signature::verify(b"whsec", &good, &[&body], 1000, 300).is_ok());
        let mut bytes = good.into_bytes();
        let i = 16 + at % (bytes.len() - 16); // inside the v1 hex
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(bytes).unwrap_or_default();
        prop_assert!(signature::verify(b"whsec", &flipped, &[&body], 1000, 300).is_err());
    }

    #[test]
    fn room_frames_never_panic(text in ".{0,300}", can_send: bool) {
        let _ = rooms::parse_frame(&text, can_send);
        let _ = rooms::parse_frame(&format!("{{\"type\":\"message\",\"data\":{text}}}"), can_send);
        let _ = rooms::RoomName::parse(&text);
    }
}
