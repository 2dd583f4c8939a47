//! Hostile-review regressions for `yao.fs` (docs/ABI.md §6): a symlink
//! swapped on the path between the check and the use never lets a folder
//! operation touch anything outside the root; setuid, setgid and sticky bits
//! are never set; a long Copy stops at the call's deadline and leaves nothing
//! half-written.

mod common;

use common::{fields, json, mp, wasm, write, ALLOC, FIELDS, PACK};
use serde_json::{json, Value as Json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yaowasm::{Error, Runtime};

/// `Fs` takes ONE bin arg of three length-prefixed fields (root, method,
/// args) and hands them to `yao.fs` unchanged.
fn fs_wat() -> String {
    format!(
        r#"(module
  (import "yao" "fs" (func $fs (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  {ALLOC}
  {PACK}
  {FIELDS}
  (func (export "Fs") (param $b i32) (param i32) (result i64)
    (call $fs (call $fp (local.get $b) (i32.const 0)) (call $fl (local.get $b) (i32.const 0))
              (call $fp (local.get $b) (i32.const 1)) (call $fl (local.get $b) (i32.const 1))
              (call $fp (local.get $b) (i32.const 2)) (call $fl (local.get $b) (i32.const 2))))
)"#
    )
}

fn runtime(config: &Json) -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "fsg.wasm", &wasm(&fs_wat()));
    let rt = Runtime::from_json(Some(&config.to_string())).unwrap();
    let report = rt.load_dir(dir.path()).unwrap();
    assert_eq!(report.loaded, 1, "{:?}", report.problems);
    (rt, dir)
}

fn fs(rt: &Runtime, method: &str, args: Json) -> Result<Json, Error> {
    rt.exec("scripts.fsg.Fs", &fields(&[b"data", method.as_bytes(), &mp(&args)])).map(|r| json(&r))
}

/// Every name under `dir` (recursively, relative), sorted.
fn listing(dir: &Path) -> Vec<String> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = format!("{rel}{}", entry.file_name().to_string_lossy());
            out.push(name.clone());
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &format!("{name}/"), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}

/// Hole 3: data/sw flips between a real directory and a symlink to outside/
/// while a guest calls every folder operation through it. Nothing outside
/// is ever moved, removed, created or listed.
#[test]
fn fs_swap_race_never_touches_outside() {
    let base = tempfile::tempdir().unwrap();
    let (data, outside) = (base.path().join("data"), base.path().join("outside"));
    std::fs::create_dir(&data).unwrap();
    std::fs::create_dir_all(outside.join("tree/deeper")).unwrap();
    std::fs::write(outside.join("victim.txt"), "OUTSIDE").unwrap();
    std::fs::write(outside.join("only_outside.txt"), "OUTSIDE").unwrap();
    std::fs::write(outside.join("tree/deeper/leaf.txt"), "OUTSIDE").unwrap();
    std::fs::set_permissions(outside.join("victim.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = listing(&outside);
    std::fs::create_dir_all(data.join("sw/tree/deeper")).unwrap();
    let (rt, _scripts) = runtime(&json!({"fs": {"data": &data}}));

    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let (stop, data, outside) = (stop.clone(), data.clone(), outside.clone());
        std::thread::spawn(move || {
            let (sw, parked) = (data.join("sw"), data.join("parked"));
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // The guest may recreate data/sw (MkdirAll) at any moment:
                // every step tolerates that.
                let _ = std::fs::rename(&sw, &parked);
                if std::os::unix::fs::symlink(&outside, &sw).is_err() {
                    let _ = std::fs::remove_dir_all(&sw);
                    continue;
                }
                std::thread::yield_now();
                let _ = std::fs::remove_file(&sw);
                if parked.exists() && std::fs::rename(&parked, &sw).is_err() {
                    let _ = std::fs::remove_dir_all(&sw);
                    let _ = std::fs::rename(&parked, &sw);
                }
                std::thread::yield_now();
                flips += 1;
            }
            flips
        })
    };
    let mut done = 0u64;
    let mut escaped = Vec::new();
    let started = Instant::now();
    for i in 0..2000 {
        // Refill the inside copy (writes open beneath the root already).
        let _ = fs(&rt, "WriteFile", json!(["sw/victim.txt", "inside"]));
        let _ = fs(&rt, "WriteFile", json!(["plant.txt", "planted"]));
        let _ = fs(&rt, "MkdirAll", json!(["sw/tree/deeper"]));
        let calls: [(&str, Json); 9] = [
            ("Move", json!(["sw/victim.txt", "pulled.txt"])),
            ("Move", json!(["plant.txt", "sw/planted.txt"])),
            ("Remove", json!(["sw/victim.txt"])),
            ("RemoveAll", json!(["sw/tree"])),
            ("Mkdir", json!([format!("sw/made{i}")])),
            ("MkdirAll", json!([format!("sw/all{i}/x")])),
            ("Copy", json!(["plant.txt", "sw/copied.txt"])),
            ("Copy", json!(["sw/victim.txt", "copied_in.txt"])),
            ("ReadDir", json!(["sw", true])),
        ];
        for (method, args) in calls {
            match fs(&rt, method, args.clone()) {
                Ok(Json::Array(names)) => {
                    done += 1;
                    if names.iter().any(|n| n.as_str().is_some_and(|n| n.contains("only_outside"))) {
                        escaped.push(format!("{method} {args} listed outside: {names:?}"));
                    }
                }
                Ok(_) => done += 1,
                Err(e) => assert!(matches!(e.code(), 400 | 403 | 404 | 409), "{method} {args}: {e}"),
            }
        }
        for pulled in ["pulled.txt", "copied_in.txt"] {
            if std::fs::read_to_string(data.join(pulled)).is_ok_and(|t| t == "OUTSIDE") {
                escaped.push(format!("{pulled} came from outside"));
            }
            let _ = std::fs::remove_file(data.join(pulled));
        }
        if listing(&outside) != before || !escaped.is_empty() {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let flips = flipper.join().unwrap();
    assert_eq!(listing(&outside), before, "outside changed ({escaped:?})");
    assert!(escaped.is_empty(), "{escaped:?}");
    assert_eq!(std::fs::read_to_string(outside.join("victim.txt")).unwrap(), "OUTSIDE");
    assert_eq!(std::fs::metadata(outside.join("victim.txt")).unwrap().permissions().mode() & 0o7777, 0o640);
    assert!(done > 100 && flips > 100, "the race ran ({done} calls answered, {flips} flips)");
}

/// Hole 8: setuid, setgid and sticky bits asked for are dropped (masked to
/// 0o777), for files and folders.
#[test]
fn fs_modes_never_carry_setuid_setgid_or_sticky() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (rt, _scripts) = runtime(&json!({"fs": {"data": &data}}));
    assert_eq!(fs(&rt, "WriteFile", json!(["suid.bin", "#!/bin/sh\n", 0o6755])).unwrap(), json!(10));
    assert_eq!(fs(&rt, "WriteFileBuffer", json!(["suid2.bin", "x", 0o4777])).unwrap(), json!(1));
    assert_eq!(fs(&rt, "AppendFile", json!(["suid3.bin", "x", 0o2755])).unwrap(), json!(1));
    assert_eq!(fs(&rt, "Mkdir", json!(["sticky", 0o1777])).unwrap(), Json::Null);
    assert_eq!(fs(&rt, "Mkdir", json!(["sgid", 0o2755])).unwrap(), Json::Null);
    assert_eq!(fs(&rt, "MkdirAll", json!(["all/sticky", 0o1777])).unwrap(), Json::Null);
    for (name, perm) in [
        ("suid.bin", 0o755),
        ("suid2.bin", 0o755),
        ("suid3.bin", 0o755),
        ("sticky", 0o755),
        ("sgid", 0o755),
        ("all", 0o755),
        ("all/sticky", 0o755),
    ] {
        let mode = std::fs::metadata(data.join(name)).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode & 0o7000, 0, "{name}: {mode:o}");
        assert_eq!(mode, perm, "{name}: the permission bits still apply (less the umask)");
    }
    // Over 0o7777 is still a 400.
    assert_eq!(fs(&rt, "Mkdir", json!(["big", 0o10000])).unwrap_err().code(), 400);
}

/// Hole 10 (fs): a Copy longer than the call's `timeout_ms` stops at the
/// deadline with 408, leaving neither the destination nor a temporary file.
#[test]
fn fs_copy_stops_at_the_deadline_and_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let data = base.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let big = std::fs::File::create(data.join("big.bin")).unwrap();
    big.set_len(512 << 20).unwrap();
    drop(big);
    let (rt, _scripts) = runtime(&json!({"fs": {"data": &data}, "timeout_ms": 50}));
    let started = Instant::now();
    let err = fs(&rt, "Copy", json!(["big.bin", "copy.bin"])).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.code(), 408, "{err}");
    assert!(elapsed < Duration::from_secs(1), "took {elapsed:?}");
    assert_eq!(listing(&data), vec!["big.bin".to_owned()], "no destination, no temporary file");
    // A small copy under the same deadline still lands whole.
    std::fs::write(data.join("small.txt"), "small").unwrap();
    assert_eq!(fs(&rt, "Copy", json!(["small.txt", "small2.txt"])).unwrap(), Json::Null);
    assert_eq!(std::fs::read_to_string(data.join("small2.txt")).unwrap(), "small");
    assert_eq!(listing(&data), vec!["big.bin".to_owned(), "small.txt".to_owned(), "small2.txt".to_owned()]);
}

/// Controls for the descriptor-based folder operations: Remove, RemoveAll
/// and Move act on a last-component symlink itself (never through it), a
/// RemoveAll of a tree holding a link to outside removes the link only, a
/// recursive ReadDir lists a link without following it, MkdirAll over a file
/// is a 409, and Copy replaces a file whole.
#[test]
fn fs_folder_operations_act_on_links_not_through_them() {
    let base = tempfile::tempdir().unwrap();
    let (data, outside) = (base.path().join("data"), base.path().join("outside"));
    std::fs::create_dir_all(data.join("tree/sub")).unwrap();
    std::fs::create_dir_all(outside.join("keep")).unwrap();
    std::fs::write(outside.join("keep/k.txt"), "OUTSIDE").unwrap();
    std::fs::write(data.join("target.txt"), "target").unwrap();
    std::os::unix::fs::symlink("target.txt", data.join("link.txt")).unwrap();
    std::os::unix::fs::symlink("target.txt", data.join("link2.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, data.join("tree/sub/out")).unwrap();
    std::fs::write(data.join("tree/sub/f.txt"), "f").unwrap();
    let (rt, _scripts) = runtime(&json!({"fs": {"data": &data}}));
    // A link that stays inside is still read through.
    assert_eq!(fs(&rt, "ReadFile", json!(["link.txt"])).unwrap(), json!("target"));
    assert_eq!(fs(&rt, "ReadDir", json!(["tree", true])).unwrap(), json!(["tree/sub", "tree/sub/f.txt", "tree/sub/out"]));
    assert_eq!(fs(&rt, "Remove", json!(["link.txt"])).unwrap(), Json::Null);
    assert!(std::fs::symlink_metadata(data.join("link.txt")).is_err(), "the link went");
    assert_eq!(std::fs::read_to_string(data.join("target.txt")).unwrap(), "target", "its target stayed");
    assert_eq!(fs(&rt, "Move", json!(["link2.txt", "tree/moved-link"])).unwrap(), Json::Null);
    assert!(std::fs::symlink_metadata(data.join("tree/moved-link")).unwrap().is_symlink());
    assert_eq!(fs(&rt, "RemoveAll", json!(["tree"])).unwrap(), Json::Null);
    assert!(!data.join("tree").exists());
    assert_eq!(listing(&outside), vec!["keep".to_owned(), "keep/k.txt".to_owned()]);
    assert_eq!(fs(&rt, "MkdirAll", json!(["target.txt"])).unwrap_err().code(), 409);
    assert_eq!(fs(&rt, "MkdirAll", json!(["target.txt/x"])).unwrap_err().code(), 400);
    assert_eq!(fs(&rt, "MkdirAll", json!(["a/b/c"])).unwrap(), Json::Null);
    assert_eq!(fs(&rt, "MkdirAll", json!(["a/b/c"])).unwrap(), Json::Null);
    std::fs::write(data.join("a/old.txt"), "a much longer old content").unwrap();
    assert_eq!(fs(&rt, "Copy", json!(["target.txt", "a/old.txt"])).unwrap(), Json::Null);
    assert_eq!(std::fs::read_to_string(data.join("a/old.txt")).unwrap(), "target");
    assert_eq!(fs(&rt, "Copy", json!(["target.txt", "a/b"])).unwrap_err().code(), 400, "a folder is not replaced");
    assert_eq!(listing(&data.join("a")), vec!["b".to_owned(), "b/c".to_owned(), "old.txt".to_owned()], "no temporary file left");
}

/// An archive of `entries` (name, content; a content starting with `->` is
/// a symlink to the rest), written with the zip crate as a hostile tool
/// would: names as given.
fn archive(path: &Path, entries: &[(&str, &str)]) {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, content) in entries {
        match content.strip_prefix("->") {
            Some(target) => writer.add_symlink(*name, target, options).unwrap(),
            None => {
                writer.start_file(*name, options).unwrap();
                writer.write_all(content.as_bytes()).unwrap();
            }
        }
    }
    writer.finish().unwrap();
}

/// Zip slip: Unzip refuses (403) an archive with an entry that would leave
/// the target folder (`..`, absolute, a Windows path) or that is a symlink,
/// before writing anything, even its harmless entries; and a symlink
/// already inside the target cannot redirect an entry outside.
#[test]
fn fs_unzip_refuses_zip_slip_and_writes_nothing() {
    let base = tempfile::tempdir().unwrap();
    let (data, outside) = (base.path().join("data"), base.path().join("outside"));
    std::fs::create_dir_all(data.join("dst")).unwrap();
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("victim.txt"), "OUTSIDE").unwrap();
    std::os::unix::fs::symlink(&outside, data.join("dst/out")).unwrap();
    let (rt, _scripts) = runtime(&json!({"fs": {"data": &data}}));
    let hostile: [(&str, &[(&str, &str)]); 7] = [
        ("dotdot.zip", &[("ok.txt", "fine"), ("../../outside/victim.txt", "PWNED")]),
        ("deep.zip", &[("a/b/../../../x.txt", "PWNED")]),
        ("absolute.zip", &[("ok.txt", "fine"), ("/tmp/yaowasm-zip-slip.txt", "PWNED")]),
        ("windows.zip", &[("..\\..\\outside\\victim.txt", "PWNED")]),
        ("symlink.zip", &[("ok.txt", "fine"), ("link", "->../../outside")]),
        ("symlink_then_file.zip", &[("l", "->/"), ("l/tmp/x.txt", "PWNED")]),
        ("through_link.zip", &[("out/victim.txt", "PWNED")]),
    ];
    for (name, entries) in hostile {
        archive(&data.join(name), entries);
        let err = fs(&rt, "Unzip", json!([name, "dst"])).unwrap_err();
        assert_eq!(err.code(), 403, "{name}: {err}");
    }
    assert_eq!(std::fs::read_to_string(outside.join("victim.txt")).unwrap(), "OUTSIDE");
    assert_eq!(listing(&outside), vec!["victim.txt".to_owned()]);
    assert_eq!(listing(&data.join("dst")), vec!["out".to_owned()], "not even the harmless entries were written");
    assert!(!Path::new("/tmp/yaowasm-zip-slip.txt").exists());
    assert!(!base.path().join("x.txt").exists());
    // The same tool's honest archive extracts.
    archive(&data.join("good.zip"), &[("ok.txt", "fine"), ("d/e.txt", "e")]);
    assert_eq!(fs(&rt, "Unzip", json!(["good.zip", "dst/good"])).unwrap(), json!(["dst/good/ok.txt", "dst/good/d/e.txt"]));
}
