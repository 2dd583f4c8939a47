//! exec p50 of the example app's `user.Check` in every guest language that
//! is built (examples/guests/build-*.sh), a fresh instance per call, with
//! the module size beside it. Run: `env -u RUST_BACKTRACE cargo bench
//! --bench languages`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn bench_languages(c: &mut Criterion) {
    let reset = std::env::var("BENCH_MEMORY_RESET").unwrap_or_else(|_| "auto".into());
    let (rt, _cache) = common::example_app_runtime_with(serde_json::json!({"memory_reset": reset}));
    eprintln!("memory_reset: {} ({reset} asked)", rt.stats().memory_reset);
    let args = rmp_serde::to_vec(&serde_json::json!([{"name": "Ada", "email": "ada@example.com", "age": 36}])).unwrap();
    let mut g = c.benchmark_group("user_check_by_language");
    for info in rt.list() {
        let Some(lang) = info.id.strip_suffix(".user") else { continue };
        let name = format!("scripts.{}.Check", info.id);
        rt.exec(&name, &args).unwrap_or_else(|e| panic!("{name}: {e}"));
        eprintln!("{lang}: module {} bytes", info.size);
        g.bench_function(format!("{lang}_{}B", info.size), |b| b.iter(|| rt.exec(&name, &args).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench_languages);
criterion_main!(benches);
