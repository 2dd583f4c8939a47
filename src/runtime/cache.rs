//! Precompiled module cache (`cache_dir`).
//!
//! A compiled module is stored as `<key>.cwasm` beside `<key>.xxh3`, the
//! checksum of the `.cwasm` bytes. The key (SHA-256) hashes the wasm's SHA-256 with the
//! wasmtime version and the engine's compatibility settings, so a module
//! compiled with other settings is never picked up. A file whose digest does
//! not match, or that wasmtime refuses, is recompiled and rewritten.
//! Files are replaced by rename, never rewritten in place.
//!
//! The folder is kept under `cache_max_mb`: a hit stamps the entry's
//! `.xxh3` with the time (its mtime is the entry's last use), and after
//! every eighth of the cap written, and on a runtime's first write, the
//! least recently used entries go, with the leftovers no key reaches any
//! more (`.sha256` files of key scheme v1, half-written temporaries, halves
//! of pairs). Files named otherwise are never touched.

use crate::error::Result;
use super::script::compile_module;
use crate::log::{LogLevel, LogSink};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use wasmtime::{Engine, Module};

pub struct ModuleCache {
    dir: PathBuf,
    engine: Engine,
    fingerprint: [u8; 32],
    max_bytes: u64,
    /// Bytes written since the last prune; starts at the threshold (an
    /// eighth of `max_bytes`) so a runtime's first write prunes.
    written: AtomicU64,
}

impl ModuleCache {
    pub fn new(dir: PathBuf, max_bytes: u64, engine: &Engine) -> ModuleCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let mut fingerprint = Sha256::new();
        // v2: the key hashes the wasm's SHA-256, not the wasm itself.
        fingerprint.update(b"yaowasm-cache-v2\0wasmtime-48.0.8\0");
        fingerprint.update(env!("CARGO_PKG_VERSION").as_bytes());
        fingerprint.update(hasher.finish().to_le_bytes());
        ModuleCache { dir, engine: engine.clone(), fingerprint: fingerprint.finalize().into(), max_bytes, written: AtomicU64::new(max_bytes / 8) }
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
    pub(crate) fn load_or_compile(&self, log: &dyn LogSink, wasm: &[u8], digest: &[u8; 32]) -> Result<Module> {
        self.cached(log, digest, || Ok(Cow::Borrowed(wasm)))
    }

    /// Like `load_or_compile` for a module that `build` derives (at a cost)
    /// from `key`: a hit skips `build` too. Used for the JS engine snapshot.
    pub(crate) fn load_or_build(&self, log: &dyn LogSink, key: &[u8], build: impl FnOnce() -> Result<Vec<u8>>) -> Result<Module> {
        self.cached(log, &digest_of(key), || build().map(Cow::Owned))
    }

    /// The module cached under `digest`, or the one compiled from `wasm()`
    /// and saved there.
    fn cached<'a>(&self, log: &dyn LogSink, digest: &[u8; 32], wasm: impl FnOnce() -> Result<Cow<'a, [u8]>>) -> Result<Module> {
        let path = self.path_for(digest);
        let digest_path = path.with_extension(CHECKSUM_EXT);
        if let Some(module) = self.load( &path, &digest_path) {
            return Ok(module);
        }
        let module = compile_module(&self.engine, &wasm()?)?;
        self.save(log, &module, &path, &digest_path);
        Ok(module)
    }

    fn load(&self, path: &Path, digest_path: &Path) -> Option<Module> {
        let mut digest_file = std::fs::File::open(digest_path).ok()?;
        let mut want = String::new();
        digest_file.read_to_string(&mut want).ok()?;
        let bytes = std::fs::read(path).ok()?;
        if checksum(&bytes) != want.trim() {
            return None;
        }
        // Last use, for pruning, to the hour: a warm start pays no extra
        // syscall for an entry used recently. The .cwasm keeps its own mtime
        // (when it was written); a read-only cache folder keeps old stamps.
        let now = SystemTime::now();
        let last_use = digest_file.metadata().and_then(|m| m.modified()).unwrap_or(now);
        if now.duration_since(last_use).is_ok_and(|age| age > LAST_USE_RESOLUTION) {
            let _ = digest_file.set_modified(now);
        }
        // SAFETY: deserialize trusts its input to be wasmtime's own output.
        // These bytes match the digest written right after we serialized
        // them, so they are the artifact we produced, and wasmtime itself
        // still checks their version and engine flags. We load the bytes we
        // verified rather than `deserialize_file`: a file mapped into memory
        // that someone truncates in place kills the process with SIGBUS.
        unsafe { Module::deserialize(&self.engine, &bytes) }.ok()
    }

    /// Writes a freshly compiled module; a failure costs only the next
    /// start a compile, so it is logged, not returned. Prunes when due.
    fn save(&self, log: &dyn LogSink, module: &Module, path: &Path, digest_path: &Path) {
        let written = match store(module, path, digest_path) {
            Ok(written) => written,
            Err(e) => {
                log.log(LogLevel::Warn, &format!("yaowasm: cannot write cache file {}: {e}", path.display()));
                return;
            }
        };
        let since_prune = self.written.fetch_add(written, Ordering::Relaxed).saturating_add(written);
        if since_prune >= self.max_bytes / 8 && self.written.swap(0, Ordering::Relaxed) > 0 {
            let report = self.prune(path);
            if report.removed_files > 0 {
                log.log(
                    LogLevel::Info,
                    &format!(
                        "yaowasm: cache {}: removed {} files ({} modules least recently used), {} KiB; {} KiB kept (cache_max_mb {})",
                        self.dir.display(),
                        report.removed_files,
                        report.evicted_modules,
                        report.removed_bytes / 1024,
                        report.kept_bytes / 1024,
                        self.max_bytes >> 20
                    ),
                );
            }
        }
    }

    /// Brings the folder under `max_bytes`, least recently used entries
    /// first, never removing `just_written`; removes what no key reaches.
    /// Best effort: a file another process removed first is not an error.
    pub(crate) fn prune(&self, just_written: &Path) -> PruneReport {
        let mut report = PruneReport::default();
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return report };
        let now = SystemTime::now();
        let stale = |modified: SystemTime| now.duration_since(modified).is_ok_and(|age| age > LEFTOVER_AGE);
        let mut modules: HashMap<String, Halves> = HashMap::new();
        let mut leftovers = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some((key, ext)) = name.split_once('.') else { continue };
            if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            let modified = meta.modified().unwrap_or(now);
            match ext {
                "cwasm" => modules.entry(key.to_owned()).or_default().module = Some((meta.len(), modified)),
                CHECKSUM_EXT => modules.entry(key.to_owned()).or_default().checksum = Some((meta.len(), modified)),
                "sha256" => leftovers.push((path, meta.len())),
                // write_atomically's temporaries: <key>.tmp<pid>-<n>.
                _ if ext.starts_with("tmp") && stale(modified) => leftovers.push((path, meta.len())),
                _ => {}
            }
        }
        let mut pairs = Vec::new();
        for (key, halves) in modules {
            let cwasm = self.dir.join(format!("{key}.cwasm"));
            match (halves.module, halves.checksum) {
                (Some((size, _)), Some((sum_size, used))) => pairs.push((used, size + sum_size, key)),
                // Half a pair: being written right now, or left by a crash
                // or by key scheme v1 (which wrote .sha256 files).
                (Some((size, written)), None) => {
                    if stale(written) {
                        leftovers.push((cwasm, size));
                    }
                }
                (None, Some((size, used))) => {
                    if stale(used) {
                        leftovers.push((cwasm.with_extension(CHECKSUM_EXT), size));
                    }
                }
                (None, None) => {}
            }
        }
        for (path, size) in leftovers {
            if std::fs::remove_file(&path).is_ok() {
                report.removed_files += 1;
                report.removed_bytes += size;
            }
        }
        let mut total: u64 = pairs.iter().map(|(_, size, _)| size).sum();
        pairs.sort();
        for (_, size, key) in pairs {
            if total <= self.max_bytes {
                break;
            }
            let cwasm = self.dir.join(format!("{key}.cwasm"));
            if cwasm == just_written {
                continue;
            }
            // The checksum goes first: a .cwasm without one is never loaded.
            let _ = std::fs::remove_file(cwasm.with_extension(CHECKSUM_EXT));
            let _ = std::fs::remove_file(&cwasm);
            total -= size;
            report.removed_files += 2;
            report.removed_bytes += size;
            report.evicted_modules += 1;
        }
        report.kept_bytes = total;
        report
    }
}

/// The two files of one cache entry as a prune finds them, each's size and
/// mtime (the `.xxh3`'s is the entry's last use).
#[derive(Default)]
struct Halves {
    module: Option<(u64, SystemTime)>,
    checksum: Option<(u64, SystemTime)>,
}

/// What one prune did (for tests and logs).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub evicted_modules: u64,
    pub removed_files: u64,
    pub removed_bytes: u64,
    pub kept_bytes: u64,
}

/// How stale an entry's last-use stamp may get before a hit renews it.
const LAST_USE_RESOLUTION: Duration = Duration::from_secs(3600);

/// How old a temporary or half a pair must be before a prune takes it for
/// a leftover rather than a write in progress.
const LEFTOVER_AGE: Duration = Duration::from_secs(600);

/// Writes the module and then its checksum; answers the bytes written.
fn store(module: &Module, path: &Path, digest_path: &Path) -> std::io::Result<u64> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    write_atomically(path, &bytes)?;
    // Written last: a checksum file only exists beside a complete module.
    let sum = checksum(&bytes);
    write_atomically(digest_path, sum.as_bytes())?;
    Ok((bytes.len() + sum.len()) as u64)
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
