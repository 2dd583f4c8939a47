//! A Yao app's scripts folder as it is (cli/tests/fixtures/yaoapp, written
//! for these tests): gou's import rules, library files, `yaowasm build` on
//! the folder, and every function run. Needs scripts/setup.d/30-js.sh.

#[path = "../../tests/common/mod.rs"]
mod common;

use assert_cmd::Command;
use common::{capture_logs, json, mp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yaowasm::{LogLevel, Runtime};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn fixture() -> PathBuf {
    repo().join("cli/tests/fixtures/yaoapp")
}

fn yaowasm() -> Command {
    let mut cmd = Command::cargo_bin("yaowasm").unwrap();
    cmd.env_remove("RUST_BACKTRACE");
    cmd
}

fn runtime() -> Runtime {
    let cache = repo().join("target/js-test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    Runtime::from_json(Some(&json!({"cache_dir": cache}).to_string())).unwrap()
}

fn exec(rt: &Runtime, process: &str, args: serde_json::Value) -> yaowasm::Result<serde_json::Value> {
    rt.exec(process, &mp(&args)).map(|out| json(&out))
}

/// `yaowasm build <fixture> --out <tmp>`: its stdout.
fn build_app(out: &Path) -> String {
    let output = yaowasm().arg("build").arg(fixture()).arg("--out").arg(out).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "build failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn the_app_builds_whole_with_libraries_counted() {
    let out = tempfile::tempdir().unwrap();
    let stdout = build_app(out.path());
    assert!(stdout.contains("built 4, library 3, failed 0 of 7 file(s)"), "{stdout}");
    // expr.ts is imported by calc.ts (relative) and orders.ts (tsconfig alias).
    assert!(stdout.contains("scripts/lib/expr.ts (exports Expr, OPERATORS; imported by 2 script(s))"), "{stdout}");
    assert!(stdout.contains("scripts/lib/excel.ts (exports Excel; imported by 1 script(s))"), "{stdout}");
    assert!(stdout.contains("scripts/shared/types.ts (types only; imported by 0 script(s))"), "{stdout}");
    for hook in ["calc.wasm", "orders.wasm", "lib/report.wasm", "lib/format/index.wasm"] {
        assert!(out.path().join(hook).is_file(), "{hook} missing");
    }
    for library in ["lib/expr.wasm", "lib/excel.wasm", "shared/types.wasm"] {
        assert!(!out.path().join(library).exists(), "a library got a hook: {library}");
    }
}

#[test]
fn every_function_runs_as_the_code_says() {
    let out = tempfile::tempdir().unwrap();
    build_app(out.path());
    let rt = runtime();
    for (file, id) in
        [("calc.wasm", "calc"), ("orders.wasm", "orders"), ("lib/report.wasm", "lib.report"), ("lib/format/index.wasm", "lib.format.index")]
    {
        rt.load_file(out.path().join(file), Some(id)).unwrap();
    }
    rt.set_process_handler(Some(Arc::new(|name: &str, args: &[u8]| {
        assert_eq!(name, "models.order.Find");
        Ok(mp(&json!({"found": json(args)})))
    })));
    let logs = capture_logs(&rt);
    let order = json!({"id": 7, "lines": [{"item": "a", "qty": 2, "price": 1.25}, {"item": "b", "qty": 1, "price": 10}]});

    // A class from a library (relative import); left to right, as Node gives.
    assert_eq!(exec(&rt, "scripts.calc.Eval", json!(["2 + 3 * 4"])).unwrap(), json!(20));
    assert_eq!(exec(&rt, "scripts.calc.Operators", json!([])).unwrap(), json!(["+", "-", "*", "/"]));
    // `Exception as Failure` from "@gou/runtime", `* as yao` from
    // "@yaoapp/runtime": the engine's globals, the code kept.
    let e = exec(&rt, "scripts.calc.Guarded", json!(["2 x"])).unwrap_err();
    assert_eq!((e.code(), e.message()), (400, "guarded: bad token x"));
    // The same class through the tsconfig alias, an index.ts folder import,
    // Yao globals from "@yao/runtime", a types-only "@yao/types" import.
    assert_eq!(exec(&rt, "scripts.orders.Total", json!([order])).unwrap(), json!(12.5));
    assert_eq!(exec(&rt, "scripts.orders.Summary", json!([order])).unwrap(), json!("#7 | 12.50 | 2 lines"));
    let e = exec(&rt, "scripts.orders.Total", json!([{}])).unwrap_err();
    assert_eq!((e.code(), e.message()), (400, "order.lines is required"));
    assert_eq!(exec(&rt, "scripts.orders.Lookup", json!([1, "x"])).unwrap(), json!({"found": [1, "x"]}));
    // An npm package (dayjs from js/node_modules).
    assert_eq!(exec(&rt, "scripts.orders.Due", json!(["2024-01-30", 3])).unwrap(), json!("2024-02-02"));
    // A bare name ("excel") is the file beside the importer; "./__types/yao"
    // is Yao's own (never read: it does not exist) and binds the global.
    assert_eq!(exec(&rt, "scripts.lib.report.Sheet", json!([["a", "b"]])).unwrap(), json!("n,name\n1,a\n2,b"));
    assert_eq!(exec(&rt, "scripts.lib.report.StoreIsGlobal", json!([])).unwrap(), json!(true));
    assert_eq!(exec(&rt, "scripts.lib.format.index.money", json!([3])).unwrap(), json!("3.00"));
    let logs = logs.lock().unwrap();
    assert!(logs.contains(&(LogLevel::Info, "summary of order 7".into())), "{logs:?}");
    assert!(logs.contains(&(LogLevel::Warn, "guarded: bad token x".into())), "{logs:?}");
}

/// Builds `files` (name, source) in a fresh folder; builds the first one.
fn build_one(files: &[(&str, &str)]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    for (name, source) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    let output = yaowasm().arg("build").arg(dir.path().join(files[0].0)).output().unwrap();
    (dir, output)
}

#[test]
fn a_local_file_wins_over_an_npm_package_of_the_same_name() {
    let (dir, output) = build_one(&[
        ("main.ts", "import dayjs from \"dayjs\";\nfunction Which(): string { return dayjs(); }\n"),
        ("dayjs.ts", "export default function dayjs(): string { return \"local\"; }\n"),
    ]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rt = runtime();
    rt.load_file(dir.path().join("main.wasm"), Some("main")).unwrap();
    assert_eq!(exec(&rt, "scripts.main.Which", json!([])).unwrap(), json!("local"));
}

#[test]
fn unresolvable_imports_are_file_line_col_errors() {
    for (spec, line) in [("./nope", 2), ("nopkg-that-is-not-there", 2), ("@scripts/nope", 2)] {
        let source = format!("// first\nimport {{ x }} from \"{spec}\";\nfunction F(): unknown {{ return x; }}\n");
        let (dir, output) = build_one(&[
            ("scripts/a.ts", &source),
            ("tsconfig.json", r#"{"compilerOptions": {"paths": {"@scripts/*": ["./scripts/*"]}}}"#),
        ]);
        assert_eq!(output.status.code(), Some(2), "{spec}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        let src = dir.path().join("scripts/a.ts").display().to_string();
        assert!(stderr.contains(&format!("{src}:{line}:")) && stderr.contains(spec), "{spec}: {stderr}");
        assert!(!dir.path().join("scripts/a.wasm").exists());
    }
}

#[test]
fn a_library_file_alone_is_not_an_error_but_a_file_with_nothing_is() {
    let (dir, output) = build_one(&[("lib.ts", "export class A { n = 1; }\nexport const B = 2;\n")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("library ") && stdout.contains("exports A, B") && stdout.contains("built 0, library 1, failed 0 of 1"),
        "{stdout}"
    );
    assert!(!dir.path().join("lib.wasm").exists());
    let (_dir, output) = build_one(&[("empty.ts", "const a = 1;\n")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no top-level function and no export"));
}

/// `$L` under `yaowasm run` reads the app's `langs/<YAO_LANG>/global.yml`
/// as Yao does (folder name in any case, `::` stripped, unknown text
/// unchanged), and an app without a pack gets the text back.
#[test]
fn dollar_l_translates_with_the_apps_language_pack() {
    let (dir, output) =
        build_one(&[("scripts/i18n.ts", "function Say(text: string): unknown { return [$L(text), $L(\"::\" + text), $L(42)]; }\n")]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let run = |lang: Option<&str>, text: &str| {
        let mut cmd = yaowasm();
        cmd.arg("run").arg(dir.path()).arg("scripts.i18n.Say").arg(format!("\"{text}\""));
        cmd.arg("--cache-dir").arg(repo().join("target/js-test-cache"));
        match lang {
            Some(lang) => cmd.env("YAO_LANG", lang),
            None => cmd.env_remove("YAO_LANG"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    // No langs/ folder: the text comes back (the 404 path).
    assert_eq!(run(Some("zh-cn"), "Pet"), json!(["Pet", "Pet", 42]));

    std::fs::create_dir_all(dir.path().join("langs/zh-CN")).unwrap();
    std::fs::write(dir.path().join("langs/zh-CN/global.yml"), "Pet: 宠物\n").unwrap();
    std::fs::create_dir_all(dir.path().join("langs/en-us")).unwrap();
    std::fs::write(dir.path().join("langs/en-us/global.yml"), "Pet: Animal\n").unwrap();
    assert_eq!(run(Some("zh-cn"), "Pet"), json!(["宠物", "宠物", 42]));
    assert_eq!(run(Some("ZH-CN"), "Unknown"), json!(["Unknown", "Unknown", 42]));
    // Yao's default language is en-us.
    assert_eq!(run(None, "Pet"), json!(["Animal", "Animal", 42]));

    // A pack that is not a map of words: a warning, and nothing translated.
    std::fs::write(dir.path().join("langs/en-us/global.yml"), "- a\n- b\n").unwrap();
    let mut out = yaowasm();
    out.arg("run").arg(dir.path()).arg("scripts.i18n.Say").arg("\"Pet\"");
    let out = out.arg("--cache-dir").arg(repo().join("target/js-test-cache")).env_remove("YAO_LANG").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("language pack not loaded"), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(), json!(["Pet", "Pet", 42]));
}
