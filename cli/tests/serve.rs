//! `yaowasm serve` over loopback: routes, errors, live reload under traffic,
//! graceful shutdown.

mod common;

use common::TestApp;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A running `yaowasm serve` on a free loopback port, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(app: &TestApp, extra: &[&str]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
            .arg("serve")
            .arg(app.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("RUST_BACKTRACE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("yaowasm serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.trim().strip_prefix("listening on http://").unwrap_or_else(|| panic!("first line: {line:?}")).to_string();
        Server { child, addr }
    }

    fn call(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(&self.addr, method, path, body)
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop within 10 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection; (status, body).
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    // A server may answer (413) before reading everything: a failed write is
    // not the test's failure, the answer is.
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nX-Trace: t-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP response: {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("status line: {head}"));
    (status, body.to_string())
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

const API: &str = r#"// routes of the test app
{
  "name": "Test", "group": "t",
  "paths": [
    /* params, query, payload fields and headers */
    {"path": "/echo/:id", "method": "POST", "process": "scripts.t.Echo",
     "in": ["$param.id", "$query.q", "$payload.name", ":payload", "$header.x-trace"]},
    {"path": "/version", "method": "GET", "process": "scripts.t.Version", "out": {"type": "text/plain"}},
    {"path": "/fail", "method": "GET", "process": "scripts.t.Fail"},
    {"path": "/admin", "method": "GET", "process": "scripts.t.Version", "guard": "bearer-jwt"}
  ]
}"#;

#[test]
fn serves_processes_routes_and_errors() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let server = Server::start(&app, &[]);

    let (status, body) = server.call("GET", "/health", "");
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["status"], "ok");
    assert_eq!(json_of(&body)["scripts"], 2);
    assert_eq!(json_of(&body)["routes"], 3, "the guarded route is not served");

    let (status, body) = server.call("POST", "/api/process/scripts.t.Echo", r#"[{"name":"Ada"}, 2]"#);
    assert_eq!((status, json_of(&body)), (200, json!([{"name": "Ada"}, 2])));
    let (status, body) = server.call("POST", "/api/process/scripts.t.Echo", "");
    assert_eq!((status, json_of(&body)), (200, json!([])), "an empty body is no args");

    let (status, body) = server.call("POST", "/api/t/echo/42?q=hello%20world", r#"{"name":"Ada"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json_of(&body), json!(["42", "hello world", "Ada", {"name": "Ada"}, "t-1"]));
    let (status, body) = server.call("GET", "/api/t/version", "");
    assert_eq!((status, body.as_str()), (200, "v1"), "text/plain answers the string as it is");

    // Errors: {code, message}, the HTTP status from the code.
    let cases = [
        ("GET", "/api/t/fail", "", 418, "teapot"),
        ("POST", "/api/process/scripts.t.Echo", r#"{"a":1}"#, 400, "JSON array"),
        ("POST", "/api/process/scripts.t.Echo", "[1,", 400, "not JSON"),
        ("POST", "/api/process/scripts.nope.Go", "[]", 404, "no script nope"),
        ("POST", "/api/process/studio.thing", "[]", 404, "only scripts.*"),
        ("POST", "/api/process/scripts.t.CallHost", "[]", 404, "standalone yaowasm runtime"),
        ("GET", "/api/t/admin", "", 404, "no route"),
        ("GET", "/api/t/echo/1", "", 405, "not allowed"),
        ("POST", "/api/t/echo/1", "not json", 400, "not JSON"),
    ];
    for (method, path, body, code, needle) in cases {
        let (status, answer) = server.call(method, path, body);
        let answer = json_of(&answer);
        assert_eq!(status, code, "{method} {path}: {answer}");
        assert_eq!(answer["code"], code, "{method} {path}");
        assert!(answer["message"].as_str().unwrap().contains(needle), "{method} {path}: {answer}");
    }
    // Just past the 4 MiB default, so the unread rest fits the socket buffers.
    let big = format!("[\"{}\"]", "x".repeat((4 << 20) + 1000));
    assert_eq!(server.call("POST", "/api/process/scripts.t.Echo", &big).0, 413);
}

#[test]
fn stats_counts_calls_per_script() {
    let app = TestApp::new();
    let server = Server::start(&app, &["--no-watch"]);
    assert_eq!(server.call("POST", "/api/process/scripts.t.Echo", "[1]").0, 200);
    assert_eq!(server.call("POST", "/api/process/scripts.t.Echo", "[2]").0, 200);
    assert_eq!(server.call("POST", "/api/process/scripts.t.Fail", "[]").0, 418);

    let (status, body) = server.call("GET", "/stats", "");
    assert_eq!(status, 200, "{body}");
    let stats = json_of(&body);
    let ids: Vec<&str> = stats["scripts"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["j", "t"], "one entry per loaded script, sorted by id: {stats}");
    let t = &stats["scripts"][1];
    assert_eq!(t["calls"], 3, "{t}");
    assert_eq!(t["errors"], 1, "the 418 counts as an error: {t}");
    assert_eq!(t["timeouts"], 0, "{t}");
    assert!(t["busy_us"].is_u64(), "{t}");
    assert_eq!(stats["scripts"][0]["calls"], 0, "j was not called: {stats}");
    assert!(stats["instance_slots"].as_u64().unwrap() > 0, "{stats}");
    assert!(stats["instances_in_use"].is_u64(), "{stats}");

    // The same counters for a Prometheus scraper.
    let (status, text) = server.call("GET", "/metrics", "");
    assert_eq!(status, 200, "{text}");
    for line in ["yaowasm_calls_total{script=\"t\"} 3", "yaowasm_errors_total{script=\"t\"} 1", "yaowasm_calls_total{script=\"j\"} 0"] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.lines().any(|l| l.starts_with("yaowasm_instance_slots ")), "{text}");
}

#[test]
fn reloads_a_script_mid_traffic_without_failing_a_request() {
    let app = TestApp::new();
    let server = Server::start(&app, &[]);
    let addr = server.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop) = (addr.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(http(&addr, "POST", "/api/process/scripts.t.Version", "[]"));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    app.replace("scripts/t.wasm", common::guest("v2"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.call("POST", "/api/process/scripts.t.Version", "[]").1 != "\"v2\"" {
        assert!(Instant::now() < deadline, "the new version was not served within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (mut total, mut v1, mut v2) = (0, 0, 0);
    for client in clients {
        let seen = client.join().unwrap();
        let mut upgraded = false;
        for (status, body) in seen {
            total += 1;
            assert_eq!(status, 200, "a request failed during the reload: {body}");
            match body.as_str() {
                "\"v1\"" => {
                    assert!(!upgraded, "a client saw v1 after v2: the swap is not atomic");
                    v1 += 1;
                }
                "\"v2\"" => {
                    upgraded = true;
                    v2 += 1;
                }
                other => panic!("unexpected answer {other}"),
            }
        }
    }
    assert!(v1 > 0 && v2 > 0, "traffic on both versions: {v1} v1, {v2} v2 of {total}");
}

#[test]
fn reloads_routes_when_an_api_file_changes() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let server = Server::start(&app, &[]);
    assert_eq!(server.call("GET", "/api/t/v", "").0, 404);
    app.replace("apis/t.http.yao", API.replace("\"/version\"", "\"/v\""));
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.call("GET", "/api/t/v", "").0 != 200 {
        assert!(Instant::now() < deadline, "the new route was not served within 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.call("GET", "/api/t/version", "").0, 404);
}

#[test]
fn sigterm_finishes_requests_in_flight_then_exits_0() {
    let app = TestApp::new();
    let mut server = Server::start(&app, &["--config", r#"{"timeout_ms": 1500}"#]);
    let addr = server.addr.clone();
    let slow = std::thread::spawn(move || http(&addr, "POST", "/api/process/scripts.t.Spin", "[]"));
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let status = server.terminate();
    assert!(status.success(), "serve exits 0 on SIGTERM, got {status}");
    let (code, body) = slow.join().unwrap();
    assert_eq!(code, 408, "the call in flight got its own answer: {body}");
    assert!(started.elapsed() >= Duration::from_millis(500), "serve waited for the call in flight");
    assert!(TcpStream::connect(&server.addr).is_err(), "no longer listening");
}

#[test]
fn serve_error_paths() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
        .args(["serve", "/definitely/not/here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let app = TestApp::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
        .arg("serve")
        .arg(app.path())
        .args(["--listen", &addr, "--no-watch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a port in use is bad input");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot listen"));
}
