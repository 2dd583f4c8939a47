//! Outbound HTTP for scripts: the `yao.http` import (docs/ABI.md §7).
//!
//! Only hosts in `http_allow` are reached, checked on the URL's `host:port`
//! before any connection; redirects are never followed (a 3xx comes back as
//! the response), so an allowed host cannot bounce a script elsewhere. A
//! response body over `http_max_response_bytes` is a 413, a request past its
//! timeout a 408, a response that cannot be read to its end (a bad head, a
//! body cut short by Content-Length or inside a chunk) a 502. The client is
//! ureq 3's blocking agent (HTTP/1.1); `https://` goes through rustls on ring,
//! trusting the bundled Mozilla roots (webpki-roots, so the answer does not
//! depend on the machine's CA store) plus the PEM file named by
//! `http_ca_file`. A certificate that does not verify is a 502. A host
//! allowed only by a `*.domain` entry never reaches this machine or a cloud
//! metadata address (http_resolve.rs): 403. A guest's `Host`, framing and
//! hop-by-hop headers ([`REFUSED_HEADERS`]) are a 400. The call's deadline
//! bounds the whole request: ureq's global timeout, and our own checks as
//! each piece of an upload or of the response body passes.
//!
//! ureq's own TLS config can only trust the Mozilla roots *or* a list of
//! certificates, so TLS is a connector of ours ([`TlsConnector`]) in ureq's
//! connector chain, with one rustls `ClientConfig` for every connection
//! (its session cache included). That connector uses ureq's `unversioned`
//! transport API, which a ureq minor release may change: Cargo.lock pins it.
//!
//! `Post`'s `files` upload files under the fs root `data` as
//! multipart/form-data (multipart.rs): each path is checked and opened by
//! fs.rs exactly as `ReadFile` would (same refusals, same codes), after the
//! allow-list check, measured and closed; it is opened again (checked again)
//! only when its part starts being sent and closed when it ends. The count
//! is capped at `http_max_upload_files` and the whole body at
//! `http_max_upload_bytes` (413) before anything is sent.
//!
//! `Http` is `Send + Sync`; the agent's connection pool is shared by all calls.

use super::args::{self as api_args, Args};
use super::fs::Roots;
use super::http_resolve::{GuardedResolver, Refused};
use super::multipart::Form;
use crate::config::Config;
use crate::error::{Error, Result, BAD_REQUEST, FORBIDDEN, TIMEOUT, TOO_LARGE};
use rmpv::Value;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::unversioned::transport::{
    time, Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector, Transport, TransportAdapter,
};

/// The remote end failed: connection refused or reset, a bad response.
const BAD_GATEWAY: i32 = 502;

/// The longest response head read (ureq 2's limit, kept): past it, a 502.
const MAX_HEAD_BYTES: usize = 100 * 1024;

/// Request headers a guest may not set (400, any case): `Host` (the URL's
/// authority, so a script cannot reach another virtual host of an allowed
/// address), the framing headers (a `Transfer-Encoding` beside a
/// `Content-Length` is how requests are smuggled through a proxy; the
/// client frames the body itself) and the hop-by-hop headers of RFC 9110
/// §7.6.1, which are about the connection the client owns.
pub const REFUSED_HEADERS: &[&str] =
    &["Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade"];

/// The fs root that `Post`'s `files` paths are relative to (Yao's
/// `http.Post` reads them from the app's data folder too).
pub const UPLOAD_ROOT: &str = "data";

/// One `http_allow` entry.
#[derive(Debug, Clone)]
pub(super) enum Allow {
    /// `host:port`, host lowercased.
    Exact(String, u16),
    /// `*.domain`: any subdomain of `.domain`, any port.
    Suffix(String),
}

impl Allow {
    pub(super) fn parse(entry: &str) -> Option<Allow> {
        if let Some(domain) = entry.strip_prefix("*.") {
            return Some(Allow::Suffix(format!(".{}", domain.to_ascii_lowercase())));
        }
        let (host, port) = entry.rsplit_once(':')?;
        Some(Allow::Exact(host.to_ascii_lowercase(), port.parse().ok()?))
    }

    pub(super) fn matches(&self, host: &str, port: u16) -> bool {
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
    max_upload_bytes: u64,
    max_upload_files: usize,
    timeout: Duration,
}

impl Http {
    /// From a validated config; 400 when `http_ca_file` cannot be used.
    pub fn new(config: &Config) -> Result<Http> {
        let tls = TlsConnector(Arc::new(tls_config(config.http_ca_file.as_deref())?));
        let agent_config = ureq::Agent::config_builder()
            // Statuses are answers; redirects are answers too (not followed).
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            // Never a proxy from the environment (ureq 3's default): the
            // allow-list is about where the request goes.
            .proxy(None)
            .max_response_header_size(MAX_HEAD_BYTES)
            .max_idle_connections_per_host(8)
            .build();
        let connector = ().chain(TcpConnector::default()).chain(tls);
        let allow: Vec<Allow> = config.http_allow.iter().filter_map(|e| Allow::parse(e)).collect();
        let exact = allow
            .iter()
            .filter_map(|a| match a {
                Allow::Exact(host, port) => Some((host.clone(), *port)),
                Allow::Suffix(_) => None,
            })
            .collect();
        let resolver = GuardedResolver::new(ureq::unversioned::resolver::DefaultResolver::default(), exact);
        let agent = ureq::Agent::with_parts(agent_config, connector, resolver);
        Ok(Http {
            agent,
            allow,
            max_bytes: config.http_max_response_bytes,
            max_upload_bytes: config.http_max_upload_bytes,
            max_upload_files: config.http_max_upload_files as usize,
            timeout: Duration::from_millis(config.http_timeout_ms),
        })
    }

    /// `yao.http(method, args)`: args is a checked MessagePack array; the
    /// answer is the MessagePack map `{status, headers, data}`. `left` is
    /// what remains of the call's own timeout; `roots` are the fs roots
    /// uploads read from.
    pub fn call(&self, method: &str, args: &[u8], left: Duration, roots: &Roots) -> Result<Vec<u8>> {
        let args = Args::decode(format!("http: {method}"), args)?;
        // Positions of Yao's http process args: (verb, url, payload, query, headers, timeout).
        let (verb, url, payload, query, headers, timeout, max) = match method {
            "Get" => ("GET".to_owned(), 0, None, 1, 2, 3, 4),
            "Post" => ("POST".to_owned(), 0, Some(1), 3, 4, 5, 6),
            "Put" | "Patch" | "Delete" | "Head" => (method.to_ascii_uppercase(), 0, Some(1), 2, 3, 4, 5),
            "Send" | "Stream" => {
                let verb = args.string(0, "method")?.to_ascii_uppercase();
                if !matches!(verb.as_str(), "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") {
                    return Err(args.bad(0, "one of GET POST PUT PATCH DELETE HEAD OPTIONS"));
                }
                (verb, 1, Some(2), 3, 4, 5, 6)
            }
            _ => return Err(Error::not_found(format!("http: no method {method:?} (Get, Post, Put, Patch, Delete, Head, Send, Stream)"))),
        };
        args.at_most(max)?;
        let mut target = url::Url::parse(args.string(url, "url")?).map_err(|e| args.bad(url, &format!("an absolute URL ({e})")))?;
        self.check_host(&target)?;
        // Yao's `files`, Post's arg 3: field → path; none (nil, {}) is a plain request.
        let files = if method == "Post" { upload_files(&args, 2)? } else { Vec::new() };
        if files.len() > self.max_upload_files {
            return Err(Error::too_large(format!(
                "http: the upload has {} files, over http_max_upload_files ({})",
                files.len(),
                self.max_upload_files
            )));
        }
        let multipart = !files.is_empty();
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
        let deadline = Instant::now() + timeout;
        let mut request = ureq::http::Request::builder().method(verb.as_str()).uri(target.as_str());
        let mut has_content_type = false;
        match args.get(headers) {
            Value::Nil => {}
            Value::Map(pairs) => {
                for (k, v) in pairs {
                    let k = k.as_str().ok_or_else(|| args.bad(headers, "a map with string keys"))?;
                    if let Some(refused) = REFUSED_HEADERS.iter().find(|r| k.eq_ignore_ascii_case(r)) {
                        return Err(args.bad(
                            headers,
                            &format!(
                                "headers without {refused}: Host, the framing and hop-by-hop headers are the client's ({})",
                                REFUSED_HEADERS.join(", ")
                            ),
                        ));
                    }
                    // A form's type (with its boundary) is its own.
                    if multipart && k.eq_ignore_ascii_case("content-type") {
                        continue;
                    }
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
                        request = request.header(k, v);
                    }
                }
            }
            _ => return Err(args.bad(headers, "the headers (a map) or nil")),
        }
        let bad_request = |e: ureq::http::Error| Error::new(BAD_REQUEST, format!("http: {e}"));
        let answer = if multipart {
            let form = upload_form(&args, 1, &files, roots, self.max_upload_bytes)?;
            let request = request.header("content-type", form.content_type()).header("content-length", form.len());
            // Each file is opened again (and checked again) as its part
            // starts, and closed as it ends.
            let open = Box::new(|path: &str| {
                roots.open_file(UPLOAD_ROOT, path).map(|(file, _)| file).map_err(|e| io::Error::other(e.message().to_owned()))
            });
            let mut body = form.finish(open, deadline);
            self.send(request.body(ureq::SendBody::from_reader(&mut body)).map_err(bad_request)?, timeout)
        } else {
            let body = match payload.map(|i| (i, args.get(i))) {
                None | Some((_, Value::Nil)) => None,
                Some((_, Value::Binary(b))) => Some((b.clone(), "application/octet-stream")),
                Some((_, Value::String(s))) => Some((s.as_bytes().to_vec(), "text/plain; charset=utf-8")),
                Some((i, other)) => Some((json_text(&args, i, other)?.into_bytes(), "application/json")),
            };
            match body {
                None => self.send(request.body(()).map_err(bad_request)?, timeout),
                Some((bytes, content_type)) => {
                    if !has_content_type {
                        request = request.header("content-type", content_type);
                    }
                    self.send(request.body(bytes).map_err(bad_request)?, timeout)
                }
            }
        };
        let body = if method == "Stream" { Body::Lines } else { Body::Decoded };
        self.answer(answer.map_err(|e| http_error(e, timeout))?, timeout, deadline, body)
    }

    /// Runs one request under `timeout` (connect, send, head and body).
    fn send<B: ureq::AsSendBody>(
        &self,
        request: ureq::http::Request<B>,
        timeout: Duration,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let request = self.agent.configure_request(request).timeout_global(Some(timeout)).build();
        self.agent.run(request)
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

    /// The response as `{status, headers, data}` (or `{status, headers,
    /// lines}`); its body is read in pieces, each checked against `deadline`
    /// (408 past it).
    fn answer(&self, response: ureq::http::Response<ureq::Body>, timeout: Duration, deadline: Instant, shape: Body) -> Result<Vec<u8>> {
        let status = response.status().as_u16();
        let header = |name: &str| response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let content_type = header("content-type")
            .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
            .unwrap_or_else(|| "text/plain".to_owned());
        if let Some(length) = header("content-length").and_then(|l| l.trim().parse::<u64>().ok()) {
            if length > self.max_bytes {
                return Err(too_large(self.max_bytes));
            }
        }
        // Names come lowercased (http::HeaderName), each once, in order of
        // first appearance; a value that is not UTF-8 is decoded lossily.
        let headers: Vec<(Value, Value)> = response
            .headers()
            .keys()
            .map(|name| {
                let values = response
                    .headers()
                    .get_all(name)
                    .iter()
                    .map(|v| Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()))
                    .collect();
                (Value::from(name.as_str()), Value::Array(values))
            })
            .collect();
        let mut body = Vec::new();
        // ureq 3 reads a body to its declared end: an EOF before the
        // Content-Length or the last chunk is an error (UnexpectedEof), not
        // a short body.
        let late = || Error::new(TIMEOUT, format!("http: reading the response took longer than {} ms", timeout.as_millis()));
        let mut reader = response.into_body().into_with_config().limit(u64::MAX).reader().take(self.max_bytes + 1);
        let mut piece = vec![0u8; 64 * 1024];
        loop {
            if Instant::now() >= deadline {
                return Err(late());
            }
            let n = match reader.read(&mut piece) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(match ureq::Error::from(e) {
                        e if is_timeout(&e) => late(),
                        ureq::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            Error::new(BAD_GATEWAY, "http: reading the response: the connection was closed before its end (unexpected EOF)")
                        }
                        e => Error::new(BAD_GATEWAY, format!("http: reading the response: {e}")),
                    })
                }
            };
            body.extend_from_slice(&piece[..n]);
        }
        if body.len() as u64 > self.max_bytes {
            return Err(too_large(self.max_bytes));
        }
        let (field, data) = match shape {
            Body::Decoded => ("data", decode_body(body, &content_type)),
            Body::Lines => ("lines", body_lines(&body)),
        };
        Ok(api_args::encode(&Value::Map(vec![
            (Value::from("status"), Value::from(status)),
            (Value::from("headers"), Value::Map(headers)),
            (Value::from(field), data),
        ])))
    }
}

/// How a response body is answered.
#[derive(Clone, Copy)]
enum Body {
    /// `data`: JSON parsed, text as a string, anything else as bytes.
    Decoded,
    /// `lines`: the raw body split at each `\n` (a `\r` before it dropped),
    /// every line as a string (lossy UTF-8), for `http.Stream`'s callback;
    /// a trailing newline makes no empty last line.
    Lines,
}

fn body_lines(body: &[u8]) -> Value {
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    if body.is_empty() {
        return Value::Array(Vec::new());
    }
    Value::Array(
        body.split(|b| *b == b'\n')
            .map(|line| Value::from(String::from_utf8_lossy(line.strip_suffix(b"\r").unwrap_or(line)).into_owned()))
            .collect(),
    )
}

/// TLS 1.2 and 1.3 on ring, trusting the Mozilla roots and `ca_file`'s.
pub(super) fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig> {
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

/// `files` at `i` as (field, path) pairs: nil or a map of strings to strings.
fn upload_files(args: &Args, i: usize) -> Result<Vec<(&str, &str)>> {
    let expected = "the files (a map of form field to a path under the fs root \"data\") or nil";
    match args.get(i) {
        Value::Nil => Ok(Vec::new()),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| k.as_str().zip(v.as_str()).ok_or_else(|| args.bad(i, expected))).collect(),
        _ => Err(args.bad(i, expected)),
    }
}

/// The multipart body of an upload: each file checked and measured under
/// [`UPLOAD_ROOT`] (fs.rs's checks and codes; opened and closed again at
/// once: it is opened for sending when its part starts), then the payload at `payload` (nil or a map)
/// as text fields, as gou writes them: strings and bytes as they are,
/// numbers and bools as text, nil as an empty field, arrays and maps as
/// JSON. 413 past `max_upload_bytes` (the config's `http_max_upload_bytes`).
fn upload_form(args: &Args, payload: usize, files: &[(&str, &str)], roots: &Roots, max_upload_bytes: u64) -> Result<Form> {
    let mut fields = Vec::new();
    match args.get(payload) {
        Value::Nil => {}
        Value::Map(pairs) => {
            for (k, v) in pairs {
                let k = k.as_str().ok_or_else(|| args.bad(payload, "with files, a map with string keys"))?;
                let value = match v {
                    Value::Nil => Vec::new(),
                    Value::Binary(b) => b.clone(),
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Array(_) | Value::Map(_) | Value::Ext(..) => json_text(args, payload, v)?.into_bytes(),
                    scalar => text_of(scalar).unwrap_or_default().into_bytes(),
                };
                fields.push((k, value));
            }
        }
        _ => return Err(args.bad(payload, "with files, nil or a map of form fields (other payloads cannot go with files)")),
    }
    let mut form = Form::new();
    for (field, path) in files {
        let (file, len) = roots.open_file(UPLOAD_ROOT, path).map_err(|e| e.context(format!("http: Post files.{field}")))?;
        drop(file);
        let filename = path.rsplit('/').find(|part| !part.is_empty()).unwrap_or(path);
        form.file(field, filename, path, len, format!("files.{field} ({path})"));
    }
    for (name, value) in fields {
        form.text(name, value);
    }
    if form.len() > max_upload_bytes {
        return Err(Error::too_large(format!(
            "http: the upload is {} bytes, over http_max_upload_bytes ({max_upload_bytes}) for one request's files and fields",
            form.len()
        )));
    }
    Ok(form)
}

/// The value at arg `i` as JSON text; 400 when it has no JSON form.
fn json_text(args: &Args, i: usize, value: &Value) -> Result<String> {
    let json =
        crate::abi::value::msgpack_to_json(&api_args::encode(value)).map_err(|e| args.bad(i, &format!("a JSON-able payload ({e})")))?;
    Ok(json.to_string())
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
            if let Ok(packed) = crate::abi::value::json_to_msgpack(&json) {
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

/// A failed request as an error code: 408 for a timeout, 502 otherwise.
fn http_error(e: ureq::Error, timeout: Duration) -> Error {
    if is_timeout(&e) {
        return Error::new(TIMEOUT, format!("http: no answer within {} ms", timeout.as_millis()));
    }
    match e {
        ureq::Error::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<Refused>()) => Error::new(FORBIDDEN, format!("http: {e}")),
        ureq::Error::LargeResponseHeader(_, max) => Error::new(BAD_GATEWAY, format!("http: the response head is longer than {max} bytes")),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            Error::new(BAD_GATEWAY, "http: the connection was closed before the response (unexpected EOF)")
        }
        e => Error::new(BAD_GATEWAY, format!("http: {e}")),
    }
}

/// ureq's own timeout, or an I/O timeout anywhere in the error's chain.
fn is_timeout(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) => return true,
        ureq::Error::Io(io) if matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => return true,
        _ => {}
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            if matches!(io.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) {
                return true;
            }
        }
        source = inner.source();
    }
    false
}

/// The TLS layer of the agent's connector chain: wraps the TCP transport of
/// an `https://` request in rustls with our `ClientConfig` (what ureq's
/// `RustlsConnector` does with a config of its own making).
#[derive(Debug)]
struct TlsConnector(Arc<rustls::ClientConfig>);

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(&self, details: &ConnectionDetails, chained: Option<In>) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details.uri.host().unwrap_or_default();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| ureq::Error::Io(io::Error::new(io::ErrorKind::InvalidInput, format!("TLS server name {host:?}: {e}"))))?;
        let tls_error = |e: rustls::Error| ureq::Error::Io(io::Error::new(io::ErrorKind::InvalidData, e));
        let conn = rustls::ClientConnection::new(self.0.clone(), name).map_err(tls_error)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        // The handshake gets what is left of the connect timeout after TCP.
        let mut timeout = details.timeout;
        if let (time::Duration::Exact(after), time::Instant::Exact(now), time::Instant::Exact(start)) =
            (timeout.after, (details.current_time)(), details.now)
        {
            timeout.after = time::Duration::Exact(after.saturating_sub(now.saturating_duration_since(start)));
        }
        sock.set_timeout(timeout);
        let mut stream = rustls::StreamOwned { conn, sock };
        stream.conn.complete_io(&mut stream.sock).map_err(ureq::Error::from)?;
        let buffers = LazyBuffers::new(details.config.input_buffer_size(), details.config.output_buffer_size());
        Ok(Some(Either::B(TlsTransport { buffers, stream })))
    }
}

/// A connection through rustls.
struct TlsTransport {
    buffers: LazyBuffers,
    stream: rustls::StreamOwned<rustls::ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").finish_non_exhaustive()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> std::result::Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
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
