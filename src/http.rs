//! Outbound HTTP for scripts: the `yao.http` import (docs/ABI.md §7).
//!
//! Only hosts in `http_allow` are reached, checked on the URL's `host:port`
//! before any connection; redirects are never followed (a 3xx comes back as
//! the response), so an allowed host cannot bounce a script elsewhere. A
//! response body over `http_max_response_bytes` is a 413, a request past its
//! timeout a 408. The client is ureq's blocking agent (HTTP/1.1); `https://`
//! goes through rustls, trusting the bundled Mozilla roots (webpki-roots, so
//! the answer does not depend on the machine's CA store) plus the PEM file
//! named by `http_ca_file`. A certificate that does not verify is a 502.
//!
//! `Http` is `Send + Sync`; the agent's connection pool is shared by all calls.

use crate::api_args::{self, Args};
use crate::config::Config;
use crate::error::{Error, Result, BAD_REQUEST, FORBIDDEN, TIMEOUT, TOO_LARGE};
use rmpv::Value;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The remote end failed: connection refused or reset, a bad response.
const BAD_GATEWAY: i32 = 502;

/// One `http_allow` entry.
#[derive(Debug, Clone)]
enum Allow {
    /// `host:port`, host lowercased.
    Exact(String, u16),
    /// `*.domain`: any subdomain of `.domain`, any port.
    Suffix(String),
}

impl Allow {
    fn parse(entry: &str) -> Option<Allow> {
        if let Some(domain) = entry.strip_prefix("*.") {
            return Some(Allow::Suffix(format!(".{}", domain.to_ascii_lowercase())));
        }
        let (host, port) = entry.rsplit_once(':')?;
        Some(Allow::Exact(host.to_ascii_lowercase(), port.parse().ok()?))
    }

    fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            Allow::Exact(h, p) => h == host && *p == port,
            Allow::Suffix(suffix) => host.len() > suffix.len() && host.ends_with(suffix.as_str()),
        }
    }
}

pub struct Http {
    agent: ureq::Agent,
    allow: Vec<Allow>,
    max_bytes: u64,
    timeout: Duration,
}

impl Http {
    /// From a validated config; 400 when `http_ca_file` cannot be used.
    pub fn new(config: &Config) -> Result<Http> {
        let tls = tls_config(config.http_ca_file.as_deref())?;
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .max_idle_connections_per_host(8)
            .tls_config(Arc::new(tls))
            .build();
        Ok(Http {
            agent,
            allow: config.http_allow.iter().filter_map(|e| Allow::parse(e)).collect(),
            max_bytes: config.http_max_response_bytes,
            timeout: Duration::from_millis(config.http_timeout_ms),
        })
    }

    /// `yao.http(method, args)`: args is a checked MessagePack array; the
    /// answer is the MessagePack map `{status, headers, data}`. `left` is
    /// what remains of the call's own timeout.
    pub fn call(&self, method: &str, args: &[u8], left: Duration) -> Result<Vec<u8>> {
        let args = Args::decode(format!("http: {method}"), args)?;
        // Positions of Yao's http process args: (verb, url, payload, query, headers, timeout).
        let (verb, url, payload, query, headers, timeout, max) = match method {
            "Get" => ("GET".to_owned(), 0, None, 1, 2, 3, 4),
            "Post" => {
                if !matches!(args.get(2), Value::Nil) {
                    return Err(args.bad(2, "nil: file uploads (files) are not supported"));
                }
                ("POST".to_owned(), 0, Some(1), 3, 4, 5, 6)
            }
            "Put" | "Patch" | "Delete" | "Head" => (method.to_ascii_uppercase(), 0, Some(1), 2, 3, 4, 5),
            "Send" => {
                let verb = args.string(0, "method")?.to_ascii_uppercase();
                if !matches!(verb.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") {
                    return Err(args.bad(0, "one of GET POST PUT PATCH DELETE HEAD OPTIONS"));
                }
                (verb, 1, Some(2), 3, 4, 5, 6)
            }
            _ => return Err(Error::not_found(format!("http: no method {method:?} (Get, Post, Put, Patch, Delete, Head, Send)"))),
        };
        args.at_most(max)?;
        let mut target = url::Url::parse(args.string(url, "url")?).map_err(|e| args.bad(url, &format!("an absolute URL ({e})")))?;
        self.check_host(&target)?;
        match args.get(query) {
            Value::Nil => {}
            Value::Map(pairs) => {
                let mut out = target.query_pairs_mut();
                for (k, v) in pairs {
                    let k = k.as_str().ok_or_else(|| args.bad(query, "a map with string keys"))?;
                    match v {
                        Value::Array(items) => {
                            for item in items {
                                out.append_pair(k, &text_of(item).ok_or_else(|| args.bad(query, "a map of scalars"))?);
                            }
                        }
                        v => {
                            out.append_pair(k, &text_of(v).ok_or_else(|| args.bad(query, "a map of scalars"))?);
                        }
                    }
                }
            }
            _ => return Err(args.bad(query, "the query (a map) or nil")),
        }
        let timeout = args.opt_u64(timeout, "timeout_ms")?.filter(|ms| *ms > 0).map(Duration::from_millis);
        let timeout = timeout.unwrap_or(self.timeout).min(self.timeout).min(left);
        let mut request = self.agent.request_url(&verb, &target).timeout(timeout);
        let mut has_content_type = false;
        match args.get(headers) {
            Value::Nil => {}
            Value::Map(pairs) => {
                for (k, v) in pairs {
                    let k = k.as_str().ok_or_else(|| args.bad(headers, "a map with string keys"))?;
                    has_content_type |= k.eq_ignore_ascii_case("content-type");
                    let values: Vec<&Value> = match v {
                        Value::Array(items) => items.iter().collect(),
                        v => vec![v],
                    };
                    for v in values {
                        let v = v.as_str().ok_or_else(|| args.bad(headers, "a map of strings"))?;
                        // What ureq would refuse at send time (as a 502):
                        // a name that is not an HTTP token, a value with a
                        // control or non-ASCII byte (CR LF: header injection).
                        if k.is_empty() || !k.bytes().all(is_tchar) || !v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
                            return Err(args.bad(headers, "a map of HTTP header names to printable ASCII values"));
                        }
                        request = request.set(k, v);
                    }
                }
            }
            _ => return Err(args.bad(headers, "the headers (a map) or nil")),
        }
        let body = match payload.map(|i| args.get(i)) {
            None | Some(Value::Nil) => None,
            Some(Value::Binary(b)) => Some((b.clone(), "application/octet-stream")),
            Some(Value::String(s)) => Some((s.as_bytes().to_vec(), "text/plain; charset=utf-8")),
            Some(other) => {
                let json = crate::value::msgpack_to_json(&api_args::encode(other)).map_err(|e| args.bad(1, &format!("a JSON-able payload ({e})")))?;
                Some((json.to_string().into_bytes(), "application/json"))
            }
        };
        let answer = match body {
            None => request.call(),
            Some((bytes, content_type)) => {
                if !has_content_type {
                    request = request.set("Content-Type", content_type);
                }
                request.send_bytes(&bytes)
            }
        };
        let response = match answer {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => return Err(transport_error(&t, timeout)),
        };
        self.answer(response, timeout)
    }

    fn check_host(&self, url: &url::Url) -> Result<()> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(Error::new(BAD_REQUEST, format!("http: scheme {other:?} is not http or https"))),
        }
        let host = url.host_str().ok_or_else(|| Error::new(BAD_REQUEST, "http: the URL has no host"))?.to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(80);
        if !self.allow.iter().any(|a| a.matches(&host, port)) {
            return Err(Error::new(FORBIDDEN, format!("http: {host}:{port} is not in http_allow")));
        }
        Ok(())
    }

    fn answer(&self, response: ureq::Response, timeout: Duration) -> Result<Vec<u8>> {
        let status = response.status();
        let content_type = response.content_type().to_ascii_lowercase();
        if let Some(length) = response.header("content-length").and_then(|l| l.trim().parse::<u64>().ok()) {
            if length > self.max_bytes {
                return Err(too_large(self.max_bytes));
            }
        }
        let mut names = response.headers_names();
        names.sort();
        names.dedup();
        let headers: Vec<(Value, Value)> = names
            .iter()
            .map(|name| {
                let values = response.all(name).into_iter().map(Value::from).collect();
                (Value::from(name.to_ascii_lowercase()), Value::Array(values))
            })
            .collect();
        let mut body = Vec::new();
        response.into_reader().take(self.max_bytes + 1).read_to_end(&mut body).map_err(|e| {
            if matches!(e.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                Error::new(TIMEOUT, format!("http: reading the response took longer than {} ms", timeout.as_millis()))
            } else {
                Error::new(BAD_GATEWAY, format!("http: reading the response: {e}"))
            }
        })?;
        if body.len() as u64 > self.max_bytes {
            return Err(too_large(self.max_bytes));
        }
        let data = decode_body(body, &content_type);
        Ok(api_args::encode(&Value::Map(vec![
            (Value::from("status"), Value::from(status)),
            (Value::from("headers"), Value::Map(headers)),
            (Value::from("data"), data),
        ])))
    }
}

/// TLS 1.2 and 1.3 on ring, trusting the Mozilla roots and `ca_file`'s.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let bad = |why: String| Error::new(BAD_REQUEST, format!("config: http_ca_file {}: {why}", path.display()));
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("holds no PEM certificate".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(format!("a certificate is not usable as a CA: {e}")))?;
        }
    }
    // The provider is named rather than left to rustls's process-wide
    // default, which is ambiguous when another crate in the host enables a
    // second one.
    rustls::ClientConfig::builder_with_provider(rustls::crypto::ring::default_provider().into())
        .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
        .map_err(|e| Error::new(crate::error::INTERNAL, format!("http: TLS setup: {e}")))
        .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
}

fn too_large(max: u64) -> Error {
    Error::new(TOO_LARGE, format!("http: the response body is larger than http_max_response_bytes ({max})"))
}

/// A byte of an HTTP token (RFC 9110 §5.6.2), what a header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A scalar as query text.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => s.as_str().map(str::to_owned),
        Value::Integer(n) => Some(n.to_string()),
        Value::F32(f) => Some(f.to_string()),
        Value::F64(f) => Some(f.to_string()),
        Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// JSON for JSON content types, a string for UTF-8, bytes otherwise.
fn decode_body(body: Vec<u8>, content_type: &str) -> Value {
    if body.is_empty() {
        return Value::Nil;
    }
    let is_json = content_type == "application/json" || content_type.ends_with("+json");
    if is_json {
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&body) {
            if let Ok(packed) = crate::value::json_to_msgpack(&json) {
                if let Ok(value) = rmpv::decode::read_value(&mut &packed[..]) {
                    return value;
                }
            }
        }
    }
    match String::from_utf8(body) {
        Ok(text) if is_json || content_type.starts_with("text/") || !content_type.contains("octet") => Value::from(text),
        Ok(text) => Value::Binary(text.into_bytes()),
        Err(e) => Value::Binary(e.into_bytes()),
    }
}

fn transport_error(t: &ureq::Transport, timeout: Duration) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) {
                return Error::new(TIMEOUT, format!("http: no answer within {} ms", timeout.as_millis()));
            }
        }
        source = e.source();
    }
    if t.to_string().contains("timed out") {
        return Error::new(TIMEOUT, format!("http: no answer within {} ms", timeout.as_millis()));
    }
    Error::new(BAD_GATEWAY, format!("http: {t}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_entries() {
        let exact = Allow::parse("127.0.0.1:8080").unwrap();
        assert!(exact.matches("127.0.0.1", 8080));
        assert!(!exact.matches("127.0.0.1", 8081));
        let wild = Allow::parse("*.Example.com").unwrap();
        assert!(wild.matches("api.example.com", 443));
        assert!(!wild.matches("example.com", 80));
        assert!(!wild.matches("evilexample.com", 80));
    }
}
