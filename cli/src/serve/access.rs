//! Who may use `serve`: the checks every request passes before a handler.
//!
//! - `Host` must name this server (421 otherwise): `localhost` or an IP
//!   literal, any port, or a name given with `--allow-host`. A DNS-rebinding
//!   page reaches 127.0.0.1 under a name its attacker controls, so a name
//!   nobody allowed is refused.
//! - A present `Origin` must be this server itself (http or https, the same
//!   host and port as `Host`) or an `--allow-host` name (403 otherwise): a
//!   page of another site never gets a process run.
//! - A body must be `application/json` (or `application/*+json`); a
//!   `Content-Type` on a POST/PUT/PATCH/DELETE too (415 otherwise). The types a
//!   cross-site form or a no-preflight `fetch()` can send are never JSON.
//! - `/api/process` is off unless `--process-api`; then, and for `/stats` and
//!   `/metrics`, a configured token must come as `Authorization: Bearer`
//!   (401), and without a token they answer loopback peers only.

use crate::exit::Failure;
use axum::http::{header, HeaderMap, Method};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use yaowasm::Error;

/// The environment variable that carries the token (`--process-api-token-file` wins).
pub const TOKEN_ENV: &str = "YAOWASM_PROCESS_API_TOKEN";
/// The shortest token accepted.
const MIN_TOKEN: usize = 16;

/// The access rules of one server.
#[derive(Debug)]
pub struct Access {
    /// Whether `POST /api/process/<name>` is on.
    pub process_api: bool,
    token: Option<String>,
    /// `--allow-host`: (lower-case host, port if one was given).
    allowed: Vec<(String, Option<u16>)>,
}

impl Access {
    /// The rules from the command line; refuses a process API on a
    /// non-loopback address without a token, and a token too short to be one.
    pub fn new(
        process_api: bool,
        token_file: Option<&Path>,
        env_token: Option<String>,
        allow_hosts: &[String],
        listen: SocketAddr,
    ) -> Result<Access, Failure> {
        let token = match token_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| Error::bad_request(format!("cannot read --process-api-token-file {}: {e}", path.display())))?;
                Some(check_token(text.trim(), &format!("the token in {}", path.display()))?)
            }
            None => match env_token {
                Some(t) if !t.trim().is_empty() => Some(check_token(t.trim(), TOKEN_ENV)?),
                _ => None,
            },
        };
        if process_api && token.is_none() && !listen.ip().is_loopback() {
            return Err(Error::bad_request(format!(
                "--process-api on {listen} would let anyone who reaches that address run any script function: \
                 give a token with --process-api-token-file <path> or {TOKEN_ENV} (clients then send \
                 `Authorization: Bearer <token>`), or listen on a loopback address (127.0.0.1, ::1)"
            ))
            .into());
        }
        let allowed = allow_hosts.iter().map(|h| parse_allowed(h)).collect::<Result<_, _>>()?;
        Ok(Access { process_api, token, allowed })
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The checks every request passes: Host (421), Origin (403), body type (415).
    pub fn check_request(&self, method: &Method, uri_authority: Option<&str>, headers: &HeaderMap) -> Result<(), Error> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).or(uri_authority);
        let Some(host) = host.and_then(split_host).filter(|(name, port)| self.host_allowed(name, *port)) else {
            return Err(Error::new(
                421,
                format!(
                    "this server does not answer for Host {:?}: only localhost, IP addresses and the names given with --allow-host",
                    host.unwrap_or("")
                ),
            ));
        };
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !self.origin_allowed(origin, &host) {
                return Err(Error::new(403, format!(
                    "requests from the web page origin {origin:?} are refused: only this server's own origin and the names given with --allow-host"
                )));
            }
        }
        let has_body = headers.get(header::TRANSFER_ENCODING).is_some()
            || headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0");
        let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or(""));
        let may_have_type = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) && !has_body;
        match content_type {
            Some(t) if !may_have_type && !is_json(t) => {
                Err(Error::new(415, format!("the request body must be JSON (Content-Type: application/json), not {t:?}")))
            }
            None if has_body => Err(Error::new(415, "the request body must be JSON: send Content-Type: application/json")),
            _ => Ok(()),
        }
    }

    /// `/stats` and `/metrics`: the bearer token when one is set, else a
    /// loopback peer only.
    pub fn check_ops(&self, peer: SocketAddr, headers: &HeaderMap, what: &str) -> Result<(), Error> {
        match &self.token {
            Some(token) => bearer(headers, token, what),
            None if peer.ip().is_loopback() || is_mapped_loopback(peer.ip()) => Ok(()),
            None => Err(Error::new(
                403,
                format!(
                "{what} answers loopback clients only; give a token (--process-api-token-file or {TOKEN_ENV}) to read it from elsewhere"
            ),
            )),
        }
    }

    /// `POST /api/process/<name>`: on (404 when off), then the token, or a
    /// loopback peer when there is none.
    pub fn check_process_api(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<(), Error> {
        if !self.process_api {
            return Err(Error::not_found(
                "the process API is off: start yaowasm serve with --process-api to run processes at POST /api/process/<name> \
                 (see yaowasm serve --help); the app's apis/*.http.yao routes are served either way",
            ));
        }
        self.check_ops(peer, headers, "the process API")
    }

    fn host_allowed(&self, name: &str, port: Option<u16>) -> bool {
        // localhost and IP literals cannot be rebound by a web page's DNS.
        name == "localhost"
            || name.parse::<IpAddr>().is_ok()
            || name.strip_prefix('[').and_then(|n| n.strip_suffix(']')).is_some_and(|n| n.parse::<IpAddr>().is_ok())
            || self.allowed_name(name, port)
    }

    fn allowed_name(&self, name: &str, port: Option<u16>) -> bool {
        self.allowed.iter().any(|(n, p)| n == name && (p.is_none() || *p == port))
    }

    /// Same origin as `Host` (a port left out is the scheme's), or an allowed name.
    fn origin_allowed(&self, origin: &str, host: &(String, Option<u16>)) -> bool {
        let Some((scheme, authority)) = origin.split_once("://") else { return false };
        let default = match scheme.to_ascii_lowercase().as_str() {
            "http" => 80,
            "https" => 443,
            _ => return false,
        };
        if authority.contains(['/', '@', '?', '#']) {
            return false;
        }
        let Some((name, port)) = split_host(authority) else { return false };
        let port = port.unwrap_or(default);
        (name == host.0 && port == host.1.unwrap_or(default)) || self.allowed_name(&name, Some(port)) || self.allowed_name(&name, None)
    }
}

fn check_token(token: &str, what: &str) -> Result<String, Error> {
    if token.chars().count() < MIN_TOKEN || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::bad_request(format!(
            "{what} must be at least {MIN_TOKEN} characters without spaces (e.g. `openssl rand -hex 32`)"
        )));
    }
    Ok(token.to_string())
}

fn bearer(headers: &HeaderMap, token: &str, what: &str) -> Result<(), Error> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(Error::new(401, format!("{what} needs `Authorization: Bearer <token>` with the server's token"))),
    }
}

/// Equal bytes, in a time that depends on `expected`'s length only.
fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, e) in expected.iter().enumerate() {
        diff |= usize::from(given.get(i).copied().unwrap_or(!e) ^ e);
    }
    std::hint::black_box(diff) == 0
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

/// `name[:port]` or `[v6][:port]` → (lower-case name, port). None when malformed.
fn split_host(text: &str) -> Option<(String, Option<u16>)> {
    let text = text.trim();
    let (name, port) = if text.starts_with('[') {
        let end = text.find(']')?;
        let (name, rest) = text.split_at(end + 1);
        match rest {
            "" => (name, None),
            _ => (name, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match text.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (text, None),
        }
    };
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control() || "/\\@?#,".contains(c)) {
        return None;
    }
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok()?),
    };
    Some((name.to_ascii_lowercase(), port))
}

fn parse_allowed(text: &str) -> Result<(String, Option<u16>), Error> {
    split_host(text).filter(|(n, _)| n != "*").ok_or_else(|| {
        Error::bad_request(format!("--allow-host {text:?} is not a host name (e.g. api.example.com or api.example.com:8080)"))
    })
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn access(allow: &[&str]) -> Access {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        Access::new(true, None, None, &allow, "127.0.0.1:5099".parse().unwrap()).unwrap()
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(k.clone(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    #[test]
    fn hosts_and_origins() {
        let a = access(&["api.example.com", "Other.example:8443"]);
        let ok = |h: &str| a.check_request(&Method::GET, None, &headers(&[(header::HOST, h)])).map_err(|e| e.code());
        for h in [
            "localhost:5099",
            "127.0.0.1:5099",
            "[::1]:5099",
            "10.0.0.2:8080",
            "api.example.com",
            "API.example.com:1",
            "other.example:8443",
            "localhost",
        ] {
            assert_eq!(ok(h), Ok(()), "{h}");
        }
        for h in ["evil.example:5099", "other.example:8444", "other.example", "", "localhost:99999", "[::1", "a b", "x@127.0.0.1"] {
            assert_eq!(ok(h), Err(421), "{h:?}");
        }
        assert_eq!(a.check_request(&Method::GET, None, &HeaderMap::new()).map_err(|e| e.code()), Err(421), "no Host");
        let origin = |h: &str, o: &str| {
            a.check_request(&Method::GET, None, &headers(&[(header::HOST, h), (header::ORIGIN, o)])).map_err(|e| e.code())
        };
        assert_eq!(origin("127.0.0.1:5099", "http://127.0.0.1:5099"), Ok(()));
        assert_eq!(origin("api.example.com", "https://api.example.com"), Ok(()));
        assert_eq!(origin("127.0.0.1:5099", "https://other.example:8443"), Ok(()), "an allowed name");
        for o in [
            "http://127.0.0.1:5098",
            "http://localhost:5099",
            "null",
            "http://evil.example",
            "file://",
            "ws://127.0.0.1:5099",
            "http://127.0.0.1:5099/x",
        ] {
            assert_eq!(origin("127.0.0.1:5099", o), Err(403), "{o}");
        }
    }

    #[test]
    fn bodies_must_be_json() {
        let a = access(&[]);
        let check = |m: Method, pairs: &[(header::HeaderName, &str)]| {
            let mut h = headers(pairs);
            h.insert(header::HOST, HeaderValue::from_static("localhost:5099"));
            a.check_request(&m, None, &h).map_err(|e| e.code())
        };
        assert_eq!(check(Method::POST, &[(header::CONTENT_TYPE, "text/plain"), (header::CONTENT_LENGTH, "3")]), Err(415));
        assert_eq!(check(Method::POST, &[(header::CONTENT_TYPE, "text/plain")]), Err(415));
        assert_eq!(check(Method::POST, &[(header::CONTENT_LENGTH, "3")]), Err(415));
        assert_eq!(check(Method::POST, &[(header::TRANSFER_ENCODING, "chunked")]), Err(415));
        assert_eq!(check(Method::GET, &[(header::CONTENT_TYPE, "text/plain"), (header::CONTENT_LENGTH, "3")]), Err(415));
        assert_eq!(check(Method::POST, &[]), Ok(()));
        assert_eq!(check(Method::POST, &[(header::CONTENT_LENGTH, "0")]), Ok(()));
        assert_eq!(check(Method::GET, &[(header::CONTENT_TYPE, "text/plain")]), Ok(()));
        assert_eq!(check(Method::PUT, &[(header::CONTENT_TYPE, "Application/JSON; charset=utf-8"), (header::CONTENT_LENGTH, "3")]), Ok(()));
        assert_eq!(check(Method::POST, &[(header::CONTENT_TYPE, "application/merge-patch+json"), (header::CONTENT_LENGTH, "3")]), Ok(()));
    }

    #[test]
    fn tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(
            !constant_time_eq(b"abd", b"abc")
                && !constant_time_eq(b"ab", b"abc")
                && !constant_time_eq(b"abcd", b"abc")
                && !constant_time_eq(b"", b"abc")
        );
        let public: SocketAddr = "0.0.0.0:80".parse().unwrap();
        assert_eq!(Access::new(true, None, None, &[], public).unwrap_err().error.code(), 400);
        assert!(Access::new(true, None, Some("short".into()), &[], "127.0.0.1:1".parse().unwrap()).is_err());
        let a = Access::new(true, None, Some("0123456789abcdef".into()), &[], public).unwrap();
        let peer: SocketAddr = "10.0.0.9:4000".parse().unwrap();
        let auth = |v: &str| headers(&[(header::AUTHORIZATION, v)]);
        assert_eq!(a.check_process_api(peer, &auth("Bearer 0123456789abcdef")).map_err(|e| e.code()), Ok(()));
        assert_eq!(a.check_process_api(peer, &auth("bearer 0123456789abcdef")).map_err(|e| e.code()), Ok(()));
        assert_eq!(a.check_process_api(peer, &auth("Bearer 0123456789abcdeF")).map_err(|e| e.code()), Err(401));
        assert_eq!(a.check_process_api(peer, &HeaderMap::new()).map_err(|e| e.code()), Err(401));
        let open = Access::new(false, None, None, &[], public).unwrap();
        assert_eq!(open.check_process_api(peer, &HeaderMap::new()).map_err(|e| e.code()), Err(404));
        assert_eq!(open.check_ops(peer, &HeaderMap::new(), "/stats").map_err(|e| e.code()), Err(403), "not loopback");
        assert_eq!(open.check_ops("127.0.0.1:9".parse().unwrap(), &HeaderMap::new(), "/stats").map_err(|e| e.code()), Ok(()));
        assert_eq!(open.check_ops("[::ffff:127.0.0.1]:9".parse().unwrap(), &HeaderMap::new(), "/stats").map_err(|e| e.code()), Ok(()));
    }
}
