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
//! may resolve to anything but the host itself and the well-known inside
//! addresses:
//!
//! - every address of this machine's own network interfaces (read with
//!   `getifaddrs` on every lookup, since interfaces change): a service
//!   bound to all interfaces answers on them as on loopback;
//! - loopback, link-local (169.254/16, fe80::/10) and unspecified addresses
//!   (0/8, ::);
//! - the cloud metadata services: 169.254.169.254, fd00:ec2::254 (AWS over
//!   IPv6), and 100.64/10, the shared address space (RFC 6598) that holds
//!   Alibaba's 100.100.100.200;
//! - any of those IPv4 addresses inside IPv6: IPv4-mapped (::ffff:a.b.c.d),
//!   -compatible (::a.b.c.d), NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and
//!   6to4 (2002::/16).
//!
//! Those are dropped, and a name left with none is a 403. Other private
//! ranges (10/8, 172.16/12, 192.168/16, fc00::/7 but for the machine's own
//! and the metadata addresses) stay reachable: `*.corp.internal` pointing at
//! them is what a wildcard is usually for. The check is on the addresses the
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
    /// The addresses of this machine's interfaces, asked on every lookup.
    own: fn() -> Vec<IpAddr>,
}

impl<R: Resolver> GuardedResolver<R> {
    pub fn new(inner: R, exact: Vec<(String, u16)>) -> GuardedResolver<R> {
        GuardedResolver { inner, exact, own: interface_addresses }
    }
}

impl<R: Resolver> Resolver for GuardedResolver<R> {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(if uri.scheme_str() == Some("https") { 443 } else { 80 });
        if self.exact.iter().any(|(h, p)| *h == host && *p == port) {
            return Ok(addrs);
        }
        let own = (self.own)();
        let mut kept = self.inner.empty();
        for addr in addrs.iter().filter(|a| !is_the_host_itself(a.ip()) && !is_one_of(a.ip(), &own)) {
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
            "{} is allowed only by a *.domain entry of http_allow and resolves only to this machine's own addresses (loopback, link-local, its interfaces) or a cloud metadata address; name it as host:port to allow it",
            self.0
        )
    }
}

impl std::error::Error for Refused {}

/// Loopback, link-local (169.254/16 holds the cloud metadata service),
/// unspecified, 100.64/10 and the metadata addresses (see the module doc),
/// also as IPv4 inside IPv6.
pub fn is_the_host_itself(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4_is_the_host_itself(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_v4(v6) {
                if v4_is_the_host_itself(v4) {
                    return true;
                }
            }
            v6.is_loopback() || v6.is_unspecified() || (v6.segments()[0] & 0xffc0) == 0xfe80 || v6 == AWS_METADATA_V6
        }
    }
}

/// AWS's instance metadata service over IPv6 (its IPv4 one is link-local).
const AWS_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

fn v4_is_the_host_itself(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    // 100.64/10: carrier-grade NAT space, where Alibaba Cloud's metadata
    // (100.100.100.200) and other providers' internal services live.
    v4.is_loopback() || v4.is_link_local() || a == 0 || (a == 100 && (b & 0xc0) == 64)
}

/// The IPv4 address an IPv6 one carries: IPv4-mapped or -compatible (but
/// not ::1 and ::, IPv6's own loopback and unspecified), NAT64 (64:ff9b::/96
/// and the local-use 64:ff9b:1::/48, address in the last 32 bits) or 6to4
/// (2002:AABB:CCDD::/48).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let last = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if v6 != Ipv6Addr::LOCALHOST && v6 != Ipv6Addr::UNSPECIFIED {
        if let Some(v4) = v6.to_ipv4() {
            return Some(v4);
        }
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1) {
        return Some(last);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

/// `ip` is one of `own`, or carries one of its IPv4 addresses.
fn is_one_of(ip: IpAddr, own: &[IpAddr]) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => embedded_v4(v6),
    };
    own.iter().any(|o| *o == ip || v4.is_some_and(|v4| *o == IpAddr::V4(v4)))
}

/// Every address of this machine's network interfaces (getifaddrs), down
/// or up; empty when they cannot be listed (the fixed checks still apply).
pub fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we only read
    // and then give back to freeifaddrs once; each ifa_addr is null or
    // points at a sockaddr of the size its family says.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut at = list;
        while !at.is_null() {
            let addr = (*at).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            at = (*at).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
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

    /// The interfaces of a pretend machine: 192.0.2.2 and fd00::2.
    fn pretend_interfaces() -> Vec<IpAddr> {
        vec!["127.0.0.1".parse().unwrap(), "192.0.2.2".parse().unwrap(), "fd00::2".parse().unwrap()]
    }

    fn resolve(addrs: &[&str], exact: &[(&str, u16)], url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let inner = Fixed(addrs.iter().map(|a| a.parse().unwrap()).collect());
        let mut guard = GuardedResolver::new(inner, exact.iter().map(|(h, p)| (h.to_string(), *p)).collect());
        guard.own = pretend_interfaces;
        let timeout = NextTimeout::default();
        guard.resolve(&url.parse().unwrap(), &ureq::config::Config::default(), timeout).map(|a| a.to_vec())
    }

    #[test]
    fn a_wildcard_host_never_reaches_the_host_itself() {
        let public = "93.184.216.34:80";
        let kept =
            resolve(&["127.0.0.1:80", public, "169.254.169.254:80", "[::1]:80", "10.1.2.3:80"], &[], "http://api.example.com/").unwrap();
        assert_eq!(kept, vec![public.parse().unwrap(), "10.1.2.3:80".parse().unwrap()], "private ranges stay reachable");
        let inside: &[&[&str]] = &[
            &["169.254.169.254:80"],
            &["127.0.0.53:80", "[::ffff:127.0.0.1]:80"],
            &["[fe80::1]:80", "0.0.0.0:80", "[::]:80"],
            // The machine's own interfaces, and those inside IPv6.
            &["192.0.2.2:80", "[fd00::2]:80", "[::ffff:192.0.2.2]:80", "[64:ff9b::c000:202]:80"],
            // Metadata services, v4 and v6, and the shared address space.
            &["[fd00:ec2::254]:80", "100.100.100.200:80", "100.64.0.1:80", "[::ffff:100.100.100.200]:80"],
        ];
        for only_inside in inside {
            let err = resolve(only_inside, &[], "http://rebound.example.com/").unwrap_err();
            let ureq::Error::Io(io) = err else { panic!("{err:?}") };
            assert_eq!(io.kind(), io::ErrorKind::PermissionDenied);
            assert!(io.get_ref().unwrap().downcast_ref::<Refused>().is_some(), "{io}");
        }
    }

    #[test]
    fn this_machines_interfaces_are_listed() {
        let own = interface_addresses();
        assert!(own.contains(&"127.0.0.1".parse().unwrap()), "{own:?}");
        assert!(is_one_of("::ffff:127.0.0.1".parse().unwrap(), &own));
        assert!(!is_one_of("93.184.216.34".parse().unwrap(), &own));
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
        for inside in [
            "127.0.0.1",
            "127.255.0.9",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.1.1",
            "::127.0.0.1",
            "100.64.0.0",
            "100.100.100.200",
            "100.127.255.255",
            "fd00:ec2::254",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::7f00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "::ffff:100.100.100.200",
            "64:ff9b::6464:64c8",
        ] {
            assert!(is_the_host_itself(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "10.0.0.1",
            "172.16.0.1",
            "192.168.1.1",
            "93.184.216.34",
            "fd00::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "fec0::1",
            "100.63.255.255",
            "100.128.0.0",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "fd00:ec2::253",
        ] {
            assert!(!is_the_host_itself(outside.parse().unwrap()), "{outside}");
        }
    }
}
