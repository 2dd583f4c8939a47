//! `cargo bench --bench js` (run with `env -u RUST_BACKTRACE`): TS hook exec
//! p50 with and without the engine snapshot, engine ready cold and from a
//! warm cache, per-script size, and the Node.js `vm` fresh-context baseline
//! of the same hook, in one run. Figures go to BENCHMARKS.md.

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
    drop(rt);
    if only {
        println!("TS hook (user.ts Check), {n} calls: p50 {p50:.1} us, p99 {p99:.1} us");
        return;
    }

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
    println!("  yaowasm QuickJS snapshot : p50 {p50:.1} us, p99 {p99:.1} us");
    println!("  yaowasm QuickJS no snap  : p50 {p50_nosnap:.1} us, p99 {p99_nosnap:.1} us");
    println!("  node vm fresh context    : p50 {node_p50:.1} us, p99 {:.1} us", node["p99_us"].as_f64().unwrap());
    println!("  ratio node/yaowasm p50   : {:.1}x", node_p50 / p50);
    println!("engine ready: cold (snapshot + compile + build) {cold_ms:.0} ms, warm cache {warm_ms:.2} ms (median of 21 fresh runtimes)");
    println!("hook size: {size} bytes");
}
