//! Precompiled module cache (`cache_dir`).
//!
//! What is in this folder is loaded as native code, so nothing in it is
//! trusted unless this runtime's user wrote it. A compiled module is stored
//! as `<key>.cwasm` beside `<key>.hmac`, its tag: HMAC-SHA256, keyed by the
//! 32 random bytes of the folder's `cache.key` (made 0600 on first use),
//! over the key scheme, the entry's name and the `.cwasm` bytes. Someone
//! who cannot read `cache.key` cannot make an entry that verifies, nor move
//! one entry's files to another's name. The folder and the key file must be
//! owned by the effective user and writable by no one else (the key
//! readable by no one else); if not, the cache is not used at all, neither
//! read nor written (one warning; modules compile in memory). Config
//! validation keeps `cache_dir` out of every `fs` root and `wasi.preopen`,
//! so scripts cannot reach it.
//!
//! The key (SHA-256) hashes the wasm's SHA-256 with the wasmtime and
//! yaowasm versions, the target the code is for and the one input of the
//! engine's settings (`max_memory_mb`, see engine.rs), so a module compiled
//! with other settings is never picked up. (Key v4: until v3 it hashed
//! wasmtime's `precompile_compatibility_hash`, which only a build with the
//! compiler can compute; the runtime-only build must find the entries the
//! full build's `yaowasm compile` made.) wasmtime itself still checks, on
//! every load, that an entry's version, settings and CPU features fit this
//! engine and this machine. A file whose tag does not verify, or that
//! wasmtime refuses, is recompiled and rewritten; the runtime-only build
//! (no `compiler` feature) cannot compile, so such a module, or a missing
//! one, does not load, with an error that says to precompile it. Files are
//! replaced by rename, never rewritten in place.
//!
//! The folder is kept under `cache_max_mb`: a hit stamps the entry's
//! `.hmac` with the time (its mtime is the entry's last use), and after
//! every eighth of the cap written, and on a runtime's first write, the
//! least recently used entries go, with the leftovers no key reaches any
//! more (`.sha256` and `.xxh3` files of key schemes v1 and v2, half-written
//! temporaries, halves of pairs). Files named otherwise are never touched.
// The runtime-only build (no `compiler`) never writes entries: pruning and
// writing are compiled in but unused there.
#![cfg_attr(not(feature = "compiler"), allow(dead_code))]

#[cfg(feature = "compiler")]
use super::script::compile_module;
use crate::error::{Error, ErrorKind, Result};
use crate::log::{LogLevel, LogSink};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    /// The tag key from `cache.key`, or why the folder is not trusted (then
    /// it is neither read nor written).
    secret: std::result::Result<[u8; 32], String>,
    /// Whether the untrusted folder has been reported (once per runtime).
    warned: AtomicBool,
    /// The triple modules are compiled for (part of the fingerprint).
    target: String,
    /// Compile and save only: the modules are for another machine.
    precompile_only: bool,
}

impl ModuleCache {
    /// Checks the folder and reads (or makes) its key; a folder that fails
    /// the checks makes a cache that compiles everything in memory.
    /// `max_memory_bytes` is the config's, the engine's only variable
    /// setting (engine.rs); `target` the triple the engine compiles for (the
    /// config's `target`, else the one this crate was built for).
    /// `precompile_only`: the engine compiles for a target this process
    /// cannot run (`yaowasm compile --target`), so modules are compiled and
    /// saved, never loaded.
    pub fn new(dir: PathBuf, max_bytes: u64, engine: &Engine, max_memory_bytes: u64, target: &str, precompile_only: bool) -> ModuleCache {
        let mut fingerprint = Sha256::new();
        // v2: the key hashes the wasm's SHA-256, not the wasm itself.
        // v3: entries are tagged with HMAC-SHA256 (`.hmac`), not xxh3.
        // v4: the engine's settings as this crate sets them, not wasmtime's
        // compatibility hash (module comment).
        fingerprint.update(SCHEME);
        fingerprint.update(b"key-v4\0wasmtime-48.0.8\0");
        fingerprint.update(env!("CARGO_PKG_VERSION").as_bytes());
        fingerprint.update(b"\0");
        fingerprint.update(target.as_bytes());
        fingerprint.update(b"\0");
        fingerprint.update(max_memory_bytes.to_le_bytes());
        let secret = open_key(&dir);
        ModuleCache {
            dir,
            engine: engine.clone(),
            fingerprint: fingerprint.finalize().into(),
            max_bytes,
            written: AtomicU64::new(max_bytes / 8),
            secret,
            warned: AtomicBool::new(false),
            target: target.to_owned(),
            precompile_only,
        }
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

    /// The runtime-only build's answer to a module not in the cache.
    #[cfg(not(feature = "compiler"))]
    fn not_precompiled(&self, why: &str) -> Error {
        Error::bad_request(format!(
            "{NOT_PRECOMPILED} in cache_dir {} ({why}): this yaowasm is the runtime-only build, which cannot compile; \
             precompile the app with the full build of the same version, `yaowasm compile <app> --cache-dir {}` \
             (with the same max_memory_mb and target in --config), on a machine with this CPU or with --target",
            self.dir.display(),
            self.dir.display()
        ))
        .with_kind(ErrorKind::NotPrecompiled)
    }

    /// The module cached under `digest`, or the one compiled from `wasm()`
    /// and saved there.
    fn cached<'a>(&self, log: &dyn LogSink, digest: &[u8; 32], wasm: impl FnOnce() -> Result<Cow<'a, [u8]>>) -> Result<Module> {
        let secret = match &self.secret {
            Ok(secret) => secret,
            Err(why) => {
                if !self.warned.swap(true, Ordering::Relaxed) {
                    log.log(
                        LogLevel::Warn,
                        &format!("yaowasm: cache_dir {} is not used ({why}); modules are compiled in memory", self.dir.display()),
                    );
                }
                #[cfg(not(feature = "compiler"))]
                return Err(self.not_precompiled(&format!("the folder is not used: {why}")));
                #[cfg(feature = "compiler")]
                return compile_module(&self.engine, &wasm()?);
            }
        };
        let path = self.path_for(digest);
        let tag_path = path.with_extension(TAG_EXT);
        if self.precompile_only {
            return self.precompile(log, secret, &path, &tag_path, wasm);
        }
        if let Some(module) = self.verified(secret, &path, &tag_path).and_then(|bytes| self.load(&bytes)) {
            return Ok(module);
        }
        #[cfg(not(feature = "compiler"))]
        return Err(self.not_precompiled(&format!(
            "no entry {} that verifies and that wasmtime accepts",
            path.file_name().unwrap_or_default().to_string_lossy()
        )));
        #[cfg(feature = "compiler")]
        {
            let module = compile_module(&self.engine, &wasm()?)?;
            match module.serialize() {
                Ok(bytes) => {
                    self.save(log, secret, &bytes, &path, &tag_path);
                }
                Err(e) => log.log(LogLevel::Warn, &format!("yaowasm: cannot serialize a module for {}: {e}", path.display())),
            }
            Ok(module)
        }
    }

    /// `yaowasm compile --target`: compiles for the other machine into the
    /// cache (an entry already there is kept) and answers the error that
    /// starts with [`PRECOMPILED_ONLY`], as no module can be made here.
    fn precompile<'a>(
        &self,
        log: &dyn LogSink,
        secret: &[u8; 32],
        path: &Path,
        tag_path: &Path,
        wasm: impl FnOnce() -> Result<Cow<'a, [u8]>>,
    ) -> Result<Module> {
        let done = || {
            Error::bad_request(format!("{PRECOMPILED_ONLY} {} into {}", self.target, path.display())).with_kind(ErrorKind::PrecompiledOnly)
        };
        if self.verified(secret, path, tag_path).is_some() {
            return Err(done());
        }
        #[cfg(not(feature = "compiler"))]
        {
            let _ = (log, wasm);
            Err(self.not_precompiled("this build cannot compile for another target"))
        }
        #[cfg(feature = "compiler")]
        {
            let bytes =
                self.engine.precompile_module(&wasm()?).map_err(|e| Error::bad_request(format!("compiling for {}: {e:#}", self.target)))?;
            if !self.save(log, secret, &bytes, path, tag_path) {
                return Err(Error::internal(format!("cannot write cache file {}", path.display())));
            }
            Err(done())
        }
    }

    /// The entry's bytes when its tag verifies.
    fn verified(&self, secret: &[u8; 32], path: &Path, tag_path: &Path) -> Option<Vec<u8>> {
        let mut tag_file = File::open(tag_path).ok()?;
        let mut want = [0u8; 2 * TAG_LEN + 1];
        let n = read_up_to(&mut tag_file, &mut want).ok()?;
        let want = unhex(std::str::from_utf8(&want[..n]).ok()?.trim())?;
        let mut file = File::open(path).ok()?;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.uid() != euid() {
            return None;
        }
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        file.read_to_end(&mut bytes).ok()?;
        entry_mac(secret, path, &bytes).verify_slice(&want).ok()?;
        // Last use, for pruning, to the hour: a warm start pays no extra
        // syscall for an entry used recently. The .cwasm keeps its own mtime
        // (when it was written); a read-only cache folder keeps old stamps.
        let now = SystemTime::now();
        let last_use = tag_file.metadata().and_then(|m| m.modified()).unwrap_or(now);
        if now.duration_since(last_use).is_ok_and(|age| age > LAST_USE_RESOLUTION) {
            let _ = tag_file.set_modified(now);
        }
        Some(bytes)
    }

    fn load(&self, bytes: &[u8]) -> Option<Module> {
        // SAFETY: deserialize trusts its input to be wasmtime's own output.
        // These bytes carry a tag only a holder of this folder's key can
        // make, for this entry's name: the folder and key are this user's
        // and no one else's (checked in `new`), and config validation keeps
        // the folder out of every root a script can write. So they are the
        // artifact this user's runtime serialized, and wasmtime itself still
        // checks their version and engine flags. We load the bytes we
        // verified rather than `deserialize_file`: a file mapped into memory
        // that someone truncates in place kills the process with SIGBUS.
        unsafe { Module::deserialize(&self.engine, bytes) }.ok()
    }

    /// Writes a freshly compiled module; a failure costs only the next
    /// start a compile, so it is logged, not returned (false). Prunes when
    /// due.
    #[cfg(feature = "compiler")]
    fn save(&self, log: &dyn LogSink, secret: &[u8; 32], bytes: &[u8], path: &Path, tag_path: &Path) -> bool {
        let written = match store(secret, bytes, path, tag_path) {
            Ok(written) => written,
            Err(e) => {
                log.log(LogLevel::Warn, &format!("yaowasm: cannot write cache file {}: {e}", path.display()));
                return false;
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
        true
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
                TAG_EXT => modules.entry(key.to_owned()).or_default().tag = Some((meta.len(), modified)),
                // Key schemes v1 and v2: their .cwasm, now half a pair, goes
                // once stale.
                "sha256" | "xxh3" => leftovers.push((path, meta.len())),
                // write_atomically's temporaries: <key>.tmp<pid>-<n>.
                _ if ext.starts_with("tmp") && stale(modified) => leftovers.push((path, meta.len())),
                _ => {}
            }
        }
        let mut pairs = Vec::new();
        for (key, halves) in modules {
            let cwasm = self.dir.join(format!("{key}.cwasm"));
            match (halves.module, halves.tag) {
                (Some((size, _)), Some((tag_size, used))) => pairs.push((used, size + tag_size, key)),
                // Half a pair: being written right now, or left by a crash
                // or by an older key scheme (.sha256 and .xxh3 files).
                (Some((size, written)), None) => {
                    if stale(written) {
                        leftovers.push((cwasm, size));
                    }
                }
                (None, Some((size, used))) => {
                    if stale(used) {
                        leftovers.push((cwasm.with_extension(TAG_EXT), size));
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
            // The tag goes first: a .cwasm without one is never loaded.
            let _ = std::fs::remove_file(cwasm.with_extension(TAG_EXT));
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
/// mtime (the `.hmac`'s is the entry's last use).
#[derive(Default)]
struct Halves {
    module: Option<(u64, SystemTime)>,
    tag: Option<(u64, SystemTime)>,
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

/// Writes the module and then its tag; answers the bytes written.
#[cfg(feature = "compiler")]
fn store(secret: &[u8; 32], bytes: &[u8], path: &Path, tag_path: &Path) -> std::io::Result<u64> {
    write_atomically(path, bytes)?;
    // Written last: a tag file only exists beside a complete module.
    let tag = hex(&entry_mac(secret, path, bytes).finalize().into_bytes());
    write_atomically(tag_path, tag.as_bytes())?;
    Ok((bytes.len() + tag.len()) as u64)
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

/// How the runtime-only build's error for a module missing from the cache
/// begins (the CLI's serve looks for it to refuse to start).
pub const NOT_PRECOMPILED: &str = "not precompiled";

/// How the error of a module compiled for another target begins: the
/// module is in the cache, but cannot be made here (`yaowasm compile
/// --target` counts these as done).
pub const PRECOMPILED_ONLY: &str = "precompiled (not loaded here) for";

/// The key scheme, first in every entry's key and tag.
const SCHEME: &[u8] = b"yaowasm-cache-v3\0";

/// Extension of the tag file beside each `.cwasm`.
pub const TAG_EXT: &str = "hmac";

/// Length of a tag (HMAC-SHA256), in bytes.
const TAG_LEN: usize = 32;

/// The key file in the cache folder: 32 random bytes, mode 0600.
pub const KEY_FILE: &str = "cache.key";

/// The HMAC of one entry, ready to finalize or verify: over the scheme, the
/// entry's name (its 64 hex digits) and the `.cwasm` bytes. The name is in
/// it so that one entry's files copied under another's name do not verify.
/// A whole-file HMAC-SHA256 reads at SHA-256's speed (with the CPU's SHA
/// instructions when it has them).
fn entry_mac(secret: &[u8; 32], path: &Path, bytes: &[u8]) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(SCHEME);
    mac.update(path.file_stem().map(|s| s.as_encoded_bytes()).unwrap_or_default());
    mac.update(b"\0");
    mac.update(bytes);
    mac
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The tag key of the cache folder `dir`, made if missing, or why the
/// folder cannot be trusted: it or its key is not the effective user's, or
/// someone else may write it (or read the key).
fn open_key(dir: &Path) -> std::result::Result<[u8; 32], String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("cannot read it: {e}"))?;
    if !meta.is_dir() {
        return Err("not a folder".into());
    }
    private(&meta, "the folder", 0o022)?;
    let path = dir.join(KEY_FILE);
    let open = || File::options().read(true).custom_flags(libc::O_NOFOLLOW).open(&path);
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            make_key(dir, &path).map_err(|e| format!("cannot make {KEY_FILE}: {e}"))?;
            open()
        }
        other => other,
    }
    .map_err(|e| format!("cannot open {KEY_FILE}: {e}"))?;
    let meta = file.metadata().map_err(|e| format!("{KEY_FILE}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{KEY_FILE} is not a file"));
    }
    private(&meta, KEY_FILE, 0o077)?;
    let mut secret = [0u8; 33];
    let n = read_up_to(&mut file, &mut secret).map_err(|e| format!("cannot read {KEY_FILE}: {e}"))?;
    if n != 32 {
        return Err(format!("{KEY_FILE} does not hold 32 bytes"));
    }
    Ok(secret[..32].try_into().expect("32 bytes"))
}

/// Owned by the effective user and no bit of `forbidden` in its mode.
fn private(meta: &std::fs::Metadata, what: &str, forbidden: u32) -> std::result::Result<(), String> {
    if meta.uid() != euid() {
        return Err(format!("{what} is owned by uid {}, not by this process's user (uid {})", meta.uid(), euid()));
    }
    if meta.mode() & forbidden != 0 {
        let who = if forbidden & 0o044 != 0 { "read or written" } else { "written" };
        return Err(format!("{what} has mode {:o}: it may be {who} by other users", meta.mode() & 0o7777));
    }
    Ok(())
}

/// Makes the key file: 32 random bytes in a temporary made with
/// O_CREAT|O_EXCL, mode 0600, then hard-linked to its name, so the key
/// appears whole or not at all; if another runtime made it first, theirs
/// stays.
fn make_key(dir: &Path, path: &Path) -> std::io::Result<()> {
    let mut secret = [0u8; 32];
    let mut filled = 0;
    while filled < secret.len() {
        // SAFETY: writes at most the remaining length into our buffer.
        let n = unsafe { libc::getrandom(secret[filled..].as_mut_ptr().cast(), secret.len() - filled, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        filled += n as usize;
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let tmp = dir.join(format!("{KEY_FILE}.tmp{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    let written = File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(&secret)?;
            file.sync_all()
        })
        .and_then(|()| match std::fs::hard_link(&tmp, path) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other,
        });
    let _ = std::fs::remove_file(&tmp);
    written
}

/// Reads until `buf` is full or the file ends; answers the bytes read.
fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn unhex(text: &str) -> Option<[u8; TAG_LEN]> {
    if text.len() != 2 * TAG_LEN {
        return None;
    }
    let mut out = [0u8; TAG_LEN];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
