//! Regressions of the hostile review's holes in the stores and the http host
//! API (SECURITY.md; RELIABILITY.md rows S4, S5, S6, S7, S9, S10): each test
//! here failed on the code before its fix.
//!
//! - S4: a memory store has a byte budget; a key has a length cap.
//! - S5: a `*.domain` entry never reaches the machine's own addresses.
//! - S6: a guest cannot set `Host` or framing / hop-by-hop headers.
//! - S7: an upload has a file cap and opens its files one at a time.
//! - S9: default Redis prefixes of two store names never overlap.
//! - S10: an http body read or upload stops at the call's deadline.

mod common;

use common::{fields, json, mp, wasm, write, ALLOC, FIELDS, HOST_API_IMPORTS, PACK};
use serde_json::{json, Value as Json};
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yaowasm::{Error, Runtime};

/// The `api` guest of tests/host_api.rs: one bin arg of length-prefixed
/// fields (u32 LE length, then bytes), handed to an import unchanged.
fn api_wat() -> String {
    format!(
        r#"(module
  {HOST_API_IMPORTS}
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  {FIELDS}
  (func (export "Store") (param $b i32) (param i32) (result i64)
    (call $store (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                 (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
                 (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))))
  (func (export "StoreSet") (param $b i32) (param i32) (result i64)
    (call $store_set (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
                     (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))
                     (i64.const 0)))
  (func (export "StoreGet") (param $b i32) (param i32) (result i64)
    (call $store_get (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                     (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
  (func (export "Http") (param $b i32) (param i32) (result i64)
    (call $http (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
                (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))))
)"#
    )
}

fn runtime(config: &Json) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "api.wasm", &wasm(&api_wat()));
    let rt = Runtime::from_json(Some(&config.to_string())).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 1, "{:?}", report.problems);
    (rt, dir)
}

fn exec(rt: &Runtime, function: &str, parts: &[&[u8]]) -> Result<Json, Error> {
    rt.exec(&format!("scripts.api.{function}"), &fields(parts)).map(|r| json(&r))
}

fn store(rt: &Runtime, name: &str, method: &str, args: Json) -> Result<Json, Error> {
    exec(rt, "Store", &[name.as_bytes(), method.as_bytes(), &mp(&args)])
}

/// `store_set(name, key, bin(value))` through the fast path.
fn store_set_bytes(rt: &Runtime, name: &str, key: &str, len: usize) -> Result<Json, Error> {
    let mut value = Vec::with_capacity(len + 5);
    rmp::encode::write_bin(&mut value, &vec![7u8; len]).unwrap();
    exec(rt, "StoreSet", &[name.as_bytes(), key.as_bytes(), &value])
}

fn http(rt: &Runtime, method: &str, args: Json) -> Result<Json, Error> {
    exec(rt, "Http", &[method.as_bytes(), &mp(&args)])
}

fn code(result: Result<Json, Error>) -> i32 {
    match result {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => e.code(),
    }
}

const MIB: usize = 1 << 20;

// ------------------------------------------------------------------ S4

/// The review's attack, scaled down: big values under ever new keys. A
/// store keeps at most its `max_bytes` (moka evicts past it), one value
/// larger than the whole budget is a 413, and a key has a length cap.
#[test]
fn s4_memory_store_has_a_byte_budget() {
    let (rt, _dir) = runtime(&json!({"max_memory_mb": 64, "timeout_ms": 20000, "stores": {"small": {"max_bytes": 4 * MIB}}}));
    for i in 0..40 {
        store_set_bytes(&rt, "small", &format!("k{i}"), 512 * 1024).unwrap();
    }
    let len = store(&rt, "small", "Len", json!([])).unwrap().as_u64().unwrap();
    assert!(len <= 8, "4 MiB holds at most 8 values of 512 KiB, the store kept {len}");
    assert!(len >= 1, "the store still works");
    // One value over the whole budget: 413, and nothing is stored.
    let err = store_set_bytes(&rt, "small", "huge", 5 * MIB).unwrap_err();
    assert_eq!(err.code(), 413, "{err}");
    assert!(err.message().contains("max_bytes"), "{err}");
    assert_eq!(store(&rt, "small", "Has", json!(["huge"])).unwrap(), json!(false));
    // Keys: up to 1024 bytes; longer is a 413, by every path.
    store(&rt, "small", "Set", json!(["k".repeat(1024), 1])).unwrap();
    assert_eq!(code(store(&rt, "small", "Set", json!(["k".repeat(1025), 1]))), 413);
    assert_eq!(code(store_set_bytes(&rt, "small", &"k".repeat(1025), 1)), 413);
    assert_eq!(code(store(&rt, "small", "GetSet", json!(["k".repeat(1025), 1]))), 413);
    // The config key is checked.
    for bad in [json!({"stores": {"s": {"max_bytes": 0}}}), json!({"stores": {"s": {"backend": "process", "max_bytes": 5}}})] {
        assert_eq!(Runtime::from_json(Some(&bad.to_string())).err().map(|e| e.code()), Some(400), "{bad}");
    }
}

/// Stores that are not in the config (a guest can invent up to 1024 names)
/// share one budget: past it, a Set is a 413, not growth.
#[test]
fn s4_unconfigured_stores_share_one_budget() {
    let (rt, _dir) = runtime(&json!({"max_memory_mb": 64, "timeout_ms": 20000}));
    let mut refused = None;
    for i in 0..40 {
        match store_set_bytes(&rt, &format!("invented{i}"), "k", 4 * MIB) {
            Ok(_) => {}
            Err(e) => {
                assert_eq!(e.code(), 413, "{e}");
                refused = Some(i);
                break;
            }
        }
    }
    let refused = refused.expect("40 stores of 4 MiB each are refused before the last");
    assert!(refused <= 17, "refused only at store {refused}: more than 64 MiB were kept");
    // Freeing room lets the next one in.
    store(&rt, "invented0", "Clear", json!([])).unwrap();
    store_set_bytes(&rt, &format!("invented{refused}"), "k", 4 * MIB).unwrap();
}

// ------------------------------------------------------------------ http servers

/// Raw requests a test server saw.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

/// A server on `addr` that counts connections and answers every request
/// 200 "ok" after reading its head (and its Content-Length body), keeping the
/// raw requests it saw.
fn recording_server(addr: &str) -> (u16, Arc<AtomicUsize>, Seen) {
    let listener = TcpListener::bind(addr).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, seen) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let (count, record) = (accepted.clone(), seen.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let record = record.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut reader = BufReader::new(&stream);
                let mut raw = Vec::new();
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    raw.extend_from_slice(line.as_bytes());
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        raw.extend_from_slice(&body);
                        break;
                    }
                }
                record.lock().unwrap().push(raw);
                let _ = (&stream).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            });
        }
    });
    (port, accepted, seen)
}

// ------------------------------------------------------------------ S5

/// This machine's first IPv4 address that is not loopback (eth0's), from
/// getifaddrs.
fn an_interface_address() -> Option<std::net::Ipv4Addr> {
    let mut found = None;
    unsafe {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        if libc::getifaddrs(&mut list) != 0 {
            return None;
        }
        let mut at = list;
        while !at.is_null() {
            let addr = (*at).ifa_addr;
            if !addr.is_null() && i32::from((*addr).sa_family) == libc::AF_INET {
                let sin = &*(addr as *const libc::sockaddr_in);
                let ip = std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
                if !ip.is_loopback() && !ip.is_link_local() && found.is_none() {
                    found = Some(ip);
                }
            }
            at = (*at).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    found
}

/// The review's case: a `*.domain` name that resolves to one of the host's
/// own interface addresses (not loopback) reached a service bound to all
/// interfaces. The wildcard `*.<last three octets>` matches the address
/// written as a name, so no lookup leaves the machine (as in host_api.rs).
#[test]
fn s5_a_wildcard_never_reaches_the_hosts_own_interface_addresses() {
    let Some(ip) = an_interface_address() else {
        eprintln!("no non-loopback IPv4 interface here: nothing to test");
        return;
    };
    let (port, accepted, _) = recording_server("0.0.0.0:0");
    let octets = ip.octets();
    let wildcard = format!("*.{}.{}.{}", octets[1], octets[2], octets[3]);
    let url = format!("http://{ip}:{port}/");
    let (rt, _dir) = runtime(&json!({"http_allow": [wildcard], "timeout_ms": 5000}));
    let err = http(&rt, "Get", json!([url])).unwrap_err();
    assert_eq!(err.code(), 403, "{err}");
    assert!(err.to_string().contains("allowed only by a *.domain entry"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "refused before connecting");
    // Named exactly, the operator means it: reached.
    let (exact, _dir) = runtime(&json!({"http_allow": [format!("{ip}:{port}")], "timeout_ms": 5000}));
    assert_eq!(http(&exact, "Get", json!([url])).unwrap()["status"], json!(200));
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

// ------------------------------------------------------------------ S6

/// `Host`, the framing headers and the hop-by-hop headers are the client's:
/// a guest's are refused (400), in any case, and nothing is sent.
#[test]
fn s6_a_guest_cannot_set_host_or_framing_headers() {
    let (port, accepted, seen) = recording_server("127.0.0.1:0");
    let (rt, _dir) = runtime(&json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 5000}));
    let url = format!("http://127.0.0.1:{port}/");
    let refused = [
        json!({"Host": "admin.internal.corp"}),
        json!({"host": "admin.internal.corp"}),
        json!({"Transfer-Encoding": "chunked", "Content-Length": "3"}),
        json!({"Content-Length": "3"}),
        json!({"TRANSFER-ENCODING": "chunked"}),
        json!({"Connection": "keep-alive, X-Secret"}),
        json!({"Keep-Alive": "timeout=5"}),
        json!({"Proxy-Connection": "keep-alive"}),
        json!({"TE": "trailers"}),
        json!({"Trailer": "X-Sig"}),
        json!({"Upgrade": "websocket"}),
        json!({"X-Ok": "a\r\nHost: evil"}),
        json!({"X-Ok": "a\u{0}b"}),
        json!({"X-Ok\r\nHost": "evil"}),
    ];
    for headers in refused {
        let err = http(&rt, "Post", json!([url, "abc", null, null, headers])).unwrap_err();
        assert_eq!(err.code(), 400, "{headers}: {err}");
        let err = http(&rt, "Get", json!([url, null, headers])).unwrap_err();
        assert_eq!(err.code(), 400, "{headers}: {err}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 0, "nothing was sent");
    // Other headers go through; Host is the URL's.
    let got = http(&rt, "Post", json!([url, "abc", null, null, {"X-Token": "t", "Content-Type": "text/csv"}])).unwrap();
    assert_eq!(got["status"], json!(200));
    let raw = String::from_utf8(seen.lock().unwrap()[0].clone()).unwrap();
    let lower = raw.to_ascii_lowercase();
    assert!(lower.contains(&format!("\r\nhost: 127.0.0.1:{port}\r\n")), "{raw}");
    assert!(lower.contains("\r\nx-token: t\r\n") && lower.contains("\r\ncontent-length: 3\r\n"), "{raw}");
    assert!(!lower.contains("transfer-encoding"), "{raw}");
}

// ------------------------------------------------------------------ S7

/// Descriptors of this process open on files under `dir` (not `dir`
/// itself: the runtime holds its fs roots open).
fn open_fds_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .flatten()
        .filter(|e| std::fs::read_link(e.path()).is_ok_and(|target| target.starts_with(dir) && target != dir))
        .count()
}

/// A server that reads a request's body slowly (64 KiB every ms or so),
/// noting the most descriptors under `dir` it saw open meanwhile.
fn slow_reading_server(dir: std::path::PathBuf) -> (u16, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (count, peak) = (accepted.clone(), most.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let (peak, dir) = (peak.clone(), dir.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut reader = BufReader::with_capacity(1024, &stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    if line == "\r\n" {
                        break;
                    }
                }
                let mut buf = vec![0u8; 64 * 1024];
                while length > 0 {
                    let n = match reader.read(&mut buf[..length.min(64 * 1024)]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    length -= n;
                    peak.fetch_max(open_fds_under(&dir), Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(1));
                }
                let _ = (&stream).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            });
        }
    });
    (port, accepted, most)
}

/// The review's case: many files in one upload were all opened before the
/// first byte was sent and held for the whole request. Now a file is open
/// only while its part is being sent, and `http_max_upload_files` caps the
/// count (413 before anything is sent).
#[test]
fn s7_uploads_open_files_one_at_a_time_and_cap_their_number() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // Canonical, as /proc/self/fd shows targets.
    let data = data.canonicalize().unwrap();
    let mut files = serde_json::Map::new();
    // 20 MiB in all: more than the sockets buffer, so the sender waits on
    // the reader while files are open.
    for i in 0..40 {
        std::fs::write(data.join(format!("f{i}.bin")), vec![b'x'; 512 * 1024]).unwrap();
        files.insert(format!("f{i}"), json!(format!("f{i}.bin")));
    }
    let (port, accepted, most) = slow_reading_server(data.clone());
    let config = json!({"http_allow": [format!("127.0.0.1:{port}")], "fs": {"data": &data}, "timeout_ms": 20000,
                        "http_max_upload_files": 40});
    let (rt, _dir) = runtime(&config);
    let url = format!("http://127.0.0.1:{port}/");
    let got = http(&rt, "Post", json!([url, null, files])).unwrap();
    assert_eq!(got["status"], json!(200));
    let most = most.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} upload files were open at once");
    assert_eq!(open_fds_under(&data), 0, "every file is closed after the request");
    // One file over the cap: 413, the server never contacted.
    let (capped, _dir) = runtime(&json!({"http_allow": [format!("127.0.0.1:{port}")], "fs": {"data": &data}, "http_max_upload_files": 39}));
    let err = http(&capped, "Post", json!([url, null, files])).unwrap_err();
    assert_eq!(err.code(), 413, "{err}");
    assert!(err.message().contains("http_max_upload_files"), "{err}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    for bad in [json!({"http_max_upload_files": 0}), json!({"http_max_upload_files": 10001})] {
        assert_eq!(Runtime::from_json(Some(&bad.to_string())).err().map(|e| e.code()), Some(400), "{bad}");
    }
}

// ------------------------------------------------------------------ S9

struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// A redis-server on a free port of 127.0.0.1 (as tests/host_api.rs).
    fn start() -> RedisServer {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian package redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                s.write_all(b"PING\r\n").unwrap();
                let mut line = String::new();
                if BufReader::new(&s).read_line(&mut line).is_ok() && line.starts_with("+PONG") {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisServer { child, port, _dir: dir }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The review's case: stores `a` and `a:b` on one Redis, with default
/// prefixes: `a` listed and read `a:b`'s keys and its Clear wiped them.
#[test]
fn s9_default_redis_prefixes_never_overlap() {
    let server = RedisServer::start();
    let config = json!({"stores": {"a": {"backend": "redis", "url": server.url()}, "a:b": {"backend": "redis", "url": server.url()},
                                   "a:": {"backend": "redis", "url": server.url()}}});
    let (rt, _dir) = runtime(&config);
    store(&rt, "a:b", "Set", json!(["k", "of a:b"])).unwrap();
    store(&rt, "a:", "Set", json!(["b:k", "of a:"])).unwrap();
    store(&rt, "a", "Set", json!(["mine", 1])).unwrap();
    assert_eq!(store(&rt, "a", "Keys", json!([])).unwrap(), json!(["mine"]));
    assert_eq!(store(&rt, "a", "Get", json!(["b:k"])).unwrap(), Json::Null, "a does not read a:b's key");
    assert_eq!(store(&rt, "a", "Len", json!([])).unwrap(), json!(1));
    store(&rt, "a", "Clear", json!([])).unwrap();
    assert_eq!(store(&rt, "a:b", "Keys", json!([])).unwrap(), json!(["k"]), "Clear of a leaves a:b");
    assert_eq!(store(&rt, "a:", "Get", json!(["b:k"])).unwrap(), json!("of a:"));
    assert_eq!(store(&rt, "a:b", "Get", json!(["k"])).unwrap(), json!("of a:b"), "a: and a:b apart too");
}

// ------------------------------------------------------------------ S10

/// A server that sends a head promising 1 MB (by Content-Length, or
/// chunked), then one byte every 50 ms.
fn trickling_server(chunked: bool) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let framing = if chunked { "Transfer-Encoding: chunked" } else { "Content-Length: 1000000" };
                let _ = (&stream).write_all(format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n{framing}\r\n\r\n").as_bytes());
                let piece: &[u8] = if chunked { b"1\r\nx\r\n" } else { b"x" };
                for _ in 0..600 {
                    if (&stream).write_all(piece).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            });
        }
    });
    port
}

/// A body that trickles forever ends at the call's `timeout_ms` with a 408,
/// not at `http_timeout_ms` (30 s).
#[test]
fn s10_a_trickled_body_ends_at_the_calls_deadline() {
    for chunked in [false, true] {
        let port = trickling_server(chunked);
        let (rt, _dir) =
            runtime(&json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 600, "http_max_response_bytes": 2000000}));
        let started = Instant::now();
        let err = http(&rt, "Get", json!([format!("http://127.0.0.1:{port}/")])).unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.code(), 408, "chunked {chunked}: {err}");
        assert!(err.message().contains("ms"), "{err}");
        assert!(took < Duration::from_millis(1500), "chunked {chunked}: took {took:?} for a 600 ms call");
    }
}

/// An upload to a server that never reads, or reads slowly (so that each
/// write makes a little progress and a socket timeout never fires), ends at
/// the call's deadline (408).
#[test]
fn s10_an_upload_to_a_slow_reader_ends_at_the_deadline() {
    for reads in [false, true] {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut stream in listener.incoming().flatten() {
                if reads {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 2048];
                        let started = Instant::now();
                        while started.elapsed() < Duration::from_secs(30) {
                            if matches!(stream.read(&mut buf), Ok(0) | Err(_)) {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    });
                } else {
                    held.push(stream);
                }
            }
        });
        let base = tempfile::tempdir().unwrap();
        let data = base.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("big.bin"), vec![b'x'; 32 * MIB]).unwrap();
        let (rt, _dir) = runtime(&json!({"http_allow": [format!("127.0.0.1:{port}")], "fs": {"data": &data}, "timeout_ms": 600}));
        let started = Instant::now();
        let err = http(&rt, "Post", json!([format!("http://127.0.0.1:{port}/"), null, {"f": "big.bin"}])).unwrap_err();
        let took = started.elapsed();
        assert_eq!(err.code(), 408, "reads {reads}: {err}");
        assert!(took < Duration::from_millis(1500), "reads {reads}: took {took:?} for a 600 ms call");
    }
}
