//! Outbound safety: user-supplied URLs (webhook targets, redirects they lead to) may only
//! reach public HTTP(S) hosts — never loopback, private, link-local, carrier-grade NAT,
//! unique-local, site-local, multicast, unspecified, broadcast, documentation, benchmarking
//! or reserved addresses (IPv6 forms that embed an IPv4 address are judged by that address),
//! never local names, and no other scheme. There is no exemption: the customer's own
//! `ORIGIN_URL` is refused for webhooks on top of this (see the webhook target rule).
//!
//! The URL is parsed with the WHATWG URL Standard (the `url` crate), the same algorithm the
//! runtime's `fetch` applies, and the decision is made on the host *as parsed*: every
//! spelling the parser turns into an address (`0x7f.1`, `2130706433`, `0x.0x.0x.0x`,
//! `%31%32%37.0.0.1`, full-width digits, trailing dots, `http:\\127.0.0.1`, tabs and newlines
//! inside) is judged as that address. A public name that resolves to a private address cannot
//! be seen from a Worker, where the runtime itself refuses to connect to private addresses.

use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    /// The host as parsed: a lowercase name without trailing dots, a dotted IPv4 address, or
    /// an IPv6 address without brackets.
    pub host: String,
    pub port: Option<u16>,
}

/// Parses an absolute http(s) URL the way `fetch` will. Userinfo is refused (a classic way to
/// disguise a host).
pub fn parse(url: &str) -> Result<Target, String> {
    let parsed = Url::parse(url).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    let scheme = parsed.scheme().to_owned();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "the scheme {scheme}: is not allowed; use http or https"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("URLs with user information are not allowed".into());
    }
    let host = match parsed.host() {
        None => return Err("the URL has no host".into()),
        Some(Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    Ok(Target {
        scheme,
        host,
        port: parsed.port(),
    })
}

/// Whether `url` may be called. `Err` says why not.
pub fn check(url: &str) -> Result<Target, String> {
    let t = parse(url)?;
    let h = t.host.as_str();
    if let Ok(ip) = h.parse::<Ipv4Addr>() {
        if blocked_v4(ip) {
            return Err(format!("the address {ip} is not a public destination"));
        }
    } else if let Ok(ip) = h.parse::<Ipv6Addr>() {
        if blocked_v6(ip) {
            return Err(format!("the address {ip} is not a public destination"));
        }
    } else if local_name(h) {
        return Err(format!("the host {h} is not a public destination"));
    } else if !h
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        || !h.contains('.')
        || h.split('.').any(str::is_empty)
    {
        return Err(format!("the host {h} is not a public DNS name"));
    }
    Ok(t)
}

/// Names that only mean something inside a network (RFC 6761, 6762, 8375; cloud metadata).
fn local_name(h: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        "localhost",
        "local",
        "internal",
        "home.arpa",
        "localdomain",
        "intranet",
    ];
    h == "metadata"
        || SUFFIXES
            .iter()
            .any(|s| h == *s || h.ends_with(&format!(".{s}")))
}

pub fn blocked_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        || (o[0] == 192 && o[1] == 88 && o[2] == 99)
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || o[0] >= 240
}

pub fn blocked_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Forms that carry an IPv4 address: judged by it (and refused outright where the v4 part
    // is meaningless to a public destination).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    // IPv4-compatible `::a.b.c.d` (deprecated; ::1 and :: are caught below as well).
    if s[..6] == [0; 6] {
        return true;
    }
    // NAT64 well-known and local-use prefixes: 64:ff9b::/96, 64:ff9b:1::/48.
    if s[0] == 0x64 && s[1] == 0xff9b {
        return true;
    }
    // 6to4 2002::/16 embeds an IPv4 address in bits 16..48 and goes through relays: refused
    // whatever it embeds (deprecated, RFC 7526).
    if s[0] == 0x2002 {
        return true;
    }
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site local fec0::/10 (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32 (embeds an IPv4 address)
        || (s[0] == 0x2001 && (s[1] & 0xfff0) == 0x0010) // ORCHID 2001:10::/28
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_destinations_pass() {
        for ok in [
            "https://hooks.example.com/x",
            "http://api.example.org:8080/a?b",
            "https://[2606:4700::1111]/",
            "https://1.1.1.1/",
            "https://8.8.8.8:443/dns",
            "https://EXAMPLE.com./path",
            "https://xn--bcher-kva.example/",
            "https://bücher.example/",
            "https://[2a00:1450:4001:82a::200e]/",
        ] {
            assert!(check(ok).is_ok(), "{ok}: {:?}", check(ok));
        }
    }

    /// Every spelling of a blocked address that the WHATWG parser accepts, and the names and
    /// schemes that are never public.
    #[test]
    fn private_destinations_are_refused_in_every_spelling() {
        for bad in [
            // Dotted, shortened, integer, octal, hex, mixed, empty `0x` parts.
            "http://127.0.0.1/",
            "http://127.1/",
            "http://127.0.1/",
            "http://2130706433/",
            "http://017700000001/",
            "http://0x7f000001/",
            "http://0x7f.0.0.1/",
            "http://0x7F.1/",
            "http://0X7F.0X0.0X0.0X1/",
            "http://0177.0.0.1/",
            "http://0177.1/",
            "http://00000177.0.0.1/",
            "http://127.0.0.01/",
            "http://127.000.000.001/",
            "http://0x/",
            "http://0x.0x.0x.0x/",
            "http://0/",
            "http://0.0.0.0/",
            "http://0x0a.0x0.0x0.1/",
            "http://167772161/",
            "http://012.0.0.1/",
            "http://0xc0.0xa8.1.1/",
            "http://3232235777/",
            "http://0xa9fea9fe/",
            "http://2852039166/",
            // Trailing dots, upper case, percent-encoding, full-width digits (IDNA maps them).
            "http://127.0.0.1./",
            "http://127.0.0.1../",
            "http://LOCALHOST/",
            "http://localhost./",
            "http://%31%32%37.0.0.1/",
            "http://%6c%6f%63%61%6c%68%6f%73%74/",
            "http://１２７.０.０.１/",
            "http://127。0。0。1/",
            // What the parser strips or reinterprets.
            "http:\\\\127.0.0.1\\x",
            "http:127.0.0.1/",
            "http:/127.0.0.1/",
            "http:///127.0.0.1/",
            "http://127.0.\t0.1/",
            "http://127.0.0.1\n/",
            " http://127.0.0.1/ ",
            "http://127.0.0.1:80/",
            "http://127.0.0.1:0/",
            // IPv6 and the forms that embed IPv4.
            "http://[::1]/",
            "http://[0:0:0:0:0:0:0:1]/",
            "http://[::]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::FFFF:10.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[::8.8.8.8]/",
            "http://[64:ff9b::127.0.0.1]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:0808:0808::]/",
            "http://[2001::1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
            "http://[fd00::1]/",
            "http://[fc00::1]/",
            "http://[fe80::1]/",
            "http://[fec0::1]/",
            "http://[ff02::1]/",
            "http://[2001:db8::1]/",
            "http://[100::1]/",
            // Private, link-local, CGNAT, benchmarking, reserved, broadcast.
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://198.18.0.1/",
            "http://192.0.0.1/",
            "http://192.0.2.1/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            // Local names.
            "http://localhost:8080/",
            "http://foo.localhost/",
            "http://printer.local/",
            "http://metadata.google.internal/",
            "http://metadata/",
            "http://router.home.arpa/",
            "http://intranet/",
            "http://a..b/",
            // Schemes, userinfo, no host.
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "ws://example.com/",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "http://user@example.com/",
            "http://user:pass@example.com/",
            "http://:pass@example.com/",
            "https://",
            "not a url",
            "//example.com/",
        ] {
            assert!(check(bad).is_err(), "{bad:?} passed as {:?}", check(bad));
        }
    }

    /// The hand-written host parser this replaced took these for public DNS names; the WHATWG
    /// parser (and so `fetch`) reads them as loopback and unspecified addresses.
    #[test]
    fn spellings_the_old_filter_let_through() {
        for (url, host) in [
            ("http://0x.0x.0x.0x/", "0.0.0.0"),
            ("http://127.0.0.0x/", "127.0.0.0"),
            ("http://0x7f.0x.0x.1/", "127.0.0.1"),
            ("http://[::127.0.0.1]/", "::7f00:1"),
        ] {
            assert_eq!(parse(url).map(|t| t.host), Ok(host.to_owned()), "{url}");
            assert!(check(url).is_err(), "{url}");
        }
    }

    #[test]
    fn parse_gives_the_host_as_fetch_sees_it() {
        let t = parse("HTTPS://Example.COM.:8443/path").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port),
            ("https", "example.com", Some(8443))
        );
        assert_eq!(parse("http://[::1]:80/").unwrap().host, "::1");
        assert_eq!(parse("http://0x7f.1/").unwrap().host, "127.0.0.1");
        assert_eq!(parse("https://example.com:443/").unwrap().port, None);
    }
}
