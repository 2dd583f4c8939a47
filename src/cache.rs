//! Precompiled module cache (`cache_dir`).
//!
//! A compiled module is stored as `<key>.cwasm` beside `<key>.xxh3`, the
//! checksum of the `.cwasm` bytes. The key (SHA-256) hashes the wasm's SHA-256 with the
//! wasmtime version and the engine's compatibility settings, so a module
//! compiled with other settings is never picked up. A file whose digest does
//! not match, or that wasmtime refuses, is recompiled and rewritten.
//! Files are replaced by rename, never rewritten in place.

use crate::error::Result;
use crate::log::LogLevel;
use crate::runtime::Inner;
use crate::script::compile_module;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{Engine, Module};

pub struct ModuleCache {
    dir: PathBuf,
    fingerprint: [u8; 32],
}

impl ModuleCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> ModuleCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let mut fingerprint = Sha256::new();
        // v2: the key hashes the wasm's SHA-256, not the wasm itself.
        fingerprint.update(b"yaowasm-cache-v2\0wasmtime-48.0.8\0");
        fingerprint.update(env!("CARGO_PKG_VERSION").as_bytes());
        fingerprint.update(hasher.finish().to_le_bytes());
        ModuleCache { dir, fingerprint: fingerprint.finalize().into() }
    }

    /// The file a module whose wasm bytes have this SHA-256 is cached in.
    fn path_for(&self, digest: &[u8; 32]) -> PathBuf {
        let mut key = Sha256::new();
        key.update(self.fingerprint);
        key.update(digest);
        self.dir.join(format!("{}.cwasm", hex(&key.finalize())))
    }

    /// `digest` is [`digest_of`]`(wasm)`, which the loader has already
    /// computed to tell changed files from unchanged ones.
    pub(crate) fn load_or_compile(&self, runtime: &Inner, wasm: &[u8], digest: &[u8; 32]) -> Result<Module> {
        let path = self.path_for(digest);
        let digest_path = path.with_extension(CHECKSUM_EXT);
        if let Some(module) = self.load(&runtime.engine, &path, &digest_path) {
            return Ok(module);
        }
        let module = compile_module(&runtime.engine, wasm)?;
        if let Err(e) = self.store(&module, &path, &digest_path) {
            runtime.log(LogLevel::Warn, &format!("yaowasm: cannot write cache file {}: {e}", path.display()));
        }
        Ok(module)
    }

    /// Like `load_or_compile` for a module that `build` derives (at a cost)
    /// from `key`: a hit skips `build` too. Used for the JS engine snapshot.
    pub(crate) fn load_or_build(&self, runtime: &Inner, key: &[u8], build: impl FnOnce() -> Result<Vec<u8>>) -> Result<Module> {
        let path = self.path_for(&digest_of(key));
        let digest_path = path.with_extension(CHECKSUM_EXT);
        if let Some(module) = self.load(&runtime.engine, &path, &digest_path) {
            return Ok(module);
        }
        let module = compile_module(&runtime.engine, &build()?)?;
        if let Err(e) = self.store(&module, &path, &digest_path) {
            runtime.log(LogLevel::Warn, &format!("yaowasm: cannot write cache file {}: {e}", path.display()));
        }
        Ok(module)
    }

    fn load(&self, engine: &Engine, path: &Path, digest_path: &Path) -> Option<Module> {
        let want = std::fs::read_to_string(digest_path).ok()?;
        let bytes = std::fs::read(path).ok()?;
        if checksum(&bytes) != want.trim() {
            return None;
        }
        // SAFETY: deserialize trusts its input to be wasmtime's own output.
        // These bytes match the digest written right after we serialized
        // them, so they are the artifact we produced, and wasmtime itself
        // still checks their version and engine flags. We load the bytes we
        // verified rather than `deserialize_file`: a file mapped into memory
        // that someone truncates in place kills the process with SIGBUS.
        unsafe { Module::deserialize(engine, &bytes) }.ok()
    }

    fn store(&self, module: &Module, path: &Path, digest_path: &Path) -> std::io::Result<()> {
        let bytes = module.serialize().map_err(std::io::Error::other)?;
        write_atomically(path, &bytes)?;
        // Written last: a digest file only exists beside a complete module.
        write_atomically(digest_path, checksum(&bytes).as_bytes())
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// SHA-256 of a module's wasm bytes: what names it in the cache and tells a
/// reload whether its file changed.
pub fn digest_of(wasm: &[u8]) -> [u8; 32] {
    Sha256::digest(wasm).into()
}

/// Extension of the checksum file beside each `.cwasm`.
pub const CHECKSUM_EXT: &str = "xxh3";

/// The checksum of a `.cwasm`, as written in its `.xxh3` file: xxh3-128 in
/// hex. It guards against files damaged or cut short, not against someone
/// who can write the cache folder (they could write the checksum too), so a
/// fast non-cryptographic hash is enough (SHA-256 over the 5 MB JS engine
/// artifact was ~8% of its warm start).
pub fn checksum(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
