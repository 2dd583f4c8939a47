//! load_dir of 50 small modules in the same run: cold (compiled by
//! cranelift) and from a warm precompiled cache (`cache_dir`), each in a
//! fresh runtime, and a reload of the unchanged folder by the same runtime.
//! The `_one_engine` rows are the same with `engine_shards: 1`: what copying
//! every module into the other shards' engines costs. Run: `env -u
//! RUST_BACKTRACE cargo bench --bench load`.

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

fn bench_load(c: &mut Criterion) {
    let scripts = tempfile::tempdir().unwrap();
    for i in 0..50 {
        // Distinct bytes per module, so each has its own cache entry.
        common::write(scripts.path(), &format!("s{i:02}.wasm"), &common::wasm(&common::versioned_wat(i as u8, i)));
    }
    let mut g = c.benchmark_group("load_50_modules");
    let path = scripts.path();
    let load = |what: &'static str| {
        move |rt: yaowasm::Runtime| {
            assert_eq!(rt.load_dir(path).unwrap().loaded, 50, "{what}");
            rt // dropped after the timing
        }
    };
    let fresh = |config: String| move || yaowasm::Runtime::from_json(Some(&config)).unwrap();
    // A fresh runtime each time (a process start): its creation and its
    // drop are not timed, only the load.
    g.sample_size(10);
    g.bench_function("cold_no_cache", |b| b.iter_batched(fresh("{}".into()), load("cold"), BatchSize::PerIteration));
    let one_engine = r#"{"engine_shards": 1}"#.to_owned();
    g.bench_function("cold_no_cache_one_engine", |b| b.iter_batched(fresh(one_engine.clone()), load("cold"), BatchSize::PerIteration));
    let cache = tempfile::tempdir().unwrap();
    let config = serde_json::json!({"cache_dir": cache.path()}).to_string();
    fresh(config.clone())().load_dir(scripts.path()).unwrap();
    g.sample_size(30);
    g.bench_function("warm_cache", |b| b.iter_batched(fresh(config.clone()), load("warm"), BatchSize::PerIteration));
    let one_engine = serde_json::json!({"cache_dir": cache.path(), "engine_shards": 1}).to_string();
    g.bench_function("warm_cache_one_engine", |b| b.iter_batched(fresh(one_engine.clone()), load("warm"), BatchSize::PerIteration));
    // The same runtime loading the unchanged folder again (a reload after a
    // deploy that touched nothing here): every script is kept.
    let rt = fresh(config.clone())();
    rt.load_dir(scripts.path()).unwrap();
    g.bench_function("reload_unchanged", |b| b.iter(|| assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 50)));
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
