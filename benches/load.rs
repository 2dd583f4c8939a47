//! load_dir of 50 small modules: cold (compiled by cranelift) and from a warm
//! precompiled cache (`cache_dir`), in the same run. Run: `env -u
//! RUST_BACKTRACE cargo bench --bench load`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, Criterion};

fn bench_load(c: &mut Criterion) {
    let scripts = tempfile::tempdir().unwrap();
    for i in 0..50 {
        // Distinct bytes per module, so each has its own cache entry.
        common::write(scripts.path(), &format!("s{i:02}.wasm"), &common::wasm(&common::versioned_wat(i as u8, i)));
    }
    let mut g = c.benchmark_group("load_50_modules");
    g.sample_size(10);
    g.bench_function("cold_no_cache", |b| {
        let rt = yaowasm::Runtime::from_json(None).unwrap();
        b.iter(|| assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 50))
    });
    let cache = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"cache_dir": cache.path()}).to_string();
    let rt = yaowasm::Runtime::from_json(Some(&config)).unwrap();
    rt.load_dir(scripts.path()).unwrap();
    g.sample_size(30);
    g.bench_function("warm_cache", |b| b.iter(|| assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 50)));
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
