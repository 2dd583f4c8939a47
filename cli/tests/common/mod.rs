//! Test guests (WAT, assembled here) and a throwaway app folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A MessagePack guest with a bump allocator and these functions:
/// `Echo` returns its args, `Version` returns the string `version`,
/// `Fail` raises `{code: 418, message: "teapot"}`, `Spin` never ends,
/// `CallHost` calls the process `studio.thing` and returns what it got.
pub fn guest(version: &str) -> Vec<u8> {
    assert_eq!(version.len(), 2, "versions are two characters");
    let wat = format!(
        r#"(module
  (import "yao" "process" (func $process (param i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  ;; {{"code": 418, "message": "teapot"}}, 24 bytes
  (data (i32.const 16) "\82\a4code\cd\01\a2\a7message\a6teapot")
  (data (i32.const 64) "\a2{version}")
  (data (i32.const 128) "studio.thing")
  (data (i32.const 160) "\90")
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n))))
  (func (export "Version") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 3)))
  (func (export "Fail") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 16) (i64.const 32)) (i64.const 0x80000018)))
  (func (export "Spin") (param i32 i32) (result i64)
    (loop $forever (br $forever))
    (i64.const 0))
  (func (export "CallHost") (param i32 i32) (result i64)
    (call $process (i32.const 128) (i32.const 12) (i32.const 160) (i32.const 1)))
)"#
    );
    wat::parse_str(&wat).expect("test guest assembles")
}

/// A guest that opts in to JSON (`yao_encoding` returns 1) and echoes.
pub fn json_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 1024))
  (func (export "yao_alloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $bump))
    (global.set $bump (i32.add (global.get $bump) (local.get $n)))
    (local.get $p))
  (func (export "yao_encoding") (result i32) (i32.const 1))
  (func (export "Echo") (param $p i32) (param $n i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $p)) (i64.const 32)) (i64.extend_i32_u (local.get $n)))))"#,
    )
    .expect("json guest assembles")
}

/// A module the runtime refuses: it imports yao.teleport.
pub fn bad_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "yao" "teleport" (func (param i32)))
  (memory (export "memory") 1)
  (func (export "yao_alloc") (param i32) (result i32) (i32.const 0))
  (func (export "Go") (param i32 i32) (result i64) (i64.const 0)))"#,
    )
    .expect("bad guest assembles")
}

/// An app folder: scripts/t.wasm (the guest, "v1"), scripts/j.wasm (JSON).
pub struct TestApp {
    pub dir: tempfile::TempDir,
}

impl TestApp {
    pub fn new() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
        std::fs::write(dir.path().join("scripts/t.wasm"), guest("v1")).unwrap();
        std::fs::write(dir.path().join("scripts/j.wasm"), json_guest()).unwrap();
        TestApp { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.file(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    /// Replaces a file the way deploy tools do: write beside, then rename.
    pub fn replace(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let path = self.file(rel);
        let tmp = path.with_extension("upload");
        std::fs::write(&tmp, bytes).unwrap();
        std::fs::rename(tmp, path).unwrap();
    }
}

/// A guest whose `Total` logs "total computed" (info) through `yao.log`
/// and answers null.
pub fn log_guest() -> Vec<u8> {
    wat::parse_str(
        r#"(module
  (import "yao" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "total computed")
  (data (i32.const 96) "\c0")
  (func (export "yao_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "Total") (param i32 i32) (result i64)
    (call $log (i32.const 2) (i32.const 64) (i32.const 14))
    (i64.or (i64.shl (i64.const 96) (i64.const 32)) (i64.const 1))))"#,
    )
    .expect("log guest assembles")
}
