//! SPEC §1 and §3 load rules: IDs, collisions, shadows, reloads, bad modules,
//! limits; and the precompiled cache.

mod common;
use common::*;
use serde_json::json;
use std::sync::Arc;
use yaowasm::Runtime;

fn problem_for<'a>(report: &'a yaowasm::LoadReport, file: &str) -> &'a yaowasm::Problem {
    report
        .problems
        .iter()
        .find(|p| p.file.ends_with(file))
        .unwrap_or_else(|| panic!("no problem reported for {file}: {:?}", report.problems))
}

#[test]
fn ids_follow_paths_and_bad_files_do_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "a/B/Hook.wasm", &wasm(&versioned_wat(1, 0)));
    write(d, "good.wasm", &wasm(&versioned_wat(2, 0)));
    write(d, "garbage.wasm", b"\0asm but not really");
    write(
        d,
        "teleport.wasm",
        &wasm(
            r#"(module (import "yao" "teleport" (func (param i32)))
        (memory (export "memory") 1) (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
        ),
    );
    write(
        d,
        "elsewhere.wasm",
        &wasm(
            r#"(module (import "env" "abort" (func (param i32)))
        (memory (export "memory") 1) (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
        ),
    );
    write(
        d,
        "nofunc.wasm",
        &wasm(
            r#"(module (memory (export "memory") 1)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0)))"#,
        ),
    );
    write(
        d,
        "noalloc.wasm",
        &wasm(
            r#"(module (memory (export "memory") 1)
        (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
        ),
    );
    write(
        d,
        "huge.wasm",
        &wasm(
            r#"(module (memory (export "memory") 2000)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
        ),
    );
    write(
        d,
        "bigtable.wasm",
        &wasm(
            r#"(module (memory (export "memory") 1) (table 1000000 funcref)
        (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
        (func (export "F") (param i32 i32) (result i64) (i64.const 0)))"#,
        ),
    );
    write(d, "notes.txt", b"not a script");

    let rt = Runtime::from_json(None).unwrap();
    let report = rt.load_dir(d).unwrap();
    assert_eq!(report.loaded, 2, "{:?}", report.problems);
    assert_eq!(rt.exec("scripts.a.b.hook.Version", &[]).unwrap(), vec![1]);
    assert_eq!(rt.exec("scripts.A.B.HOOK.Version", &[]).unwrap(), vec![1]);
    assert_eq!(rt.exec("scripts.good.Version", &[]).unwrap(), vec![2]);

    assert_eq!(problem_for(&report, "garbage.wasm").code, 400);
    let teleport = problem_for(&report, "teleport.wasm");
    assert_eq!(teleport.code, 400);
    assert!(teleport.message.contains("yao.teleport"), "{}", teleport.message);
    assert!(problem_for(&report, "elsewhere.wasm").message.contains("env.abort"));
    assert!(problem_for(&report, "nofunc.wasm").message.contains("no script function"));
    assert!(problem_for(&report, "noalloc.wasm").message.contains("yao_alloc"));
    let huge = problem_for(&report, "huge.wasm");
    assert_eq!(huge.code, 413);
    assert!(huge.message.contains("125 MiB") && huge.message.contains("64"), "sizes named: {}", huge.message);
    assert_eq!(problem_for(&report, "bigtable.wasm").code, 413);
    assert_eq!(report.problems.len(), 7);
    let text = report.problems_text().unwrap();
    assert!(text.starts_with("7 file(s) not loaded"), "{text}");
}

#[test]
fn two_files_for_one_id_are_an_error_for_that_id() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "hook.wasm", &wasm(&versioned_wat(1, 0)));
    write(dir.path(), "Hook.wasm", &wasm(&versioned_wat(2, 0)));
    write(dir.path(), "other.wasm", &wasm(&versioned_wat(3, 0)));
    let rt = Runtime::from_json(None).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 1);
    assert_eq!(report.problems.len(), 2, "both files are named");
    assert!(report.problems.iter().all(|p| p.message.contains("hook")));
    assert_eq!(rt.exec("scripts.hook.Version", &[]).unwrap_err().code(), 404);
}

#[test]
fn wasm_shadows_sources_and_list_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "user/hook.wasm", &wasm(&versioned_wat(1, 0)));
    write(dir.path(), "user/hook.ts", b"function Version() { return 9 }");
    write(dir.path(), "user/only.js", b"function F() {}");
    let rt = Runtime::from_json(None).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1, "sources are never run");
    let list = rt.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, "user.hook");
    assert_eq!(list[0].functions, vec!["Version"]);
    assert_eq!(list[0].shadows.len(), 1);
    assert!(list[0].shadows[0].ends_with("user/hook.ts"));
    assert_eq!(rt.exec("scripts.user.only.F", &[]).unwrap_err().code(), 404);
}

#[test]
fn reload_replaces_a_folder_atomically_and_keeps_other_folders() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    write(one.path(), "v.wasm", &wasm(&versioned_wat(1, 0)));
    write(one.path(), "gone.wasm", &wasm(&versioned_wat(1, 0)));
    write(two.path(), "other.wasm", &wasm(&versioned_wat(7, 0)));
    write(two.path(), "v.wasm", &wasm(&versioned_wat(8, 0)));
    let rt = Runtime::from_json(None).unwrap();
    assert_eq!(rt.load_dir(one.path()).unwrap().loaded, 2);
    let report = rt.load_dir(two.path()).unwrap();
    assert_eq!(report.loaded, 1);
    assert!(problem_for(&report, "v.wasm").message.contains("already provided"), "collision across folders");

    write(one.path(), "v.wasm", &wasm(&versioned_wat(2, 0)));
    std::fs::remove_file(one.path().join("gone.wasm")).unwrap();
    assert_eq!(rt.load_dir(one.path()).unwrap().loaded, 1);
    assert_eq!(rt.exec("scripts.v.Version", &[]).unwrap(), vec![2]);
    assert_eq!(rt.exec("scripts.gone.Version", &[]).unwrap_err().code(), 404, "removed file unloaded");
    assert_eq!(rt.exec("scripts.other.Version", &[]).unwrap(), vec![7], "other folder stays");

    // A file caught half-written keeps its last good version, reported.
    write(one.path(), "v.wasm", b"\0asm\x01\0\0\0truncated");
    let report = rt.load_dir(one.path()).unwrap();
    assert_eq!(problem_for(&report, "v.wasm").code, 400);
    assert_eq!(rt.exec("scripts.v.Version", &[]).unwrap(), vec![2], "still served");
    write(one.path(), "v.wasm", &wasm(&versioned_wat(3, 0)));
    assert_eq!(rt.load_dir(one.path()).unwrap().loaded, 1);
    assert_eq!(rt.exec("scripts.v.Version", &[]).unwrap(), vec![3]);
}

#[test]
fn calls_in_flight_finish_on_the_old_version() {
    let dir = tempfile::tempdir().unwrap();
    // ~hundreds of ms of spinning in the debug build, under the 10 s timeout.
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 200_000_000)));
    let rt = Runtime::from_json(Some(r#"{"timeout_ms": 10000}"#)).unwrap();
    rt.load_dir(dir.path()).unwrap();
    let slow = {
        let rt = rt.clone();
        std::thread::spawn(move || rt.exec("scripts.v.Version", &[]))
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(2, 0)));
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 1);
    assert_eq!(rt.exec("scripts.v.Version", &[]).unwrap(), vec![2]);
    rt.unload("v").unwrap();
    assert_eq!(slow.join().unwrap().unwrap(), vec![1], "the call that started on v1 ends on v1");
}

#[test]
fn load_file_unload_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "x.wasm", &wasm(&versioned_wat(5, 0)));
    let rt = Runtime::from_json(None).unwrap();
    rt.load_file(&file, Some("My.Hook")).unwrap();
    assert_eq!(rt.exec("scripts.my.hook.Version", &[]).unwrap(), vec![5]);
    rt.load_file(&file, None).unwrap();
    assert_eq!(rt.exec("scripts.x.Version", &[]).unwrap(), vec![5]);
    assert_eq!(rt.unload("my.hook"), Ok(()));
    assert_eq!(rt.unload("my.hook").unwrap_err().code(), 404);
    assert_eq!(rt.load_file(dir.path().join("missing.wasm"), None).unwrap_err().code(), 404);
    assert_eq!(rt.load_file(&file, Some("bad..id")).unwrap_err().code(), 400);
    assert_eq!(rt.load_dir(dir.path().join("missing")).unwrap_err().code(), 404);
    let folder = tempfile::tempdir().unwrap();
    write(folder.path(), "y.wasm", &wasm(&versioned_wat(6, 0)));
    rt.load_dir(folder.path()).unwrap();
    assert_eq!(rt.load_file(&file, Some("y")).unwrap_err().code(), 400, "a folder provides y");
}

#[test]
fn cache_is_used_and_a_corrupt_file_is_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let scripts = tempfile::tempdir().unwrap();
    write(scripts.path(), "sink.wasm", &wasm(&sink_wat()));
    let config = json!({"cache_dir": cache.path()}).to_string();
    let files = || {
        // The entries; the folder's key (cache.key) is not one.
        let mut f: Vec<_> =
            std::fs::read_dir(cache.path()).unwrap().map(|e| e.unwrap().path()).filter(|p| !p.ends_with("cache.key")).collect();
        f.sort();
        f
    };
    {
        let rt = Runtime::from_json(Some(&config)).unwrap();
        assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    }
    let written = files();
    assert_eq!(written.len(), 2, "one module and its tag: {written:?}");
    let cwasm = written.iter().find(|p| p.extension().unwrap() == "cwasm").unwrap().clone();
    let modified = std::fs::metadata(&cwasm).unwrap().modified().unwrap();

    let rt = Runtime::from_json(Some(&config)).unwrap();
    assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    assert_eq!(std::fs::metadata(&cwasm).unwrap().modified().unwrap(), modified, "served from the cache, not rewritten");
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap(), vec![0x91, 0x01]);

    // Truncated, then bit-flipped: both are recompiled, never trusted.
    let original = std::fs::read(&cwasm).unwrap();
    for damage in [original[..original.len() / 2].to_vec(), {
        let mut flipped = original.clone();
        let i = flipped.len() / 3;
        flipped[i] ^= 0xff;
        flipped
    }] {
        std::fs::write(&cwasm, &damage).unwrap();
        let rt = Runtime::from_json(Some(&config)).unwrap();
        assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
        assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x02]).unwrap(), vec![0x91, 0x02]);
        assert_eq!(std::fs::read(&cwasm).unwrap().len(), original.len(), "rewritten whole");
    }
    // A cache made with other engine settings is a different key.
    let other = Runtime::from_json(Some(&json!({"cache_dir": cache.path(), "max_memory_mb": 32}).to_string())).unwrap();
    other.load_dir(scripts.path()).unwrap();
    assert_eq!(files().len(), 4, "other settings, other file");
}

#[test]
fn cache_is_kept_under_cache_max_mb_least_recently_used_first() {
    use std::time::{Duration, SystemTime};
    let (cache, scripts) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(scripts.path(), "sink.wasm", &wasm(&sink_wat()));
    let hours_ago = |h: u64| SystemTime::now() - Duration::from_secs(h * 3600);
    let put = |name: &str, size: usize, modified: SystemTime| {
        let path = cache.path().join(name);
        std::fs::write(&path, vec![7u8; size]).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(modified).unwrap();
        path
    };
    let key = |i: u32| format!("{i:064x}");
    // Three entries of other modules, 400 KiB each, last used 3, 2 and 1
    // hours ago (the .hmac's mtime is the last use).
    for (i, age) in [(1, 3), (2, 2), (3, 1)] {
        put(&format!("{}.cwasm", key(i)), 400 << 10, hours_ago(age));
        put(&format!("{}.hmac", key(i)), 64, hours_ago(age));
    }
    // What no key reaches any more, and what a prune must leave alone.
    let leftovers = [
        put(&format!("{}.sha256", key(4)), 64, hours_ago(5)),         // key scheme v1
        put(&format!("{}.cwasm", key(4)), 100 << 10, hours_ago(5)),   // its module, with no .hmac
        put(&format!("{}.tmp999-1", key(5)), 50 << 10, hours_ago(2)), // a crashed writer's temporary
        put(&format!("{}.hmac", key(6)), 64, hours_ago(2)),           // a tag without its module
        put(&format!("{}.xxh3", key(8)), 32, hours_ago(1)),           // key scheme v2's checksum
        put(&format!("{}.cwasm", key(8)), 100 << 10, hours_ago(1)),   // and its module
    ];
    let kept = [
        put(&format!("{}.tmp999-2", key(7)), 10, SystemTime::now()), // a write in progress
        put("notes.txt", 10, hours_ago(48)),                         // not ours
    ];
    let exists = |name: String| cache.path().join(name).exists();

    let config = json!({"cache_dir": cache.path(), "cache_max_mb": 1}).to_string();
    let rt = Runtime::from_json(Some(&config)).unwrap();
    assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    // 1200 KiB of entries plus the new one is over 1 MiB: the least
    // recently used goes, both of its files; the others stay.
    assert!(!exists(format!("{}.cwasm", key(1))) && !exists(format!("{}.hmac", key(1))), "the oldest entry is evicted");
    for i in [2, 3] {
        assert!(exists(format!("{}.cwasm", key(i))) && exists(format!("{}.hmac", key(i))), "entry {i} is within the cap");
    }
    for path in &leftovers {
        assert!(!path.exists(), "{} is a leftover", path.display());
    }
    for path in &kept {
        assert!(path.exists(), "{} must be left alone", path.display());
    }
    let others = [key(2), key(3)];
    let new_checksum = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "hmac") && !others.iter().any(|k| p.file_stem().unwrap() == k.as_str()))
        .expect("the module just compiled is cached");
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap(), vec![0x91, 0x01]);

    // A hit stamps the entry's last use, so what is used stays.
    std::fs::File::options().write(true).open(&new_checksum).unwrap().set_modified(hours_ago(10)).unwrap();
    let rt = Runtime::from_json(Some(&config)).unwrap();
    assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    let stamped = std::fs::metadata(&new_checksum).unwrap().modified().unwrap();
    assert!(stamped > hours_ago(1), "a cache hit marks the entry used");

    assert_eq!(Runtime::from_json(Some(&json!({"cache_max_mb": 0}).to_string())).err().map(|e| e.code()), Some(400));
}

#[test]
fn reload_compiles_only_what_changed() {
    let (dir, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write(dir.path(), "same.wasm", &wasm(&versioned_wat(1, 0)));
    write(dir.path(), "edited.wasm", &wasm(&versioned_wat(2, 0)));
    let rt = Runtime::from_json(Some(&json!({"cache_dir": cache.path()}).to_string())).unwrap();
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 2);
    let cached =
        |ext: &str| std::fs::read_dir(cache.path()).unwrap().filter(|e| e.as_ref().unwrap().path().extension().unwrap() == ext).count();
    assert_eq!(cached("cwasm"), 2);
    // With the cache emptied, a reload shows what it compiled: only the
    // edited file (same length, one byte different) lands in the cache again.
    for entry in std::fs::read_dir(cache.path()).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    write(dir.path(), "edited.wasm", &wasm(&versioned_wat(3, 0)));
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 2);
    assert_eq!(cached("cwasm"), 1, "the unchanged script was kept, not recompiled");
    assert_eq!(rt.exec("scripts.same.Version", &[]).unwrap(), vec![1]);
    assert_eq!(rt.exec("scripts.edited.Version", &[]).unwrap(), vec![3]);
    // A new shadowing source is a change too (list reports it), so the
    // script is rebuilt with it.
    write(dir.path(), "same.ts", b"function Version() { return 9 }");
    assert_eq!(rt.load_dir(dir.path()).unwrap().loaded, 2);
    let same = rt.list().into_iter().find(|s| s.id == "same").unwrap();
    assert_eq!(same.shadows.len(), 1, "{:?}", same.shadows);
}

#[test]
fn config_errors_are_400() {
    for bad in [r#"{"nope": 1}"#, r#"{"max_memory_mb": "big"}"#, "not json"] {
        assert_eq!(Runtime::from_json(Some(bad)).err().unwrap().code(), 400, "{bad}");
    }
}

#[test]
fn runtimes_are_freed_without_leaking_threads() {
    fn threads() -> usize {
        std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(0)
    }
    let before = threads();
    for _ in 0..20 {
        let (rt, _dir) = sink_runtime("{}");
        rt.set_process_handler(Some(Arc::new(|_: &str, _: &[u8]| Ok(vec![0xc0]))));
        rt.exec("scripts.sink.CallHost", &[]).unwrap();
    }
    // Other tests run in parallel threads; allow for them, not for 20 tickers.
    assert!(threads() < before + 10, "epoch threads leaked: {before} -> {}", threads());
}

#[test]
fn stats_survive_a_reload_of_a_changed_file_and_go_with_unload() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(1, 0)));
    let rt = Runtime::from_json(None).unwrap();
    rt.load_dir(dir.path()).unwrap();
    rt.exec("scripts.v.Version", &[]).unwrap();
    rt.exec("scripts.v.Version", &[]).unwrap();
    write(dir.path(), "v.wasm", &wasm(&versioned_wat(2, 0)));
    rt.load_dir(dir.path()).unwrap();
    assert_eq!(rt.exec("scripts.v.Version", &[]).unwrap(), vec![2], "the new build serves");
    assert_eq!(rt.stats().scripts[0].calls, 3, "counters belong to the process name");
    let extra = dir.path().join("extra.wasm");
    std::fs::write(&extra, wasm(&versioned_wat(5, 0))).unwrap();
    rt.load_file(&extra, Some("one")).unwrap();
    rt.exec("scripts.one.Version", &[]).unwrap();
    rt.load_file(&extra, Some("one")).unwrap();
    let one = rt.stats().scripts.into_iter().find(|s| s.id == "one").unwrap();
    assert_eq!(one.calls, 1, "load_file again keeps them too");
    rt.unload("one").unwrap();
    assert!(rt.stats().scripts.iter().all(|s| s.id != "one"), "unloaded: gone");
}

#[test]
fn another_target_is_precompiled_into_the_cache_not_loaded() {
    let cache = tempfile::tempdir().unwrap();
    let scripts = tempfile::tempdir().unwrap();
    write(scripts.path(), "sink.wasm", &wasm(&sink_wat()));
    let entries = || {
        let mut f: Vec<_> = std::fs::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
            .collect();
        f.sort();
        f
    };
    // aarch64 (or x86-64 when this runs on aarch64): code this machine
    // cannot run, so it is saved, and the load reports it as saved only.
    let other = if cfg!(target_arch = "aarch64") { "x86_64-unknown-linux-gnu" } else { "aarch64-unknown-linux-gnu" };
    let config = json!({"cache_dir": cache.path(), "target": other}).to_string();
    let rt = Runtime::from_json(Some(&config)).unwrap();
    let report = rt.load_dir(scripts.path()).unwrap();
    assert_eq!(report.loaded, 0);
    let problem = problem_for(&report, "sink.wasm");
    assert!(problem.message.contains(yaowasm::PRECOMPILED_ONLY) && problem.message.contains(other), "{problem:?}");
    // What `yaowasm compile --target` counts as done: by kind, not wording.
    assert_eq!(problem.kind, Some(yaowasm::ErrorKind::PrecompiledOnly), "{problem:?}");
    assert_eq!(entries().len(), 1, "the module for {other} is in the cache");
    // A second compile finds the entry and keeps it.
    let first = std::fs::metadata(&entries()[0]).unwrap().modified().unwrap();
    let report = Runtime::from_json(Some(&config)).unwrap().load_dir(scripts.path()).unwrap();
    assert!(problem_for(&report, "sink.wasm").message.contains(yaowasm::PRECOMPILED_ONLY));
    assert_eq!(std::fs::metadata(&entries()[0]).unwrap().modified().unwrap(), first);
    // This machine's runtime does not pick the other target's entry (the
    // target is part of the key): it compiles its own and runs it.
    let rt = Runtime::from_json(Some(&json!({"cache_dir": cache.path()}).to_string())).unwrap();
    assert_eq!(rt.load_dir(scripts.path()).unwrap().loaded, 1);
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x03]).unwrap(), vec![0x91, 0x03]);
    assert_eq!(entries().len(), 2);
    // A triple that is not one, or that wasmtime has no backend for, is the
    // config's fault.
    for bad in ["not-a-triple-at-all", "sparc-sun-solaris"] {
        let e = Runtime::from_json(Some(&json!({ "target": bad }).to_string())).err().expect(bad);
        assert_eq!(e.code(), 400, "{bad}: {}", e.message());
        assert!(e.message().contains("config: target"), "{bad}: {}", e.message());
    }
}
