//! Outbound safety: user-supplied URLs (webhook targets, redirects they lead to) may only
//! reach public HTTP(S) hosts — never loopback, private, link-local, carrier-grade NAT,
//! unique-local, multicast, unspecified or cloud-metadata addresses, and no other scheme.
//! The customer's own `ORIGIN_URL` is the one exemption.
//!
//! Host names are checked by form (`localhost`, `*.localhost`, `*.internal`, `*.local`); a
//! public name that resolves to a private address cannot be seen from a Worker, where the
//! runtime itself refuses to connect to private addresses.

use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
}

/// Splits an absolute URL into scheme, host and port (no dependency on a URL crate, and
/// deliberately strict: userinfo is refused, as it is a classic way to disguise a host).
pub fn parse(url: &str) -> Result<Target, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("must be an absolute http(s) URL")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(format!(
            "the scheme {scheme}: is not allowed; use http or https"
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("URLs with user information are not allowed".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("bad IPv6 literal")?;
        (h.to_owned(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().map_err(|_| "bad port")?),
        None => None,
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    Ok(Target {
        scheme,
        host: host.to_ascii_lowercase().trim_end_matches('.').to_owned(),
        port,
    })
}

/// Whether `url` may be called. `Err` says why not.
pub fn check(url: &str) -> Result<Target, String> {
    let t = parse(url)?;
    let h = t.host.as_str();
    if h == "localhost"
        || h.ends_with(".localhost")
        || h.ends_with(".local")
        || h.ends_with(".internal")
        || h == "metadata.google.internal"
        || h == "metadata"
    {
        return Err(format!("the host {h} is not a public destination"));
    }
    if let Some(ip) = parse_ipv4(h) {
        if blocked_v4(ip) {
            return Err(format!("the address {ip} is not a public destination"));
        }
    } else if let Ok(ip) = h.parse::<Ipv6Addr>() {
        if blocked_v6(ip) {
            return Err(format!("the address {ip} is not a public destination"));
        }
    } else if !h
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        || !h.contains('.')
    {
        return Err(format!("the host {h} is not a public DNS name"));
    }
    Ok(t)
}

/// IPv4 in any of the forms browsers and resolvers accept: dotted, and the integer, octal and
/// hex forms (`2130706433`, `0177.0.0.1`, `0x7f.1`) used to smuggle loopback past filters.
fn parse_ipv4(h: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = h.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    let parts: Vec<&str> = h.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let num = |p: &str| -> Option<u64> {
        if let Some(x) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u64::from_str_radix(x, 16).ok()
        } else if p.len() > 1 && p.starts_with('0') {
            u64::from_str_radix(&p[1..], 8).ok()
        } else {
            p.parse().ok()
        }
    };
    let nums: Vec<u64> = parts.iter().map(|p| num(p)).collect::<Option<_>>()?;
    let (last, init) = nums.split_last()?;
    let mut value: u64 = 0;
    for (i, n) in init.iter().enumerate() {
        if *n > 255 {
            return None;
        }
        value |= n << (24 - 8 * i);
    }
    let room = 32 - 8 * init.len() as u32;
    if *last >= 1u64 << room {
        return None;
    }
    Some(Ipv4Addr::from((value | last) as u32))
}

fn blocked_v4(ip: Ipv4Addr) -> bool {
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
        || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
        || o[0] >= 240
}

fn blocked_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_v4(v4);
    }
    let s = ip.segments();
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] == 0x64 && s[1] == 0xff9b)
        || s[0] == 0x2001 && s[1] == 0x0db8
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
        ] {
            assert!(check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn private_destinations_are_refused() {
        for bad in [
            "http://127.0.0.1/",
            "http://127.1/",
            "http://2130706433/",
            "http://0x7f.0.0.1/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://10.0.0.1/",
            "http://172.16.5.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://100.64.0.1/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "http://localhost:8080/",
            "http://foo.localhost/",
            "http://metadata.google.internal/",
            "http://intranet/",
            "file:///etc/passwd",
            "gopher://example.com/",
            "ftp://example.com/",
            "javascript:alert(1)",
            "http://user@example.com/",
            "https://",
            "not a url",
            "http://[::]/",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parse_splits_host_and_port() {
        let t = parse("HTTPS://Example.COM.:8443/path").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port),
            ("https", "example.com", Some(8443))
        );
        assert_eq!(parse("http://[::1]:80/").unwrap().host, "::1");
    }
}
