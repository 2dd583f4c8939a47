//! The `yaowasm` binary, command by command, each success and error path.

mod common;

use assert_cmd::Command;
use common::TestApp;
use predicates::prelude::*;
use serde_json::{json, Value};

fn yaowasm() -> Command {
    let mut cmd = Command::cargo_bin("yaowasm").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn stderr_json(output: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&output.stderr);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("stderr is not a JSON error line ({e}): {text}"))
}

#[test]
fn help_on_every_command() {
    for cmd in [vec![], vec!["run"], vec!["serve"], vec!["inspect"], vec!["compile"], vec!["build"]] {
        let mut args = cmd.clone();
        args.push("--help");
        yaowasm().args(&args).assert().success().stdout(predicate::str::contains("Usage: yaowasm"));
    }
    yaowasm().arg("--help").assert().stdout(predicate::str::contains("Exit codes"));
}

#[test]
fn config_help_names_every_config_key() {
    // The keys as the parser lists them when it refuses an unknown one.
    let e = yaowasm::Config::from_json(Some(r#"{"no_such_key": 1}"#)).unwrap_err();
    let list = e.message().split("expected one of").nth(1).unwrap().split(" at line").next().unwrap().to_owned();
    let keys: Vec<&str> = list.split(',').map(|k| k.trim().trim_matches('`')).collect();
    assert!(keys.len() >= 10 && keys.contains(&"stores") && keys.contains(&"fs"), "{keys:?}");
    for cmd in ["run", "serve", "compile", "inspect"] {
        let out = yaowasm().args([cmd, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        // The --config entry: its line and the lines up to the next option.
        let mut lines = help.lines().skip_while(|l| !l.trim_start().starts_with("--config"));
        let first = lines.next().unwrap_or_else(|| panic!("{cmd} has --config: {help}"));
        let rest: Vec<&str> = lines.take_while(|l| !l.trim_start().starts_with('-')).collect();
        let config = format!("{first}\n{}", rest.join("\n"));
        for key in &keys {
            assert!(config.split(|c: char| !(c.is_alphanumeric() || c == '_')).any(|w| w == *key), "{cmd} --help lacks {key}: {config}");
        }
    }
}

#[test]
fn bad_command_lines_exit_2() {
    yaowasm().assert().code(2);
    yaowasm().arg("teleport").assert().code(2);
    yaowasm().args(["run", "only-an-app"]).assert().code(2);
}

#[test]
fn run_prints_the_result_as_json() {
    let app = TestApp::new();
    let out = yaowasm()
        .args(["run"])
        .arg(app.path())
        .args(["scripts.t.Echo", r#"{"name":"Ada","email":"ada@example.com"}"#, "7", r#""text""#])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result, json!([{"name": "Ada", "email": "ada@example.com"}, 7, "text"]));
    // A JSON guest gets the same answer through the host's conversion.
    yaowasm().args(["run"]).arg(app.path()).args(["scripts.j.Echo", "[1,2]"]).assert().success().stdout("[[1,2]]\n");
}

#[test]
fn run_reads_args_from_stdin_and_writes_msgpack() {
    let app = TestApp::new();
    yaowasm()
        .args(["run"])
        .arg(app.path())
        .args(["scripts.t.Echo", "-"])
        .write_stdin(r#"["a", {"b": null}]"#)
        .assert()
        .success()
        .stdout("[\"a\",{\"b\":null}]\n");
    // [-1] in MessagePack is 0x91 0xff (and a negative number is an arg, not an option).
    yaowasm()
        .args(["run"])
        .arg(app.path())
        .args(["scripts.t.Echo", "-1", "--msgpack"])
        .assert()
        .success()
        .stdout(predicate::eq(&[0x91u8, 0xff][..]));
    let out = yaowasm().args(["run"]).arg(app.path()).args(["scripts.t.Echo", "-"]).write_stdin(r#"{"not": "an array"}"#).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr_json(&out)["code"], 400);
}

#[test]
fn run_error_paths_map_to_exit_codes() {
    let app = TestApp::new();
    let cases: &[(&[&str], i32, i32, &str)] = &[
        (&["scripts.t.Echo", "not-json"], 400, 2, "argument 1 is not JSON"),
        (&["scripts.nope.Check"], 404, 3, "no script nope"),
        (&["scripts.t.Nope"], 404, 3, "Nope"),
        (&["studio.thing"], 404, 3, "only scripts.*"),
        (&["scripts.t.Fail"], 418, 1, "teapot"),
        (&["scripts.t.CallHost"], 404, 3, "standalone yaowasm runtime"),
    ];
    for (args, code, status, needle) in cases {
        let out = yaowasm().args(["run"]).arg(app.path()).args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(*status), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}: stdout must be empty on failure");
        let err = stderr_json(&out);
        assert_eq!(err["code"], *code, "{args:?}: {err}");
        assert!(err["message"].as_str().unwrap().contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn run_times_out_with_408() {
    let app = TestApp::new();
    let out = yaowasm()
        .args(["run"])
        .arg(app.path())
        .args(["scripts.t.Spin", "--config", r#"{"timeout_ms": 200}"#])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(stderr_json(&out)["code"], 408);
}

#[test]
fn run_refuses_what_is_not_an_app_or_a_config() {
    let app = TestApp::new();
    let out = yaowasm().args(["run", "/definitely/not/here", "scripts.t.Echo"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr_json(&out)["message"].as_str().unwrap().contains("does not exist"));
    let out = yaowasm().args(["run"]).arg(app.file("scripts")).arg("scripts.t.Echo").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "a scripts folder is not an app");
    assert!(stderr_json(&out)["message"].as_str().unwrap().contains("no scripts/ folder"));
    let out = yaowasm().args(["run"]).arg(app.path()).args(["scripts.t.Echo", "--config", r#"{"timeout": 1}"#]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_json(&out)["message"].as_str().unwrap().contains("timeout"));
}

/// A guest whose `Call` calls the process `scripts.t.Version` and returns
/// its answer.
fn caller_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (data (i32.const 128) "scripts.t.Version")
  (data (i32.const 160) "\90")
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "Call") (param i32 i32) (result i64)
    (call $process (i32.const 128) (i32.const 17) (i32.const 160) (i32.const 1))))"#,
    )
    .unwrap()
}

fn cwasm_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "cwasm")).count())
}

#[test]
fn run_compiles_only_the_scripts_it_calls() {
    let app = TestApp::new();
    // Beside the good scripts: one that is not WebAssembly at all, one the
    // runtime refuses, and an ID two files claim.
    app.write("scripts/junk.wasm", b"hello");
    app.write("scripts/bad.wasm", common::bad_guest());
    app.write("scripts/twice/x.wasm", common::guest("v2"));
    app.write("scripts/Twice.X.wasm", common::guest("v3"));
    app.write("scripts/caller.wasm", caller_guest());
    let cache = tempfile::tempdir().unwrap();
    let run = |process: &str| {
        let mut cmd = yaowasm();
        cmd.args(["run"]).arg(app.path()).arg(process).arg("--cache-dir").arg(cache.path());
        cmd.output().unwrap()
    };

    // The good script runs, and nothing else is read: no warning, one module compiled.
    let out = run("scripts.t.Version");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"\"v1\"\n");
    assert!(out.stderr.is_empty(), "the other modules are never read: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(cwasm_count(cache.path()), 1, "only scripts/t.wasm was compiled");

    // A nested scripts.* call loads its script on first use; j.wasm is still not compiled.
    let out = run("scripts.caller.Call");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"\"v1\"\n");
    assert_eq!(cwasm_count(cache.path()), 2, "caller.wasm and t.wasm, not j.wasm");

    // A script that does not load is still a warning and a 404, as before.
    for (process, needle) in
        [("scripts.junk.Go", "not a valid WebAssembly"), ("scripts.bad.Go", "yao.teleport"), ("scripts.twice.x.Go", "claimed by 2 files")]
    {
        let out = run(process);
        assert_eq!(out.status.code(), Some(3), "{process}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("not loaded") && stderr.contains(needle), "{process}: {stderr}");
        assert!(stderr_json(&out)["message"].as_str().unwrap().contains("no script"), "{process}: {stderr}");
    }
    // ... and names its file only when that file is the one called.
    let out = run("scripts.T.Version");
    assert!(out.status.success() && out.stderr.is_empty(), "IDs are case-insensitive: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn run_logs_name_their_script() {
    let app = TestApp::new();
    app.write("scripts/orders.wasm", common::log_guest());
    yaowasm()
        .args(["run"])
        .arg(app.path())
        .arg("scripts.orders.Total")
        .assert()
        .success()
        .stdout("null\n")
        .stderr("yaowasm [info] scripts.orders.Total: total computed\n");
}

#[test]
fn inspect_describes_modules() {
    let app = TestApp::new();
    let out = yaowasm().args(["inspect", "--json"]).arg(app.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let j = &list[0];
    assert_eq!(j["id"], "j");
    assert_eq!(j["encoding"], "json");
    let t = &list[1];
    assert_eq!(t["id"], "t");
    assert_eq!(t["encoding"], "msgpack");
    assert_eq!(t["functions"], json!(["CallHost", "Echo", "Fail", "Spin", "Version"]));
    assert_eq!(t["imports"], json!(["yao.process"]));
    assert_eq!(t["problems"], json!([]));
    assert_eq!(t["size"], common::guest("v1").len());
    assert_eq!(t["memory"]["initial_pages"], 1);
    assert_eq!(t["preinit"], false);

    yaowasm().arg("inspect").arg(app.file("scripts/t.wasm")).assert().success().stdout(
        predicate::str::contains("functions: CallHost, Echo, Fail, Spin, Version").and(predicate::str::contains("problems:  none")),
    );
}

#[test]
fn inspect_says_when_a_module_asks_for_pre_initialization() {
    let app = TestApp::new();
    let module = |exports: &str| {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1)
            (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
            (func (export "Go") (param i32 i32) (result i64) (i64.const 0))
            {exports})"#
        ))
        .unwrap()
    };
    app.write("scripts/both.wasm", module(r#"(func (export "_initialize")) (func (export "yao_preinit") (result i32) (i32.const 1))"#));
    app.write("scripts/no_init.wasm", module(r#"(func (export "yao_preinit") (result i32) (i32.const 1))"#));
    let out = yaowasm().args(["inspect", "--json"]).arg(app.path()).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_id = |id: &str| list.as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(by_id("both")["preinit"], true);
    assert_eq!(by_id("no_init")["preinit"], false, "without _initialize there is nothing to run once");
    yaowasm()
        .arg("inspect")
        .arg(app.file("scripts/both.wasm"))
        .assert()
        .success()
        .stdout(predicate::str::contains("pre-init:  yes: _initialize runs once at load"));
}

#[test]
fn inspect_detects_languages_from_producers_and_custom_sections() {
    let app = TestApp::new();
    // A producers section as rustc writes it, and yaowasm build's marker.
    let rust = wat::parse_str(
        r#"(module (memory (export "memory") 1)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "Go") (param i32 i32) (result i64) (i64.const 0))
        (@producers (language "Rust" "") (processed-by "rustc" "1.95.0")))"#,
    )
    .unwrap();
    app.write("scripts/rust.wasm", &rust);
    let mut js = common::json_guest();
    // A custom section: id 0, size, name "yaowasm.js", no payload.
    js.extend_from_slice(&[0, 11, 10]);
    js.extend_from_slice(b"yaowasm.js");
    app.write("scripts/js.wasm", &js);
    // Stripped modules: a Rust panic path, AssemblyScript's UTF-16 "~lib/".
    let stripped = |data: &str| {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 1)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "Go") (param i32 i32) (result i64) (i64.const 0))
        (data (i32.const 8) "{data}"))"#
        ))
        .unwrap()
    };
    app.write("scripts/stripped_rust.wasm", stripped("/usr/lib/rustlib/src/rust/library/core/src/num.rs"));
    app.write("scripts/stripped_as.wasm", stripped("~\\00l\\00i\\00b\\00/\\00r\\00t"));
    let out = yaowasm().args(["inspect", "--json"]).arg(app.path()).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_id = |id: &str| list.as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(by_id("rust")["language"], "Rust (1.95.0)");
    assert_eq!(by_id("js")["language"], "JavaScript/TypeScript (QuickJS, yaowasm build)");
    assert!(by_id("stripped_rust")["language"].as_str().unwrap().starts_with("Rust (from std/core paths"));
    assert_eq!(by_id("stripped_as")["language"], "AssemblyScript");
    assert_eq!(by_id("t")["language"], Value::Null);
}

#[test]
fn inspect_names_the_sdk_of_stripped_modules_and_lists_each_import_once() {
    let app = TestApp::new();
    let module = |imports: &str, data: &str| {
        wat::parse_str(format!(
            r#"(module {imports} (memory (export "memory") 1)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "Go") (param i32 i32) (result i64) (i64.const 0))
        (data (i32.const 8) "{data}"))"#
        ))
        .unwrap()
    };
    // What the C and Rust SDKs leave in a module's data, and Go's build info.
    app.write("scripts/c.wasm", module("", "xx\\00yaowasm-sdk:c 0.2.0\\00yy"));
    app.write("scripts/rust.wasm", module("", "\\00yaowasm-sdk:rust 0.1.0\\00"));
    app.write("scripts/as.wasm", module("", "yaowasm-sdk:assemblyscript 0.1.0"));
    let fd_write = r#"(import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))"#;
    app.write(
        "scripts/go.wasm",
        module(
            &format!("{fd_write} {fd_write}"),
            "path\\09example.com/orders\\0adep\\09github.com/yaoapp/yaowasm/sdk/go\\09v0.3.1\\09h1:abc\\0a",
        ),
    );
    let out = yaowasm().args(["inspect", "--json"]).arg(app.path()).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_id = |id: &str| list.as_array().unwrap().iter().find(|m| m["id"] == id).unwrap().clone();
    assert_eq!(by_id("c")["language"], "C (yaowasm C SDK)");
    assert_eq!(by_id("c")["sdk"], "c 0.2.0");
    assert_eq!(by_id("rust")["language"], "Rust (yaowasm Rust SDK)");
    assert_eq!(by_id("as")["sdk"], "assemblyscript 0.1.0");
    assert_eq!(by_id("go")["sdk"], "go v0.3.1");
    assert_eq!(by_id("go")["imports"], json!(["wasi_snapshot_preview1.fd_write"]));
    assert_eq!(by_id("t")["sdk"], Value::Null);
    yaowasm().arg("inspect").arg(app.file("scripts/c.wasm")).assert().stdout(predicate::str::contains("sdk:       yaowasm c 0.2.0"));
}

#[test]
fn inspect_names_problems_in_plain_words() {
    let app = TestApp::new();
    app.write("scripts/bad.wasm", common::bad_guest());
    app.write("scripts/junk.wasm", b"hello");
    let out = yaowasm().args(["inspect"]).arg(app.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "problems make inspect fail");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("yao.teleport"), "{text}");
    assert!(text.contains("not a WebAssembly binary"), "{text}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 4 module(s) have problems"));
    yaowasm().args(["inspect", "/definitely/not/here.wasm"]).assert().code(3);
}

#[test]
fn compile_fills_the_cache_and_run_uses_it() {
    let app = TestApp::new();
    // The default cache is the user's ($XDG_CACHE_HOME/yaowasm), never the
    // app folder, which scripts may write (an fs root).
    let user_cache = tempfile::tempdir().unwrap();
    let with_cache = |mut cmd: Command| {
        cmd.env("XDG_CACHE_HOME", user_cache.path());
        cmd
    };
    with_cache(yaowasm()).arg("compile").arg(app.path()).assert().success().stdout(predicate::str::contains("compiled 2 script(s)"));
    let cache = user_cache.path().join("yaowasm");
    let cwasm = std::fs::read_dir(&cache).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "cwasm")).count();
    assert_eq!(cwasm, 2, "one precompiled module per script");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    assert!(!app.file(".yaowasm").exists(), "nothing is written into the app folder");
    with_cache(yaowasm()).args(["run"]).arg(app.path()).args(["scripts.t.Version"]).assert().success().stdout("\"v1\"\n");
    // An app whose folder is an fs root runs, with the cache outside it.
    let config = json!({"fs": {"system": app.path()}}).to_string();
    with_cache(yaowasm()).args(["run"]).arg(app.path()).args(["scripts.t.Version", "--config", &config]).assert().success();
    // A cache folder inside the app's fs root is refused (400: exit 2).
    let inside = app.file("cache");
    yaowasm()
        .args(["run"])
        .arg(app.path())
        .args(["scripts.t.Version", "--config", &config, "--cache-dir"])
        .arg(&inside)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("fs.system"));

    let elsewhere = tempfile::tempdir().unwrap();
    yaowasm().arg("compile").arg(app.path()).arg("--cache-dir").arg(elsewhere.path()).assert().success();
    assert!(std::fs::read_dir(elsewhere.path()).unwrap().count() >= 2);
}

#[test]
fn compile_error_paths() {
    let app = TestApp::new();
    app.write("scripts/bad.wasm", common::bad_guest());
    yaowasm()
        .arg("compile")
        .arg(app.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("yao.teleport").and(predicate::str::contains("1 module(s) did not compile")));
    yaowasm().args(["compile", "/definitely/not/here"]).assert().code(3);
    yaowasm().arg("compile").arg(app.path()).arg("--no-cache").assert().code(2);
}
