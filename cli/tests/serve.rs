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
        Server::start_env(app, extra, &[])
    }

    /// `start` with extra environment variables.
    fn start_env(app: &TestApp, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
            .arg("serve")
            .arg(app.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env_remove("RUST_BACKTRACE")
            .env_remove("YAOWASM_PROCESS_API_TOKEN")
            .env_remove("YAO_JWT_SECRET")
            .envs(env.iter().copied())
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

    /// A request with exactly these headers (plus Host, unless given).
    fn call_with(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
        http_with(&self.addr, method, path, headers, body)
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
    http_with(addr, method, path, &[("Content-Type", "application/json"), ("X-Trace", "t-1")], body)
}

/// `http` with these headers (a Host of `addr` unless one is given).
fn http_with(addr: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    // A server may answer (413) before reading everything: a failed write is
    // not the test's failure, the answer is.
    let _ = write!(stream, "{head}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
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
    let server = Server::start(&app, &["--process-api"]);

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
    let server = Server::start(&app, &["--no-watch", "--process-api"]);
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
    let pagemap = u8::from(stats["memory_reset"] == "pagemap");
    assert!(text.lines().any(|l| l == format!("yaowasm_memory_reset_pagemap {pagemap}")), "{stats}\n{text}");
}

#[test]
fn reloads_a_script_mid_traffic_without_failing_a_request() {
    let app = TestApp::new();
    let server = Server::start(&app, &["--process-api"]);
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
    let mut server = Server::start(&app, &["--process-api", "--config", r#"{"timeout_ms": 1500}"#]);
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
fn log_format_json_prints_one_object_per_line() {
    let app = TestApp::new();
    app.write("scripts/orders.wasm", common::log_guest());
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
        .arg("serve")
        .arg(app.path())
        .args(["--listen", "127.0.0.1:0", "--process-api", "--no-watch", "--log-format", "json"])
        .env_remove("RUST_BACKTRACE")
        .env_remove("YAOWASM_PROCESS_API_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addr = line.trim().strip_prefix("listening on http://").unwrap().to_string();
    assert_eq!(http(&addr, "POST", "/api/process/scripts.orders.Total", "[]"), (200, "null".to_string()));
    let mut server = Server { child, addr };
    assert!(server.terminate().success());
    let mut stderr = String::new();
    server.child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let lines: Vec<Value> =
        stderr.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}"))).collect();
    for l in &lines {
        let time = l["time"].as_str().unwrap();
        assert!(time.len() == 24 && time.ends_with('Z') && &time[10..11] == "T", "RFC 3339 UTC: {time}");
        assert_eq!(l.as_object().unwrap().len(), 4, "time, level, script, message: {l}");
    }
    let record = lines.iter().find(|l| l["script"] == "scripts.orders.Total").unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!((&record["level"], &record["message"]), (&json!("info"), &json!("total computed")));
    assert!(lines.iter().any(|l| l["script"].is_null() && l["message"].as_str().unwrap().contains("script(s)")), "serve's own lines too");
}

#[test]
fn serve_error_paths() {
    let out = Command::new(assert_cmd::cargo::cargo_bin("yaowasm")).args(["serve", "/definitely/not/here"]).output().unwrap();
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

// ---- Access control (hostile review, hole 2: serve ran any process for anyone) ----

/// A token file in the app's folder.
fn token_file(app: &TestApp, token: &str) -> String {
    app.write("token", format!("{token}\n"));
    app.file("token").to_string_lossy().into_owned()
}

const TOKEN: &str = "s3cret-token-0123456789abcdef";

#[test]
fn process_api_is_off_by_default() {
    let app = TestApp::new();
    let server = Server::start(&app, &["--no-watch"]);
    let (status, body) = server.call("POST", "/api/process/scripts.t.Echo", "[1]");
    assert_eq!(status, 404, "{body}");
    assert!(json_of(&body)["message"].as_str().unwrap().contains("--process-api"), "says how to turn it on: {body}");
}

#[test]
fn process_api_on_loopback_without_a_token() {
    let app = TestApp::new();
    let server = Server::start(&app, &["--no-watch", "--process-api"]);
    let (status, body) = server.call("POST", "/api/process/scripts.t.Echo", "[1]");
    assert_eq!((status, json_of(&body)), (200, json!([1])));
}

#[test]
fn process_api_with_a_token_needs_the_bearer() {
    let app = TestApp::new();
    let file = token_file(&app, TOKEN);
    let from_file = Server::start(&app, &["--no-watch", "--process-api", "--process-api-token-file", &file]);
    let from_env = Server::start_env(&app, &["--no-watch", "--process-api"], &[("YAOWASM_PROCESS_API_TOKEN", TOKEN)]);
    let right = format!("Bearer {TOKEN}");
    let almost = format!("Bearer {}x", TOKEN);
    let short = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    for server in [&from_file, &from_env] {
        let json = ("Content-Type", "application/json");
        for auth in [None, Some("Bearer nope"), Some(almost.as_str()), Some(short.as_str()), Some(TOKEN), Some("Basic YTpi")] {
            let mut headers = vec![json];
            if let Some(a) = auth {
                headers.push(("Authorization", a));
            }
            let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &headers, "[1]");
            assert_eq!(status, 401, "Authorization {auth:?}: {body}");
            assert_eq!(json_of(&body)["code"], 401);
        }
        let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &[json, ("Authorization", &right)], "[1]");
        assert_eq!((status, json_of(&body)), (200, json!([1])));
    }
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let server = Server::start(&app, &["--no-watch", "--process-api"]);
    // What an HTML form or a no-preflight fetch() from any web page can send.
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        for path in ["/api/process/scripts.t.Echo", "/api/t/echo/1"] {
            let (status, body) = server.call_with("POST", path, &[("Content-Type", ct)], r#"[{"name":"Ada"}]"#);
            assert_eq!(status, 415, "{ct} to {path}: {body}");
            assert_eq!(json_of(&body)["code"], 415);
        }
    }
    let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &[], "[1]");
    assert_eq!(status, 415, "a body without a Content-Type: {body}");
    let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &[("Content-Type", "text/plain")], "");
    assert_eq!(status, 415, "text/plain, even empty: {body}");
    let (status, _) =
        server.call_with("POST", "/api/process/scripts.t.Echo", &[("Content-Type", "application/json; charset=utf-8")], "[1]");
    assert_eq!(status, 200);
    let (status, _) = server.call_with("POST", "/api/process/scripts.t.Echo", &[], "");
    assert_eq!(status, 200, "no body, no Content-Type (curl -X POST)");
}

#[test]
fn a_foreign_host_is_421() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let server = Server::start(&app, &["--no-watch", "--process-api", "--allow-host", "api.example.com"]);
    let port = server.addr.rsplit_once(':').unwrap().1.to_string();
    let json = ("Content-Type", "application/json");
    // DNS rebinding: the attacker's name now points at 127.0.0.1.
    for host in [format!("evil.example:{port}"), "evil.example".into(), format!("localhost.evil.example:{port}"), String::new()] {
        for (method, path) in [("GET", "/health"), ("GET", "/stats"), ("POST", "/api/process/scripts.t.Echo"), ("GET", "/api/t/version")] {
            let (status, body) = server.call_with(method, path, &[json, ("Host", &host)], if method == "POST" { "[1]" } else { "" });
            assert_eq!(status, 421, "Host {host:?} {method} {path}: {body}");
        }
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "api.example.com".into(), format!("API.example.com:{port}")] {
        let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &[json, ("Host", &host)], "[1]");
        assert_eq!(status, 200, "Host {host:?}: {body}");
    }
}

#[test]
fn a_foreign_origin_is_403() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let server = Server::start(&app, &["--no-watch", "--process-api"]);
    let port = server.addr.rsplit_once(':').unwrap().1.to_string();
    let json = ("Content-Type", "application/json");
    let other_port = format!("http://127.0.0.1:{}", port.parse::<u16>().unwrap() - 1);
    for origin in ["http://evil.example", "null", "file://", other_port.as_str(), "ftp://127.0.0.1"] {
        for (method, path, body) in
            [("POST", "/api/process/scripts.t.Echo", "[1]"), ("POST", "/api/t/echo/1", "{}"), ("GET", "/api/t/version", "")]
        {
            let (status, answer) = server.call_with(method, path, &[json, ("Origin", origin)], body);
            assert_eq!(status, 403, "Origin {origin} {method} {path}: {answer}");
        }
    }
    let same = format!("http://{}", server.addr);
    let (status, body) = server.call_with("POST", "/api/process/scripts.t.Echo", &[json, ("Origin", &same)], "[1]");
    assert_eq!(status, 200, "same origin: {body}");
}

#[test]
fn a_guarded_routes_process_is_not_reachable_through_the_process_api() {
    let app = TestApp::new();
    app.write("apis/t.http.yao", API);
    let file = token_file(&app, TOKEN);
    let bearer = format!("Bearer {TOKEN}");
    for extra in [vec!["--process-api"], vec!["--process-api", "--ignore-guards"], vec!["--process-api", "--process-api-token-file", &file]]
    {
        let mut args = vec!["--no-watch"];
        args.extend(extra.iter().copied());
        let server = Server::start(&app, &args);
        let headers = [("Content-Type", "application/json"), ("Authorization", bearer.as_str())];
        // /api/t/admin runs scripts.t.Version behind "guard": "bearer-jwt".
        for name in ["scripts.t.Version", "Scripts.T.Version", "SCRIPTS.t.Version"] {
            let (status, body) = server.call_with("POST", &format!("/api/process/{name}"), &headers, "[]");
            assert_eq!(status, 403, "{args:?} {name}: {body}");
            assert!(json_of(&body)["message"].as_str().unwrap().contains("guard"), "{body}");
        }
        assert_eq!(server.call_with("POST", "/api/process/scripts.t.Echo", &headers, "[]").0, 200, "{args:?}");
    }
}

#[test]
fn stats_and_metrics_need_the_token_when_one_is_set() {
    let app = TestApp::new();
    let open = Server::start(&app, &["--no-watch"]);
    for path in ["/stats", "/metrics", "/health"] {
        assert_eq!(open.call("GET", path, "").0, 200, "{path} from loopback, no token configured");
    }
    let file = token_file(&app, TOKEN);
    let locked = Server::start(&app, &["--no-watch", "--process-api-token-file", &file]);
    let bearer = format!("Bearer {TOKEN}");
    for path in ["/stats", "/metrics"] {
        let (status, body) = locked.call("GET", path, "");
        assert_eq!(status, 401, "{path} without the token: {body}");
        assert_eq!(locked.call_with("GET", path, &[("Authorization", "Bearer wrong")], "").0, 401, "{path}");
        assert_eq!(locked.call_with("GET", path, &[("Authorization", &bearer)], "").0, 200, "{path} with the token");
    }
    assert_eq!(locked.call("GET", "/health", "").0, 200, "/health stays open");
    let (status, body) =
        locked.call_with("POST", "/api/process/scripts.t.Echo", &[("Authorization", &bearer), ("Content-Type", "application/json")], "[]");
    assert_eq!(status, 404, "a token alone does not turn the process API on: {body}");
}

#[test]
fn process_api_on_a_public_address_needs_a_token() {
    let app = TestApp::new();
    let out = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
        .arg("serve")
        .arg(app.path())
        .args(["--listen", "0.0.0.0:0", "--no-watch", "--process-api"])
        .env_remove("YAOWASM_PROCESS_API_TOKEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "refused as bad input: {stderr}");
    assert!(stderr.contains("YAOWASM_PROCESS_API_TOKEN") && stderr.contains("--process-api-token-file"), "says how: {stderr}");
    assert!(out.stdout.is_empty(), "never listened");

    // A token too short to be one is refused too.
    let file = token_file(&app, "short");
    let out = Command::new(assert_cmd::cargo::cargo_bin("yaowasm"))
        .arg("serve")
        .arg(app.path())
        .args(["--listen", "127.0.0.1:0", "--no-watch", "--process-api", "--process-api-token-file", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));

    let help = Command::new(assert_cmd::cargo::cargo_bin("yaowasm")).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("0.0.0.0") && help.contains("every network"), "--help says what 0.0.0.0 exposes: {help}");
}

// ---- Guards (issue 20): bearer-jwt, cookie-jwt, query-jwt and process guards ----

/// scripts/g.wasm: `Ctx` answers its call context (`yao.context`), `Pass`
/// (a guard) answers `{"sid": "g-1", "__global": {"args": <its args>}}`,
/// `Deny` (a guard) raises `{code: 403, message: "denied"}`.
fn guard_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "yao" "context" (func $context (result i64)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  ;; {"sid": "g-1", "__global": {"args": ...}: 24 bytes
  (data (i32.const 16) "\82\a3sid\a3g-1\a8__global\81\a4args")
  ;; {"code": 403, "message": "denied"}: 24 bytes
  (data (i32.const 64) "\82\a4code\cd\01\93\a7message\a6denied")
  (func $alloc (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "Ctx") (param i32 i32) (result i64) (call $context))
  (func (export "Pass") (param $p i32) (param $n i32) (result i64)
    (local $out i32)
    (local.set $out (call $alloc (i32.add (local.get $n) (i32.const 24))))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 24))
    (memory.copy (i32.add (local.get $out) (i32.const 24)) (local.get $p) (local.get $n))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $out)) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $n) (i32.const 24)))))
  (func (export "Deny") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 0x80000018))))"#,
    )
    .expect("guard guest assembles")
}

const GUARDED_API: &str = r#"{
  "group": "g",
  "guard": "bearer-jwt",
  "paths": [
    {"path": "/me", "method": "GET", "process": "scripts.g.Ctx"},
    {"path": "/q", "method": "GET", "process": "scripts.g.Ctx", "guard": "query-jwt"},
    {"path": "/c", "method": "GET", "process": "scripts.g.Ctx", "guard": "cookie-jwt"},
    {"path": "/p/:id", "method": "POST", "process": "scripts.g.Ctx", "guard": "scripts.g.Pass"},
    {"path": "/deny", "method": "GET", "process": "scripts.g.Ctx", "guard": "scripts.g.Deny"},
    {"path": "/both", "method": "GET", "process": "scripts.g.Ctx", "guard": "bearer-jwt, scripts.g.Pass"},
    {"path": "/widget", "method": "GET", "process": "scripts.g.Ctx", "guard": "widget-table"},
    {"path": "/open", "method": "GET", "process": "scripts.g.Ctx", "guard": "-"}
  ]
}"#;

const JWT_SECRET: &str = "the-app-secret-0123456789";

/// An HS256 token as Yao's `utils.jwt.Make` makes it, expiring `ttl` seconds
/// from now (negative: already expired).
fn yao_token(secret: &str, ttl: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({"id": 7, "sid": "S-1", "data": {"role": "admin"}, "jti": "7", "sub": "User Token",
        "aud": "Yao Process utils.jwt.Make", "iss": "xiang:7", "exp": now + ttl, "nbf": now - 5, "iat": now - 5});
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

fn guard_app() -> TestApp {
    let app = TestApp::new();
    app.write("scripts/g.wasm", guard_guest());
    app.write("apis/g.http.yao", GUARDED_API);
    app
}

#[test]
fn jwt_guards_verify_the_token_and_give_its_claims_to_the_script() {
    let app = guard_app();
    let server = Server::start_env(&app, &["--no-watch"], &[("YAO_JWT_SECRET", JWT_SECRET)]);
    let token = yao_token(JWT_SECRET, 3600);
    let expected = json!({"sid": "S-1", "global": {},
        "authorized": {"session_id": "S-1", "user_id": 7, "sub": "User Token", "data": {"role": "admin"}}});

    let bearer = format!("Bearer {token}");
    let cookie = format!("theme=dark; __tk={token}");
    let query = format!("/api/g/q?__tk={token}");
    for (path, headers) in
        [("/api/g/me", vec![("Authorization", bearer.as_str())]), ("/api/g/c", vec![("Cookie", cookie.as_str())]), (query.as_str(), vec![])]
    {
        let (status, body) = server.call_with("GET", path, &headers, "");
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(json_of(&body), expected, "{path}: Authorized() sees the token's session and user");
    }

    // No token: Yao's 403 "Not Authorized"; a token that does not verify: 401 "Invalid token".
    let expired = format!("Bearer {}", yao_token(JWT_SECRET, -10));
    let forged = format!("Bearer {}", yao_token("another-secret-0123456789", 3600));
    let mut tampered = bearer.clone();
    tampered.insert(bearer.len() - 3, 'x');
    let cases: [(&str, Option<&str>, u16, &str); 6] = [
        ("/api/g/me", None, 403, "Not Authorized"),
        // HTTP trims the header to "Bearer", which is then the token (as on Yao).
        ("/api/g/me", Some("Bearer "), 401, "Invalid token"),
        ("/api/g/me", Some(expired.as_str()), 401, "Invalid token"),
        ("/api/g/me", Some(forged.as_str()), 401, "Invalid token"),
        ("/api/g/me", Some(tampered.as_str()), 401, "Invalid token"),
        ("/api/g/q?__tk=", None, 403, "Not Authorized"),
    ];
    for (path, auth, code, needle) in cases {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let (status, body) = server.call_with("GET", path, &headers, "");
        assert_eq!(status, code, "{path} {auth:?}: {body}");
        assert_eq!(json_of(&body)["code"], code);
        assert!(json_of(&body)["message"].as_str().unwrap().contains(needle), "{body}");
    }
    let (status, body) = server.call_with("GET", "/api/g/c", &[("Cookie", &format!("__tk={}", yao_token(JWT_SECRET, -10)))], "");
    assert_eq!(status, 401, "an expired cookie token: {body}");

    // A public route of the same file has no context; an unknown guard is not served.
    let (status, body) = server.call("GET", "/api/g/open", "");
    assert_eq!((status, json_of(&body)), (200, json!({"sid": "", "global": {}, "authorized": null})));
    assert_eq!(server.call_with("GET", "/api/g/widget", &[("Authorization", &bearer)], "").0, 404, "widget-table is not served");
    let (_, health) = server.call("GET", "/health", "");
    assert_eq!(json_of(&health)["routes"], 7, "{health}");
}

#[test]
fn process_guards_run_first_with_yaos_args_and_end_the_request_with_their_error() {
    let app = guard_app();
    let server = Server::start_env(&app, &["--no-watch"], &[("YAO_JWT_SECRET", JWT_SECRET)]);
    let (status, body) =
        server.call_with("POST", "/api/g/p/5?q=1&q=2", &[("Content-Type", "application/json"), ("X-Trace", "t-9")], r#"{"a": 1}"#);
    assert_eq!(status, 200, "{body}");
    let context = json_of(&body);
    assert_eq!(context["sid"], "g-1", "the guard's sid: {context}");
    assert_eq!(context["authorized"], json!({"session_id": "g-1"}), "as gou builds it from the session");
    let args = &context["global"]["args"];
    assert_eq!(args[0], "/api/g/p/:id", "the route's path: {args}");
    assert_eq!(args[1], json!({"id": "5"}));
    assert_eq!(args[2], json!({"q": ["1", "2"]}));
    assert_eq!(args[3], json!({"a": 1}));
    assert_eq!(args[4]["X-Trace"], json!(["t-9"]), "headers as Go's http.Header: {args}");

    let (status, body) = server.call("GET", "/api/g/deny", "");
    assert_eq!((status, json_of(&body)), (403, json!({"code": 403, "message": "denied"})), "the guard's own code");

    // Guards in order: the JWT first (no token: 403 before the process runs), then the process.
    assert_eq!(server.call("GET", "/api/g/both", "").0, 403);
    let bearer = format!("Bearer {}", yao_token(JWT_SECRET, 3600));
    let (status, body) = server.call_with("GET", "/api/g/both", &[("Authorization", &bearer)], "");
    assert_eq!(status, 200, "{body}");
    let context = json_of(&body);
    assert_eq!(context["sid"], "g-1", "the later guard's sid wins: {context}");
    assert_eq!(context["authorized"]["user_id"], 7, "{context}");
}

#[test]
fn jwt_guards_without_a_secret_are_not_served() {
    let app = guard_app();
    let server = Server::start(&app, &["--no-watch"]);
    let bearer = format!("Bearer {}", yao_token(JWT_SECRET, 3600));
    let (status, body) = server.call_with("GET", "/api/g/me", &[("Authorization", &bearer)], "");
    assert_eq!(status, 404, "no YAO_JWT_SECRET: the route is refused, {body}");
    assert_eq!(server.call("GET", "/api/g/deny", "").0, 403, "a process guard needs no secret");
    assert_eq!(server.call("GET", "/api/g/open", "").0, 200);
    // --ignore-guards serves it without the guard serve cannot enforce, and keeps the others.
    let ignoring = Server::start(&app, &["--no-watch", "--ignore-guards"]);
    assert_eq!(ignoring.call("GET", "/api/g/me", "").0, 200);
    assert_eq!(ignoring.call("GET", "/api/g/widget", "").0, 200);
    assert_eq!(ignoring.call("GET", "/api/g/deny", "").0, 403);
}
