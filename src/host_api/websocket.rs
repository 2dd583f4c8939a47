//! `WebSocket(url, ...protocols).push(message)` for scripts: the `yao.http`
//! import's method `WebSocket` (docs/ABI.md §7), gou's one-shot client
//! (`websocket.NewWebSocket` + `Push`): connect, send one text message,
//! close.
//!
//! The same rules as `http`: `ws://` and `wss://` only; the URL's
//! `host:port` must be in `http_allow` (403 before any connection); a host
//! allowed only by a `*.domain` entry never reaches this machine or a cloud
//! metadata address (http_resolve.rs, 403); `wss://` is rustls with the same
//! roots (`http_ca_file` included) as `https://`; the call's deadline and
//! `http_timeout_ms` bound the whole exchange (408); a refused connection,
//! a handshake the server does not accept or a bad `Sec-WebSocket-Accept`
//! is a 502.
//!
//! The client is ours, ~150 lines over std's `TcpStream` and rustls: one
//! handshake and two frames do not justify tungstenite (and its `http`,
//! `rand`, `thiserror`, `utf-8`, `data-encoding` crates) in the shipped
//! library. The only new crate is `sha1` (RustCrypto, the family of the
//! `sha2` already here), for the handshake's `Sec-WebSocket-Accept`.

use super::args::Args;
use super::http::{tls_config, Allow};
use super::http_resolve::{interface_addresses, is_the_host_itself};
use crate::config::Config;
use crate::error::{Error, Result, BAD_REQUEST, FORBIDDEN, TIMEOUT};
use base64::Engine as _;
use rmpv::Value;
use sha1::{Digest, Sha1};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BAD_GATEWAY: i32 = 502;
/// RFC 6455 §1.3.
const ACCEPT_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// The longest handshake response head read.
const MAX_HEAD_BYTES: usize = 16 * 1024;

pub struct WebSocket {
    allow: Vec<Allow>,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
}

/// What one push reaches: a stream, plain or TLS.
trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

impl WebSocket {
    pub fn new(config: &Config) -> Result<WebSocket> {
        Ok(WebSocket {
            allow: config.http_allow.iter().filter_map(|e| Allow::parse(e)).collect(),
            tls: Arc::new(tls_config(config.http_ca_file.as_deref())?),
            timeout: Duration::from_millis(config.http_timeout_ms),
        })
    }

    /// `http("WebSocket", [url, message, protocols?])`: nil once the message
    /// is sent and the connection closed. `left` is what remains of the
    /// call's timeout.
    pub fn push(&self, args: &[u8], left: Duration) -> Result<Vec<u8>> {
        let args = Args::decode("http: WebSocket", args)?;
        args.at_most(3)?;
        let url = args.string(0, "url")?;
        let message = args.string(1, "message")?;
        let protocols: Vec<&str> = match args.get(2) {
            Value::Nil => Vec::new(),
            Value::Array(list) => {
                list.iter().map(|p| p.as_str()).collect::<Option<_>>().ok_or_else(|| args.bad(2, "an array of strings"))?
            }
            _ => return Err(args.bad(2, "the protocols (an array of strings) or nil")),
        };
        if let Some(bad) = protocols.iter().find(|p| p.is_empty() || !p.bytes().all(is_tchar)) {
            return Err(Error::new(BAD_REQUEST, format!("websocket: {bad:?} is not a sub-protocol name")));
        }
        let url = url::Url::parse(url).map_err(|e| Error::new(BAD_REQUEST, format!("websocket: {url:?}: {e}")))?;
        let secure = match url.scheme() {
            "ws" => false,
            "wss" => true,
            other => return Err(Error::new(BAD_REQUEST, format!("websocket: scheme {other:?} is not ws or wss"))),
        };
        let host = url.host_str().ok_or_else(|| Error::new(BAD_REQUEST, "websocket: the URL has no host"))?.to_ascii_lowercase();
        let port = url.port_or_known_default().unwrap_or(if secure { 443 } else { 80 });
        if !self.allow.iter().any(|a| a.matches(&host, port)) {
            return Err(Error::new(FORBIDDEN, format!("websocket: {host}:{port} is not in http_allow")));
        }
        let timeout = left.min(self.timeout);
        let deadline = Instant::now() + timeout;
        let late = || Error::new(TIMEOUT, format!("websocket: {host}:{port} took longer than {} ms", timeout.as_millis()));
        let io_error = |e: io::Error| {
            if matches!(e.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) || Instant::now() >= deadline {
                late()
            } else {
                Error::new(BAD_GATEWAY, format!("websocket: {host}:{port}: {e}"))
            }
        };

        let tcp = self.connect(&host, port, deadline).map_err(|e| match e {
            Connect::Refused(e) => e,
            Connect::Io(e) => io_error(e),
        })?;
        let left = || deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        tcp.set_read_timeout(Some(left())).map_err(io_error)?;
        tcp.set_write_timeout(Some(left())).map_err(io_error)?;
        tcp.set_nodelay(true).ok();
        let mut stream: Box<dyn Stream> = if secure {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| Error::new(BAD_REQUEST, format!("websocket: TLS server name {host:?}: {e}")))?;
            let conn = rustls::ClientConnection::new(self.tls.clone(), name)
                .map_err(|e| Error::new(BAD_GATEWAY, format!("websocket: TLS: {e}")))?;
            Box::new(rustls::StreamOwned::new(conn, tcp))
        } else {
            Box::new(tcp)
        };

        // The handshake (RFC 6455 §4.1).
        let mut nonce = [0u8; 16];
        random(&mut nonce)?;
        let key = base64::engine::general_purpose::STANDARD.encode(nonce);
        let mut target = url.path().to_owned();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let host_header = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let mut request = format!(
            "GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        );
        if !protocols.is_empty() {
            request.push_str(&format!("Sec-WebSocket-Protocol: {}\r\n", protocols.join(", ")));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).map_err(io_error)?;
        stream.flush().map_err(io_error)?;
        let head = read_head(&mut *stream, deadline).map_err(io_error)?;
        check_handshake(&head, &key, &protocols).map_err(|why| Error::new(BAD_GATEWAY, format!("websocket: {host}:{port}: {why}")))?;

        // One text frame, then a normal close (1000); the server's close is
        // not waited for (gou's Push closes at once too).
        stream.write_all(&frame(0x1, message.as_bytes())?).map_err(io_error)?;
        stream.write_all(&frame(0x8, &1000u16.to_be_bytes())?).map_err(io_error)?;
        stream.flush().map_err(io_error)?;
        Ok(vec![0xc0])
    }

    /// The first address that connects, of those the name may reach: all of
    /// them for an exact `host:port` entry, none of this machine's nor a
    /// metadata address for a host allowed only by a wildcard (403 when
    /// none is left).
    fn connect(&self, host: &str, port: u16, deadline: Instant) -> std::result::Result<TcpStream, Connect> {
        let exact = self.allow.iter().any(|a| matches!(a, Allow::Exact(..)) && a.matches(host, port));
        let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(Connect::Io)?.collect();
        let addrs: Vec<SocketAddr> = if exact {
            addrs
        } else {
            let own = interface_addresses();
            addrs.into_iter().filter(|a| !is_the_host_itself(a.ip()) && !own.contains(&a.ip())).collect()
        };
        if addrs.is_empty() {
            return Err(Connect::Refused(Error::new(
                FORBIDDEN,
                format!("websocket: {host} is allowed only by a *.domain entry of http_allow and resolves only to this machine's own addresses or a cloud metadata address"),
            )));
        }
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Connect::Io(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")));
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(s) => return Ok(s),
                Err(e) => last = e,
            }
        }
        Err(Connect::Io(last))
    }
}

enum Connect {
    Refused(Error),
    Io(io::Error),
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn random(buf: &mut [u8]) -> Result<()> {
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(buf)
        .map_err(|_| Error::new(crate::error::INTERNAL, "websocket: no random bytes"))
}

/// A masked client frame (RFC 6455 §5.2), FIN set.
fn frame(opcode: u8, payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let mut mask = [0u8; 4];
    random(&mut mask)?;
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    Ok(out)
}

/// The response head, up to its empty line, at most [`MAX_HEAD_BYTES`].
fn read_head(stream: &mut dyn Stream, deadline: Instant) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if Instant::now() >= deadline {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "handshake timed out"));
        }
        if head.len() >= MAX_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the handshake response head is longer than {MAX_HEAD_BYTES} bytes"),
            ));
        }
        match stream.read(&mut byte) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection was closed during the handshake")),
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// A 101 with `Upgrade: websocket`, `Connection: upgrade`, the accept
/// value of our key and, when the server names one, a protocol we asked.
fn check_handshake(head: &str, key: &str, protocols: &[&str]) -> std::result::Result<(), String> {
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split_whitespace().nth(1) != Some("101") {
        return Err(format!("the server did not switch to WebSocket: {status:?}"));
    }
    let headers: Vec<(String, &str)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim())).collect();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return Err("the handshake response has no Upgrade: websocket".into());
    }
    if !header("connection").is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case("upgrade"))) {
        return Err("the handshake response has no Connection: upgrade".into());
    }
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(ACCEPT_GUID.as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    if header("sec-websocket-accept") != Some(expected.as_str()) {
        return Err("the handshake's Sec-WebSocket-Accept does not match the key".into());
    }
    if let Some(chosen) = header("sec-websocket-protocol") {
        if !protocols.contains(&chosen) {
            return Err(format!("the server chose the sub-protocol {chosen:?}, which was not asked for"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_of_the_rfc_example() {
        // RFC 6455 §1.3: key dGhlIHNhbXBsZSBub25jZQ== → s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
        let head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(check_handshake(head, "dGhlIHNhbXBsZSBub25jZQ==", &[]), Ok(()));
        assert!(check_handshake(head, "AAAAAAAAAAAAAAAAAAAAAA==", &[]).is_err());
        let chose = head.replace("\r\n\r\n", "\r\nSec-WebSocket-Protocol: chat\r\n\r\n");
        assert!(check_handshake(&chose, "dGhlIHNhbXBsZSBub25jZQ==", &[]).is_err(), "a protocol not asked for");
        assert_eq!(check_handshake(&chose, "dGhlIHNhbXBsZSBub25jZQ==", &["chat"]), Ok(()));
        assert!(check_handshake("HTTP/1.1 200 OK\r\n\r\n", "x", &[]).is_err());
    }

    #[test]
    fn frames_are_masked_with_the_right_length() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let payload = vec![b'a'; len];
            let f = frame(0x1, &payload).unwrap();
            assert_eq!(f[0], 0x81);
            assert_eq!(f[1] & 0x80, 0x80, "masked");
            let (n, at) = match f[1] & 0x7f {
                126 => (u16::from_be_bytes([f[2], f[3]]) as usize, 4),
                127 => (u64::from_be_bytes(f[2..10].try_into().unwrap()) as usize, 10),
                n => (n as usize, 2),
            };
            assert_eq!(n, len);
            let mask = &f[at..at + 4];
            let unmasked: Vec<u8> = f[at + 4..].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
            assert_eq!(unmasked, payload);
        }
    }
}
