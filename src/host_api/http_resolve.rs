//! Name resolution for the http host API, guarded against a `*.domain`
//! allow-list entry becoming a way into the host itself.
//!
//! `http_allow` is checked on the URL's name before anything is resolved.
//! An exact `host:port` entry is the operator naming a place, so whatever it
//! resolves to is reached (`127.0.0.1:8080`, `localhost:6379`). A wildcard
//! trusts whoever runs that domain's DNS with every name under it: one
//! record pointing at 127.0.0.1 or at 169.254.169.254 (the cloud metadata
//! service, which hands out credentials) would turn it into a request to
//! the machine the runtime runs on. So a host allowed only by a wildcard
//! may resolve to anything but loopback, link-local and unspecified
//! addresses (IPv4, IPv6 and IPv4 inside IPv6); those are dropped, and a
//! name left with none is a 403. Private ranges (10/8, 172.16/12,
//! 192.168/16, fc00::/7) stay reachable: `*.corp.internal` pointing at them
//! is what a wildcard is usually for. The check is on the addresses the
//! connection then uses, not a second lookup, so DNS rebinding between
//! check and connect has nothing to race.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Wraps a resolver (the system's, in the runtime) and drops what a
/// wildcard-only host may not reach.
#[derive(Debug)]
pub struct GuardedResolver<R> {
    inner: R,
    /// The exact `host:port` entries of `http_allow`, host lowercased.
    exact: Vec<(String, u16)>,
}

impl<R: Resolver> GuardedResolver<R> {
    pub fn new(inner: R, exact: Vec<(String, u16)>) -> GuardedResolver<R> {
        GuardedResolver { inner, exact }
    }
}

impl<R: Resolver> Resolver for GuardedResolver<R> {
    fn resolve(&self, uri: &ureq::http::Uri, config: &ureq::config::Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        if self.exact.iter().any(|(h, p)| *h == host && *p == port) {
            return Ok(addrs);
        }
        let mut kept = self.inner.empty();
        for addr in addrs.iter().filter(|a| !is_the_host_itself(a.ip())) {
            kept.push(*addr);
        }
        if kept.is_empty() {
            return Err(ureq::Error::Io(io::Error::new(io::ErrorKind::PermissionDenied, Refused(host))));
        }
        Ok(kept)
    }

    fn empty(&self) -> ResolvedSocketAddrs {
        self.inner.empty()
    }
}

/// The error a refused name carries through ureq, so that the http layer
/// can tell it from other I/O errors and answer 403.
#[derive(Debug)]
pub struct Refused(pub String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is allowed only by a *.domain entry of http_allow and resolves only to loopback, link-local or unspecified addresses; name it as host:port to allow it",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

/// Loopback, link-local (169.254/16 holds the cloud metadata service) and
/// unspecified addresses, also as IPv4-mapped or -compatible IPv6.
pub fn is_the_host_itself(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_the_host_itself(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4() {
                // ::ffff:a.b.c.d and the deprecated ::a.b.c.d; plain ::1 and
                // :: are IPv6's own loopback and unspecified, checked below.
                if v6 != Ipv6Addr::LOCALHOST && v6 != Ipv6Addr::UNSPECIFIED {
                    return v4_is_the_host_itself(v4);
                }
            }
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn v4_is_the_host_itself(v4: Ipv4Addr) -> bool {
    v4.is_loopback() || v4.is_link_local() || v4.octets()[0] == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    /// Answers fixed addresses for every name.
    #[derive(Debug)]
    struct Fixed(Vec<SocketAddr>);

    impl Resolver for Fixed {
        fn resolve(&self, _: &ureq::http::Uri, _: &ureq::config::Config, _: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
            let mut out = self.empty();
            for a in &self.0 {
                out.push(*a);
            }
            Ok(out)
        }
    }

    fn resolve(addrs: &[&str], exact: &[(&str, u16)], url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let inner = Fixed(addrs.iter().map(|a| a.parse().unwrap()).collect());
        let guard = GuardedResolver::new(inner, exact.iter().map(|(h, p)| (h.to_string(), *p)).collect());
        let timeout = NextTimeout::default();
        guard.resolve(&url.parse().unwrap(), &ureq::config::Config::default(), timeout).map(|a| a.to_vec())
    }

    #[test]
    fn a_wildcard_host_never_reaches_the_host_itself() {
        let public = "93.184.216.34:80";
        let kept = resolve(&["127.0.0.1:80", public, "169.254.169.254:80", "[::1]:80", "10.1.2.3:80"], &[], "http://api.example.com/").unwrap();
        assert_eq!(kept, vec![public.parse().unwrap(), "10.1.2.3:80".parse().unwrap()], "private ranges stay reachable");
        for only_inside in [&["169.254.169.254:80"][..], &["127.0.0.53:80", "[::ffff:127.0.0.1]:80"], &["[fe80::1]:80", "0.0.0.0:80", "[::]:80"]] {
            let err = resolve(only_inside, &[], "http://rebound.example.com/").unwrap_err();
            let ureq::Error::Io(io) = err else { panic!("{err:?}") };
            assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
            assert!(io.get_ref().unwrap().downcast_ref::<Refused>().is_some(), "{io}");
        }
    }

    #[test]
    fn an_exact_entry_reaches_what_it_names() {
        let exact = [("localhost", 8080), ("metadata.internal", 443)];
        assert_eq!(resolve(&["127.0.0.1:8080"], &exact, "http://LOCALHOST:8080/x").unwrap().len(), 1);
        assert_eq!(resolve(&["169.254.169.254:443"], &exact, "https://metadata.internal/").unwrap().len(), 1, "default https port");
        assert!(resolve(&["127.0.0.1:8081"], &exact, "http://localhost:8081/").is_err(), "another port is not the entry");
    }

    #[test]
    fn the_host_itself() {
        for inside in ["127.0.0.1", "127.255.0.9", "169.254.169.254", "0.0.0.0", "0.1.2.3", "::1", "::", "fe80::1", "febf::1", "::ffff:127.0.0.1", "::ffff:169.254.1.1"] {
            assert!(is_the_host_itself(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["10.0.0.1", "172.16.0.1", "192.168.1.1", "93.184.216.34", "fd00::1", "2001:db8::1", "::ffff:10.0.0.1", "fec0::1"] {
            assert!(!is_the_host_itself(outside.parse().unwrap()), "{outside}");
        }
    }
}
