//! Where a customer webhook (`webhook.deliver`) may go: never to the customer's own origin
//! (`ORIGIN_URL`: same host and port, whatever the scheme or spelling of the host the URL
//! parser normalizes), otherwise only where [`crate::outbound::check`] allows — except the
//! exact `host:port` pairs of `OUTBOUND_ALLOW_HOSTS`, a deployer-only escape for a loopback
//! receiver in tests and local development. The same rule applies at creation and to every
//! redirect hop.

use url::Url;

/// Parses `OUTBOUND_ALLOW_HOSTS`: comma-separated `host:port` pairs (IPv6 as `[::1]:8080`),
/// lowercased; empty means none.
pub fn parse_allow_hosts(spec: &str) -> Result<Vec<String>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| {
            let (host, port) = e
                .rsplit_once(':')
                .ok_or_else(|| format!("{e:?} is not host:port"))?;
            if host.is_empty() || port.parse::<u16>().is_err() {
                return Err(format!("{e:?} is not host:port"));
            }
            Ok(e.to_ascii_lowercase())
        })
        .collect()
}

/// `host:port` of a parsed http(s) URL, the host without trailing dots (`a.com.` is `a.com`).
fn host_port(u: &Url) -> Option<String> {
    let host = u.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    Some(format!("{host}:{}", u.port_or_known_default()?))
}

/// Whether `url` may receive a webhook. `Err` says why not.
pub fn check(url: &str, origin_url: &str, allow_hosts: &[String]) -> Result<(), String> {
    let parsed = Url::parse(url).map_err(|_| "must be an absolute http(s) URL".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme {}: is not allowed; use http or https",
            parsed.scheme()
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("URLs with user information are not allowed".into());
    }
    let target = host_port(&parsed).ok_or("the URL has no host")?;
    let origin = Url::parse(origin_url).ok().and_then(|o| host_port(&o));
    if origin.as_deref() == Some(target.as_str()) {
        return Err("the edge's origin (ORIGIN_URL) is never a webhook destination".into());
    }
    if allow_hosts.contains(&target) {
        return Ok(());
    }
    crate::outbound::check(url).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:9000";

    fn allow() -> Vec<String> {
        parse_allow_hosts("127.0.0.1:9100, [::1]:9200").unwrap()
    }

    #[test]
    fn the_origin_is_refused_in_every_spelling() {
        for url in [
            "http://127.0.0.1:9000/hook",
            "https://127.0.0.1:9000/hook",
            "http://127.0.0.1:9000",
            "HTTP://127.0.0.1:9000/x?y#z",
            "http://2130706433:9000/",
            "http://0x7f.0.0.1:9000/",
            "http://127.1:9000/",
        ] {
            let e = check(url, ORIGIN, &allow()).unwrap_err();
            assert!(e.contains("ORIGIN_URL"), "{url}: {e}");
        }
        // Even when it is (wrongly) listed in OUTBOUND_ALLOW_HOSTS.
        let listed = parse_allow_hosts("127.0.0.1:9000").unwrap();
        assert!(check("http://127.0.0.1:9000/", ORIGIN, &listed).is_err());
        let public = "https://api.customer.example";
        for url in [
            "https://api.customer.example/jobs/email",
            "https://API.Customer.Example./jobs/email",
            "https://api.customer.example:443/",
            "http://api.customer.example:443/",
        ] {
            assert!(check(url, public, &[]).is_err(), "{url}");
        }
        // Another port of the origin's host is another server.
        assert_eq!(
            check("https://api.customer.example:8443/", public, &[]),
            Ok(())
        );
    }

    #[test]
    fn allow_hosts_are_exact_host_port_pairs() {
        assert_eq!(
            check("http://127.0.0.1:9100/hook", ORIGIN, &allow()),
            Ok(())
        );
        assert_eq!(check("http://[::1]:9200/", ORIGIN, &allow()), Ok(()));
        for url in [
            "http://127.0.0.1:9101/hook",
            "http://127.0.0.1/hook",
            "http://localhost:9100/hook",
            "http://127.0.0.2:9100/hook",
            "http://user@127.0.0.1:9100/hook",
            "ftp://127.0.0.1:9100/",
        ] {
            assert!(check(url, ORIGIN, &allow()).is_err(), "{url}");
        }
        assert!(check("http://127.0.0.1:9100/", ORIGIN, &[]).is_err());
    }

    #[test]
    fn public_destinations_pass_the_outbound_check() {
        assert_eq!(check("https://hooks.example.com/x", ORIGIN, &[]), Ok(()));
        assert!(check("http://169.254.169.254/latest", ORIGIN, &[]).is_err());
        assert!(check("not a url", ORIGIN, &[]).is_err());
    }

    #[test]
    fn allow_host_spec_is_validated() {
        assert_eq!(parse_allow_hosts(""), Ok(vec![]));
        assert_eq!(
            parse_allow_hosts("LocalHost:80,"),
            Ok(vec!["localhost:80".to_owned()])
        );
        assert!(parse_allow_hosts("127.0.0.1").is_err());
        assert!(parse_allow_hosts("127.0.0.1:http").is_err());
        assert!(parse_allow_hosts(":80").is_err());
    }
}
