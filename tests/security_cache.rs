//! The compiled-module cache is loaded as native code, so nothing a script
//! can write, and nothing anyone but this runtime's user wrote, may ever be
//! loaded from it (hostile review, hole 1: a guest swapped another script's
//! `.cwasm` for one of its own and rewrote the xxh3 checksum beside it).

mod common;

use common::*;
use hmac::{Hmac, Mac};
use serde_json::json;
use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use yaowasm::{LogLevel, Runtime};

/// The `.cwasm` files of a cache folder.
fn modules(cache: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "cwasm")).collect()
}

/// The file written beside a `.cwasm` to vouch for it (whatever the scheme
/// calls it).
fn sidecar(cwasm: &Path) -> PathBuf {
    let stem = cwasm.file_stem().unwrap().to_owned();
    std::fs::read_dir(cwasm.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_stem() == Some(&stem) && p.extension().is_some_and(|e| e != "cwasm"))
        .unwrap_or_else(|| panic!("no sidecar beside {}", cwasm.display()))
}

fn xxh3_hex(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// What the sidecar of `cwasm` must say for `bytes` under `secret`, per the
/// scheme documented in src/runtime/cache.rs.
fn tag(secret: &[u8], cwasm: &Path, bytes: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
    mac.update(b"yaowasm-cache-v3\0");
    mac.update(cwasm.file_stem().unwrap().to_str().unwrap().as_bytes());
    mac.update(b"\0");
    mac.update(bytes);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// A cache folder holding script `a` (Version 1) and script `b` (Version
/// 2), and each one's `.cwasm`.
struct Cached {
    cache: tempfile::TempDir,
    a_dir: tempfile::TempDir,
    b_dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

impl Cached {
    fn new() -> Cached {
        let (cache, a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(a_dir.path(), "a.wasm", &wasm(&versioned_wat(1, 0)));
        write(b_dir.path(), "b.wasm", &wasm(&versioned_wat(2, 0)));
        let rt = Runtime::from_json(Some(&json!({"cache_dir": cache.path()}).to_string())).unwrap();
        assert_eq!(rt.load_dir(a_dir.path()).unwrap().loaded, 1);
        let a = modules(cache.path()).pop_first().expect("a is cached");
        assert_eq!(rt.load_dir(b_dir.path()).unwrap().loaded, 1);
        let b = modules(cache.path()).into_iter().find(|p| *p != a).expect("b is cached");
        Cached { cache, a_dir, b_dir, a, b }
    }

    fn config(&self) -> String {
        json!({"cache_dir": self.cache.path()}).to_string()
    }

    /// A fresh runtime loading `a` through the cache: what `Version` says.
    fn run_a(&self) -> Vec<u8> {
        let rt = Runtime::from_json(Some(&self.config())).unwrap();
        assert_eq!(rt.load_dir(self.a_dir.path()).unwrap().loaded, 1);
        rt.exec("scripts.a.Version", &[]).unwrap()
    }
}

#[test]
fn a_swapped_entry_with_a_recomputed_checksum_is_not_run() {
    let c = Cached::new();
    assert_eq!(c.run_a(), vec![1]);
    let b_bytes = std::fs::read(&c.b).unwrap();
    // The attack as reproduced: b's machine code under a's name, with the
    // checksum the old code wrote recomputed for it; and b's own sidecar
    // copied beside it (a replay of a genuine tag).
    let recomputed = xxh3_hex(&b_bytes).into_bytes();
    let replayed = std::fs::read(sidecar(&c.b)).unwrap();
    for (what, forged) in [("recomputed checksum", recomputed), ("replayed sidecar", replayed)] {
        std::fs::write(&c.a, &b_bytes).unwrap();
        std::fs::write(sidecar(&c.a), &forged).unwrap();
        assert_eq!(c.run_a(), vec![1], "{what}: a's own code runs, not the swapped-in entry");
        assert_ne!(std::fs::read(&c.a).unwrap(), b_bytes, "{what}: the entry is rewritten");
        assert_ne!(std::fs::read(sidecar(&c.a)).unwrap(), forged, "{what}: and so is its sidecar");
        assert_eq!(c.run_a(), vec![1], "{what}: the rewritten entry serves");
    }
    // Loading b itself still works from its (untouched) entry.
    let rt = Runtime::from_json(Some(&c.config())).unwrap();
    assert_eq!(rt.load_dir(c.b_dir.path()).unwrap().loaded, 1);
    assert_eq!(rt.exec("scripts.b.Version", &[]).unwrap(), vec![2]);
}

#[test]
fn cache_dir_inside_an_fs_root_or_a_wasi_preopen_is_400() {
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("app");
    std::fs::create_dir_all(app.join("data")).unwrap();
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&app, &link).unwrap();
    let code = |config: serde_json::Value| Runtime::from_json(Some(&config.to_string())).err().map(|e| e.code());
    let bad = [
        json!({"cache_dir": app.join(".yaowasm/cache"), "fs": {"system": app}}),
        json!({"cache_dir": app, "fs": {"system": app}}),
        // Containing a root is refused too.
        json!({"cache_dir": tmp.path(), "fs": {"data": app.join("data")}}),
        // Through a symlink, on either side.
        json!({"cache_dir": link.join("cache"), "fs": {"system": app}}),
        json!({"cache_dir": app.join("cache2"), "fs": {"system": link}}),
        json!({"cache_dir": app.join("c"), "fs": {"system": tmp.path().join("app/../app")}}),
        json!({"cache_dir": app.join("cache3"), "wasi": {"preopen": {"/app": app}}}),
        json!({"cache_dir": app.join("cache4"), "wasi": {"preopen": {"/app": app}, "read_only": ["/app"]}}),
        json!({"cache_dir": link.join("data/cache"), "wasi": {"preopen": {"/data": app.join("data")}}}),
    ];
    for config in bad {
        assert_eq!(code(config.clone()), Some(400), "{config}");
    }
    // Beside a root (even one whose name it starts with) is fine.
    let good = json!({
        "cache_dir": tmp.path().join("app-cache"),
        "fs": {"system": app},
        "wasi": {"preopen": {"/data": app.join("data")}}
    });
    assert_eq!(code(good.clone()), None, "{good}");
    let message = Runtime::from_json(Some(&json!({"cache_dir": app.join("x"), "fs": {"system": app}}).to_string())).err().unwrap();
    assert!(message.message().contains("cache_dir") && message.message().contains("fs.system"), "{message:?}");
}

#[test]
fn a_cache_folder_or_key_others_can_write_is_never_loaded_from() {
    for (dir_mode, key_mode) in [(0o777, 0o600), (0o770, 0o600), (0o1777, 0o600), (0o700, 0o620), (0o700, 0o644)] {
        let what = format!("folder {dir_mode:o}, key {key_mode:o}");
        let c = Cached::new();
        // Whoever can write the folder can put a key of their own there and
        // tag anything with it.
        let key = c.cache.path().join("cache.key");
        let b_bytes = std::fs::read(&c.b).unwrap();
        let forged = match sidecar(&c.a).extension().unwrap().to_str().unwrap() {
            "xxh3" => xxh3_hex(&b_bytes),
            _ => {
                std::fs::remove_file(&key).unwrap();
                std::fs::write(&key, [7u8; 32]).unwrap();
                tag(&[7u8; 32], &c.a, &b_bytes)
            }
        };
        std::fs::write(&c.a, &b_bytes).unwrap();
        std::fs::write(sidecar(&c.a), &forged).unwrap();
        if key.exists() {
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(key_mode)).unwrap();
        }
        std::fs::set_permissions(c.cache.path(), std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let listing = || {
            let mut files: Vec<_> = std::fs::read_dir(c.cache.path())
                .unwrap()
                .map(|e| {
                    let p = e.unwrap().path();
                    (p.clone(), std::fs::read(&p).unwrap())
                })
                .collect();
            files.sort();
            files
        };
        let before = listing();

        let rt = Runtime::from_json(Some(&c.config())).unwrap();
        let logs = capture_logs(&rt);
        assert_eq!(rt.load_dir(c.a_dir.path()).unwrap().loaded, 1);
        assert_eq!(rt.load_dir(c.b_dir.path()).unwrap().loaded, 1);
        assert_eq!(rt.exec("scripts.a.Version", &[]).unwrap(), vec![1], "{what}: a's own code runs");
        assert_eq!(rt.exec("scripts.b.Version", &[]).unwrap(), vec![2], "{what}");
        assert_eq!(listing(), before, "{what}: nothing is written to the folder either");
        let warnings: Vec<_> = logs.lock().unwrap().iter().filter(|(l, m)| *l == LogLevel::Warn && m.contains("cache")).cloned().collect();
        assert_eq!(warnings.len(), 1, "{what}: one warning, {warnings:?}");
        std::fs::set_permissions(c.cache.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}

#[test]
fn a_new_cache_folder_and_its_key_are_private() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("new/cache");
    let (rt, _scripts) = sink_runtime(&json!({"cache_dir": cache}).to_string());
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap(), vec![0x91, 0x01]);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&cache), 0o700);
    let key = cache.join("cache.key");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    assert_eq!(modules(&cache).len(), 1, "the folder is used");
    // A second runtime keeps the key (its entries stay valid).
    let first = std::fs::read(&key).unwrap();
    let (rt, _scripts) = sink_runtime(&json!({"cache_dir": cache}).to_string());
    assert_eq!(rt.exec("scripts.sink.Echo", &[0x91, 0x01]).unwrap(), vec![0x91, 0x01]);
    assert_eq!(std::fs::read(&key).unwrap(), first);
}
