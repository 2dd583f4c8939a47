//! `cargo bench --bench js` (run with `env -u RUST_BACKTRACE`): TS hook exec
//! p50 with and without the engine snapshot and the per-script one, engine ready cold and from a
//! warm cache, per-script size, and the Node.js `vm` fresh-context baseline
//! of the same hook, in one run. Figures go to BENCHMARKS.md.
//!
//! Then what source-mapped stack traces cost (issue 13): one hook with its
//! source map and the same bytecode without it, a call that succeeds and
//! one that throws three calls deep, alternated in rounds in the same run.
//! `JS_BENCH_STACK_ONLY=1` runs only that part. `JS_BENCH_TASKS_ONLY=1`
//! runs only `All` of 8 sleeping tasks against the same calls in turn.

use std::path::PathBuf;
use std::time::Instant;
use yaowasm::Runtime;

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p) as usize]
}

fn runtime(cache: &std::path::Path) -> Runtime {
    Runtime::from_json(Some(&serde_json::json!({"cache_dir": cache}).to_string())).unwrap()
}

fn exec_p50(rt: &Runtime, args: &[u8], n: usize) -> (f64, f64) {
    for _ in 0..200 {
        rt.exec("scripts.ts.user.Check", args).unwrap();
    }
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            rt.exec("scripts.ts.user.Check", args).unwrap();
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    (percentile(times.clone(), 0.5), percentile(times, 0.99))
}

/// p50 (us) of `process` with `args` on `rt`, `n` calls after 200 warm-up
/// calls; an error result is as good as a value here.
fn call_p50(rt: &Runtime, process: &str, args: &[u8], n: usize) -> f64 {
    for _ in 0..200 {
        let _ = rt.exec(process, args);
    }
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let _ = std::hint::black_box(rt.exec(process, args));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    percentile(times, 0.5)
}

const STACK_SCRIPT: &str = r#"function inner(x: number): number {
  if (x < 0) throw new Error("negative: " + x);
  return x * 2;
}
function middle(x: number): number {
  return inner(x) + 1;
}
export function Run(x: number): number {
  return middle(x);
}
"#;

/// Success and error calls of a hook with its source map against the same
/// bytecode without one (and a `--strip-debug` build), in alternating
/// rounds; the medians of the rounds' p50s.
fn stack_costs(cache: &std::path::Path, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("scripts/t.ts");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, STACK_SCRIPT).unwrap();
    let rt = runtime(cache);
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    let mut bundler = yaowasm_cli::esbuild::Bundler::default();
    let with_map = dir.path().join("with_map.wasm");
    let stripped = dir.path().join("stripped.wasm");
    let build = |bundler: &mut yaowasm_cli::esbuild::Bundler, out: &std::path::Path, strip_debug: bool| {
        let options = yaowasm_cli::esbuild::Options { strip_debug };
        yaowasm_cli::esbuild::build_file_opts(bundler, &rt, &esbuild, &src, out, &options).unwrap();
    };
    build(&mut bundler, &with_map, false);
    build(&mut bundler, &stripped, true);
    // The same bytecode (line tables kept) without the map section.
    let bytes = std::fs::read(&with_map).unwrap();
    let hook = yaowasm::js::parse_hook(&bytes).unwrap().unwrap();
    let no_map = dir.path().join("no_map.wasm");
    std::fs::write(&no_map, yaowasm::js::write_hook(&hook.meta, &hook.bytecode)).unwrap();
    let sizes: Vec<u64> = [&with_map, &no_map, &stripped].iter().map(|p| std::fs::metadata(p).unwrap().len()).collect();
    drop(rt);

    let rt = runtime(cache);
    // Error records go nowhere: the figure is the runtime's work, not stderr's.
    rt.set_log_handler(Some(std::sync::Arc::new(|_, _: &str| {})));
    rt.load_file(&with_map, Some("map")).unwrap();
    rt.load_file(&no_map, Some("nomap")).unwrap();
    rt.load_file(&stripped, Some("strip")).unwrap();
    let ok = rmp_serde::to_vec(&serde_json::json!([1])).unwrap();
    let err = rmp_serde::to_vec(&serde_json::json!([-1])).unwrap();
    assert!(rt.exec("scripts.map.Run", &err).unwrap_err().message().contains("(at inner (scripts/t.ts:2:"));
    let rounds = 7;
    let mut figures = vec![Vec::new(); 6];
    for _ in 0..rounds {
        for (i, (id, args)) in
            [("map", &ok), ("nomap", &ok), ("strip", &ok), ("map", &err), ("nomap", &err), ("strip", &err)].iter().enumerate()
        {
            figures[i].push(call_p50(&rt, &format!("scripts.{id}.Run"), args, n / rounds));
        }
    }
    let median = |v: &Vec<f64>| percentile(v.clone(), 0.5);
    let f: Vec<f64> = figures.iter().map(median).collect();
    println!("stack traces ({rounds} alternating rounds of {} calls, median of the rounds' p50)", n / rounds);
    println!("  success: with map {:.1} us, without map {:.1} us (diff {:+.1} us), --strip-debug {:.1} us", f[0], f[1], f[0] - f[1], f[2]);
    println!(
        "  error 3 deep: with map {:.1} us, without map {:.1} us (mapping costs {:+.1} us), --strip-debug {:.1} us",
        f[3],
        f[4],
        f[3] - f[4],
        f[5]
    );
    println!("  hook size: with map {} B, same bytecode without map {} B, --strip-debug {} B", sizes[0], sizes[1], sizes[2]);
}

const TASKS_SCRIPT: &str = r#"export function Nap(ms: number): number {
  time.Sleep(ms);
  return ms;
}
export function Parallel(n: number, ms: number): number {
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push({ process: "scripts.tasks.Nap", args: [ms] });
  return All(tasks).length;
}
export function InTurn(n: number, ms: number): number {
  for (let i = 0; i < n; i++) Process("scripts.tasks.Nap", ms);
  return n;
}
"#;

/// `All` of 8 tasks that each sleep 10 ms, against the same 8 calls made
/// one after another, in alternating rounds (issue 15: close to one task's
/// time, not eight); medians of the rounds' medians, in ms.
fn tasks_costs(cache: &std::path::Path) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("scripts/tasks.ts");
    std::fs::create_dir_all(src.parent().unwrap()).unwrap();
    std::fs::write(&src, TASKS_SCRIPT).unwrap();
    let rt = runtime(cache);
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    let out = dir.path().join("scripts/tasks.wasm");
    yaowasm_cli::esbuild::build_file(&rt, &esbuild, &src, &out).unwrap();
    rt.load_file(&out, Some("tasks")).unwrap();
    let args = rmp_serde::to_vec(&serde_json::json!([8, 10])).unwrap();
    let ms = |process: &str| {
        let t = Instant::now();
        rt.exec(process, &args).unwrap();
        t.elapsed().as_secs_f64() * 1e3
    };
    let (mut all, mut in_turn) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ms("scripts.tasks.Parallel");
    }
    for _ in 0..9 {
        let (a, b): (Vec<f64>, Vec<f64>) = (0..5).map(|_| (ms("scripts.tasks.Parallel"), ms("scripts.tasks.InTurn"))).unzip();
        all.push(percentile(a, 0.5));
        in_turn.push(percentile(b, 0.5));
    }
    let (all, in_turn) = (percentile(all, 0.5), percentile(in_turn, 0.5));
    println!("tasks (9 alternating rounds of 5 calls, median of the rounds' medians)");
    println!("  All of 8 tasks sleeping 10 ms: {all:.1} ms; the same 8 calls in turn: {in_turn:.1} ms ({:.2}x)", all / in_turn);
}

fn main() {
    let repo = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let source = repo.join("examples/app/scripts/ts/user.ts");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let hook = dir.path().join("user.wasm");
    // JS_BENCH_N: calls per measurement; JS_BENCH_SNAPSHOT_ONLY=1 skips the
    // no-snapshot and Node runs (for profiling the snapshot path alone).
    let n: usize = std::env::var("JS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(5000);
    let only = std::env::var("JS_BENCH_SNAPSHOT_ONLY").is_ok_and(|v| v == "1");
    let args = rmp_serde::to_vec(&serde_json::json!([{"name": "Ada", "email": "ada@example.com", "age": 36}])).unwrap();
    if std::env::var("JS_BENCH_TASKS_ONLY").is_ok_and(|v| v == "1") {
        tasks_costs(&cache);
        return;
    }
    if std::env::var("JS_BENCH_STACK_ONLY").is_ok_and(|v| v == "1") {
        stack_costs(&cache, n);
        return;
    }

    // Cold: snapshot + compile of the engine into an empty cache.
    let rt = runtime(&cache);
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    let t = Instant::now();
    yaowasm_cli::esbuild::build_file(&rt, &esbuild, &source, &hook).unwrap();
    let cold_ms = t.elapsed().as_secs_f64() * 1e3;
    let size = std::fs::metadata(&hook).unwrap().len();
    drop(rt);

    // Warm: a new runtime each time, engine from the cache (a process
    // start); the median of 21.
    let mut warm = Vec::new();
    for _ in 0..21 {
        let rt = runtime(&cache);
        let t = Instant::now();
        rt.load_file(&hook, Some("ts.user")).unwrap();
        warm.push(t.elapsed().as_secs_f64() * 1e3);
    }
    warm.sort_by(f64::total_cmp);
    let warm_ms = warm[warm.len() / 2];
    let rt = runtime(&cache);
    rt.load_file(&hook, Some("ts.user")).unwrap();
    let (p50, p99) = exec_p50(&rt, &args, n);
    let (snap_bytes, snap_runs, snap_pages) = yaowasm::js::script_snapshot_size(&rt, "ts.user").unwrap_or_default();
    drop(rt);
    if only {
        println!("TS hook (user.ts Check), {n} calls: p50 {p50:.1} us, p99 {p99:.1} us");
        println!("  per-script snapshot: {snap_bytes} bytes in {snap_runs} runs ({snap_pages} pages) copied per call");
        return;
    }

    // Without the per-script snapshot: every call reads the bytecode and
    // runs the top level (the engine's own snapshot still used).
    std::env::set_var("YAOWASM_JS_SCRIPT_SNAPSHOT", "0");
    let rt = runtime(&cache);
    rt.load_file(&hook, Some("ts.user")).unwrap();
    let (p50_noscript, p99_noscript) = exec_p50(&rt, &args, n);
    std::env::remove_var("YAOWASM_JS_SCRIPT_SNAPSHOT");
    drop(rt);

    // Without the snapshot: every call builds the JS runtime and context.
    std::env::set_var("YAOWASM_JS_SNAPSHOT", "0");
    let rt = runtime(&cache);
    rt.load_file(&hook, Some("ts.user")).unwrap();
    let (p50_nosnap, p99_nosnap) = exec_p50(&rt, &args, n / 5);
    std::env::remove_var("YAOWASM_JS_SNAPSHOT");
    drop(rt);

    let node = std::process::Command::new("node")
        .arg(repo.join("js/bench/node_vm.js"))
        .arg(&source)
        .arg(n.to_string())
        .output()
        .expect("node runs");
    let node: serde_json::Value = serde_json::from_slice(&node.stdout).expect("node_vm.js printed JSON");
    let node_p50 = node["p50_us"].as_f64().unwrap();

    println!("TS hook (user.ts Check), {n} calls, fresh instance per call");
    println!("  yaowasm QuickJS snapshot : p50 {p50:.1} us, p99 {p99:.1} us ({snap_bytes} bytes in {snap_runs} runs, {snap_pages} pages, restored per call)");
    println!("  no per-script snapshot   : p50 {p50_noscript:.1} us, p99 {p99_noscript:.1} us");
    println!("  yaowasm QuickJS no snap  : p50 {p50_nosnap:.1} us, p99 {p99_nosnap:.1} us");
    println!("  node vm fresh context    : p50 {node_p50:.1} us, p99 {:.1} us", node["p99_us"].as_f64().unwrap());
    println!("  ratio node/yaowasm p50   : {:.1}x", node_p50 / p50);
    println!("engine ready: cold (snapshot + compile + build) {cold_ms:.0} ms, warm cache {warm_ms:.2} ms (median of 21 fresh runtimes)");
    println!("hook size: {size} bytes");
    stack_costs(&cache, n);
}
