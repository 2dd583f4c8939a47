//! Runtime configuration: every key, its default, its unit and why it exists.
//!
//! All validation happens here, once, when a runtime is made
//! (`yaowasm_runtime_new`), so a user has one place to look for mistakes.
//! Unknown keys are errors, so a typo never silently falls back to a default.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

/// serde_json's parse, with the path of the key a value is wrong for in
/// the message (`config: stores.a.max_entries: invalid type: ...`):
/// serde_json alone says only where in the text.
fn parse(text: &str) -> Result<Config> {
    let mut json = serde_json::Deserializer::from_str(text);
    let config: Config = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." => Error::bad_request(format!("config: {}", e.into_inner())),
            _ => Error::bad_request(format!("config: {path}: {}", e.into_inner())),
        }
    })?;
    json.end().map_err(|e| Error::bad_request(format!("config: {e}")))?;
    Ok(config)
}

/// The largest `engine_shards`: more engines than this only multiply the
/// machine code kept in memory.
pub const MAX_ENGINE_SHARDS: u32 = 16;

/// The largest `max_memory_mb`: a wasm32 memory cannot exceed 4 GiB.
pub const MAX_MEMORY_MB_LIMIT: u32 = 4096;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Linear memory cap per instance, in MiB (default 64). A `memory.grow`
    /// past it ends the call with 413; a module that declares more never loads.
    /// It also sizes the instance pool's memory slots.
    pub max_memory_mb: u32,
    /// Wall-clock cap per top-level exec, in milliseconds (default 1000),
    /// shared by the nested calls it makes. Beyond it: 408.
    pub timeout_ms: u64,
    /// Folder for precompiled modules (default: none, compile on every load).
    /// Created (mode 0700) if missing. Makes a cold start of a known module a
    /// file map. Must not be inside or around any `fs` root or `wasi.preopen`
    /// folder (400); used only if it and its `cache.key` are the effective
    /// user's and writable by no one else (src/runtime/cache.rs).
    pub cache_dir: Option<PathBuf>,
    /// Size the cache folder is kept under, in MiB (default 512,
    /// 1..=1048576): past it, the least recently used modules are removed
    /// (they compile again when next loaded). Without it every edit of a
    /// script would leave its old compiled module behind for good.
    pub cache_max_mb: u64,
    /// The target triple modules are compiled for (default: none, this
    /// machine with its CPU's features). `pulley64` is wasmtime's portable
    /// interpreter, which a build with the `pulley` feature runs on any
    /// 64-bit little-endian machine. Another CPU's triple (e.g.
    /// `aarch64-unknown-linux-gnu`) only precompiles into `cache_dir`
    /// (`yaowasm compile --target`) for a runtime on that machine. The
    /// triple is part of the cache's keys, so the runtime there must be
    /// given the same one, or be built for it (docs/DEPLOY.md).
    pub target: Option<String>,
    /// wasmtime engines calls are spread over, by the CPU a call starts on
    /// (default: the CPUs this process may use, rounded down to 1, 2 or 4;
    /// 1..=16). An engine's bookkeeping (its type registry, module
    /// registrations, the instance pool's free list) is shared by every call
    /// it runs, so calls of a few microseconds on two CPUs wait on each
    /// other's cache lines; one engine per CPU does not. A module is copied
    /// into an engine at its first call on that CPU, so each engine holds
    /// its own copy of the modules called there, and the 1000 instance
    /// slots are split between them (a call whose engine has none free
    /// takes another's). The runtime-only build runs one (engine.rs).
    pub engine_shards: Option<u32>,
    /// How a memory slot is put back after a call, for the next call in it
    /// (default `auto`). Which reset is fastest depends on the kernel: with
    /// Linux 6.7's PAGEMAP_SCAN only the pages a call wrote are copied back,
    /// without it a Go or TS call costs 3-8x more if the slot is kept as
    /// with it (BENCHMARKS.md, "Kernels without PAGEMAP_SCAN").
    pub memory_reset: MemoryReset,
    /// Cap on nested process calls; the top-level call is depth 1 (default 32).
    /// Guards against unbounded recursion between scripts.
    pub max_depth: u32,
    /// WASI preview 1 sandbox for modules that import it.
    pub wasi: WasiConfig,
    /// Hosts that scripts may reach through the http host API (`host:port` or
    /// `*.domain`); empty (the default) means none.
    pub http_allow: Vec<String>,
    /// Cap on one HTTP response body a script receives, in bytes (default
    /// 10 MiB, 1..=1 GiB). Beyond it: 413. Keeps one response from filling
    /// the host's memory and the guest's.
    pub http_max_response_bytes: u64,
    /// Cap on one `http` `Post` upload (its multipart body, files and
    /// fields together), in bytes (default 256 MiB, 1..=16 GiB). Beyond it:
    /// 413 before any connection. Files are streamed from disk, so this
    /// bounds the work and the traffic a script can cause, not memory.
    pub http_max_upload_bytes: u64,
    /// Cap on the number of files of one `http` `Post` upload (default 100,
    /// 1..=10000). Beyond it: 413 before any connection. Files are opened
    /// one at a time as they are sent, so this bounds the work of one
    /// request, not open descriptors.
    pub http_max_upload_files: u64,
    /// Cap on one HTTP request of a script, in milliseconds (default 30000);
    /// the call's own `timeout_ms` caps it further. Beyond it: 408.
    pub http_timeout_ms: u64,
    /// A PEM file of extra certificate authorities that `https://` requests
    /// trust besides the bundled Mozilla roots (a private CA, a corporate
    /// proxy). Default: none. A file without one readable certificate is a 400.
    pub http_ca_file: Option<PathBuf>,
    /// Store name → its backend (docs/ABI.md §5). A name not listed is an
    /// in-process memory store.
    pub stores: BTreeMap<String, StoreConfig>,
    /// FS root name (`system`, `data`) → host directory that the `yao.fs`
    /// import confines scripts to. Default: none, so every fs call is a 403.
    pub fs: BTreeMap<String, PathBuf>,
    /// Roots of `fs` that scripts may read but not change (every writing
    /// method is a 403), e.g. `["system"]` so that a script cannot rewrite
    /// the app it belongs to. Default: none.
    pub fs_read_only: Vec<String>,
}

/// Where one named store keeps its entries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// In this process (moka), shared by the scripts of one runtime.
    #[default]
    Memory,
    /// The host's process handler, as `stores.<name>.<Method>` (gou's stores).
    Process,
    /// A Redis server, shared by every runtime that names it.
    Redis,
}

/// The `memory_reset` choices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryReset {
    /// `pagemap` where the kernel has PAGEMAP_SCAN, else `fallback`.
    #[default]
    Auto,
    /// Copy back from the module's image only the pages the call wrote,
    /// found with the PAGEMAP_SCAN ioctl (Linux 6.7+); up to 8 MiB of them
    /// stay resident, so the next call in the slot takes no page faults. A
    /// kernel without the ioctl makes `Runtime::new` fail with 400.
    Pagemap,
    /// What kernels without PAGEMAP_SCAN get: the lowest 128 KiB of the
    /// memory are copied back in place and the rest is given back to the
    /// kernel, so the next call faults in the pages it touches.
    Fallback,
}

/// One entry of `stores`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// `memory` (default), `process` or `redis`.
    #[serde(default)]
    pub backend: StoreBackend,
    /// redis only, required: `redis://host:port/db`.
    pub url: Option<String>,
    /// redis only: the key prefix of this store (default
    /// `yao:store:<bytes of name>:<name>:`, which never overlaps another
    /// name's; a prefix given here is used as given).
    pub prefix: Option<String>,
    /// memory only: entries kept before eviction (default 100000).
    pub max_entries: Option<u64>,
    /// memory only: bytes kept before eviction, keys and values plus 64 per
    /// entry (default 64 MiB, 1..=1 TiB); one entry larger is a 413.
    pub max_bytes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WasiConfig {
    /// Guest path → host directory, opened read-write. Default: none, so a
    /// WASI guest sees no file system at all.
    pub preopen: BTreeMap<String, PathBuf>,
    /// Guest paths of `preopen` opened read-only instead: the guest can
    /// list and read, and opening for writing, creating, renaming or
    /// removing fails with a WASI error (the `fs_read_only` of WASI).
    pub read_only: Vec<String>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_memory_mb: 64,
            timeout_ms: 1000,
            cache_dir: None,
            cache_max_mb: 512,
            target: None,
            engine_shards: None,
            memory_reset: MemoryReset::Auto,
            max_depth: 32,
            wasi: WasiConfig::default(),
            http_allow: Vec::new(),
            http_max_response_bytes: 10 << 20,
            http_max_upload_bytes: 256 << 20,
            http_max_upload_files: 100,
            http_timeout_ms: 30_000,
            http_ca_file: None,
            stores: BTreeMap::new(),
            fs: BTreeMap::new(),
            fs_read_only: Vec::new(),
        }
    }
}

impl Config {
    /// Every top-level key, in declaration order: the field list serde's
    /// derive hands the parser, so it cannot drift from what `from_json`
    /// accepts (the CLI's `--config` help is made from it).
    pub fn keys() -> &'static [&'static str] {
        let mut fields: &'static [&'static str] = &[];
        let _ = Config::deserialize(FieldProbe(&mut fields));
        fields
    }

    /// Parses and validates a JSON config; `None` or blank text gives the
    /// defaults. Every problem is a 400 naming the key.
    pub fn from_json(text: Option<&str>) -> Result<Config> {
        let config = match text.map(str::trim) {
            None | Some("") => Config::default(),
            // serde would also read a struct from a JSON array, by position.
            Some(text) if !text.starts_with('{') => {
                return Err(Error::bad_request("config: expected a JSON object"));
            }
            Some(text) => parse(text)?,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges and paths. Called by `Runtime::new` for configs built in
    /// Rust too.
    pub fn validate(&self) -> Result<()> {
        in_range("max_memory_mb", u64::from(self.max_memory_mb), u64::from(MAX_MEMORY_MB_LIMIT))?;
        in_range("timeout_ms", self.timeout_ms, DAY_MS)?;
        in_range("max_depth", u64::from(self.max_depth), 1024)?;
        if let Some(shards) = self.engine_shards {
            in_range("engine_shards", u64::from(shards), MAX_ENGINE_SHARDS.into())?;
        }
        in_range("cache_max_mb", self.cache_max_mb, 1 << 20)?;
        in_range("http_max_response_bytes", self.http_max_response_bytes, 1 << 30)?;
        in_range("http_max_upload_bytes", self.http_max_upload_bytes, 16 << 30)?;
        in_range("http_max_upload_files", self.http_max_upload_files, 10_000)?;
        in_range("http_timeout_ms", self.http_timeout_ms, DAY_MS)?;
        if let Some(dir) = &self.cache_dir {
            // Private from the start: the cache refuses a folder others may
            // write (src/runtime/cache.rs).
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| Error::bad_request(format!("config: cache_dir {}: {e}", dir.display())))?;
        }
        for (guest, host) in &self.wasi.preopen {
            if !guest.starts_with('/') {
                return Err(Error::bad_request(format!("config: wasi.preopen key {guest:?} must be an absolute guest path")));
            }
            if !host.is_dir() {
                return Err(Error::bad_request(format!("config: wasi.preopen {guest:?}: {} is not a directory", host.display())));
            }
        }
        for guest in &self.wasi.read_only {
            if !self.wasi.preopen.contains_key(guest) {
                return Err(Error::bad_request(format!("config: wasi.read_only names {guest:?}, which is not a key of wasi.preopen")));
            }
        }
        for name in &self.fs_read_only {
            if !self.fs.contains_key(name) {
                return Err(Error::bad_request(format!("config: fs_read_only names {name:?}, which is not a root of fs")));
            }
        }
        for host in &self.http_allow {
            validate_http_allow(host)?;
        }
        for (name, store) in &self.stores {
            validate_store(name, store)?;
        }
        for (name, dir) in &self.fs {
            let good = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !good {
                return Err(Error::bad_request(format!("config: fs root name {name:?} must be 1-64 of [A-Za-z0-9_.-]")));
            }
            if !dir.is_dir() {
                return Err(Error::bad_request(format!("config: fs.{name}: {} is not a directory", dir.display())));
            }
        }
        if let Some(dir) = &self.cache_dir {
            self.validate_cache_dir_apart(dir)?;
        }
        Ok(())
    }

    /// `cache_dir` holds native code the runtime loads, so no script may
    /// write into it: it must be neither inside nor around any `fs` root or
    /// `wasi.preopen` folder (compared as canonical paths, so symlinks and
    /// `..` do not hide an overlap).
    fn validate_cache_dir_apart(&self, dir: &std::path::Path) -> Result<()> {
        let canonical = |what: &str, path: &std::path::Path| {
            path.canonicalize().map_err(|e| Error::bad_request(format!("config: {what}: {}: {e}", path.display())))
        };
        let cache = canonical("cache_dir", dir)?;
        let roots = self.fs.iter().map(|(name, host)| (format!("fs.{name}"), host));
        let preopens = self.wasi.preopen.iter().map(|(guest, host)| (format!("wasi.preopen {guest:?}"), host));
        for (what, host) in roots.chain(preopens) {
            let root = canonical(&what, host)?;
            if cache.starts_with(&root) || root.starts_with(&cache) {
                return Err(Error::bad_request(format!(
                    "config: cache_dir {} overlaps {what} ({}): scripts could write the compiled modules the runtime runs; \
                     put cache_dir outside every fs root and wasi.preopen folder",
                    dir.display(),
                    host.display()
                )));
            }
        }
        Ok(())
    }

    pub(crate) fn max_memory_bytes(&self) -> u64 {
        u64::from(self.max_memory_mb) << 20
    }
}

/// One day in milliseconds: the longest timeout any key takes.
const DAY_MS: u64 = 24 * 3600 * 1000;

/// `1..=max`, or a 400 naming the key, its range and the value.
fn in_range(key: &str, value: u64, max: u64) -> Result<()> {
    if value == 0 || value > max {
        return Err(Error::bad_request(format!("config: {key} must be 1..={max}, got {value}")));
    }
    Ok(())
}

/// The longest store name, in bytes (config and guests alike).
pub const MAX_STORE_NAME_LEN: usize = 128;
/// `stores.<name>.max_bytes` of a memory store when not given: 64 MiB.
pub const DEFAULT_STORE_MAX_BYTES: u64 = 64 << 20;

fn validate_store(name: &str, store: &StoreConfig) -> Result<()> {
    let bad = |why: String| Err(Error::bad_request(format!("config: stores.{name}: {why}")));
    if name.is_empty() || name.len() > MAX_STORE_NAME_LEN {
        return bad(format!("a store name must be 1..={} bytes", MAX_STORE_NAME_LEN));
    }
    let redis = store.backend == StoreBackend::Redis;
    if !redis && (store.url.is_some() || store.prefix.is_some()) {
        return bad("url and prefix are for the redis backend only".into());
    }
    if (store.max_entries.is_some() || store.max_bytes.is_some()) && store.backend != StoreBackend::Memory {
        return bad("max_entries and max_bytes are for the memory backend only".into());
    }
    if let Some(max) = store.max_bytes {
        in_range(&format!("stores.{name}.max_bytes"), max, 1 << 40)?;
    }
    if store.max_entries == Some(0) {
        return bad("max_entries must be 1 or more".into());
    }
    if redis {
        match &store.url {
            None => return bad("the redis backend needs a url (redis://host:port/db)".into()),
            Some(url) => {
                if let Err(why) = redis::Client::open(url.as_str()).map(drop) {
                    return bad(format!("url: {why}"));
                }
            }
        }
    }
    Ok(())
}

fn validate_http_allow(entry: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::bad_request(format!("config: http_allow entry {entry:?}: {why}")));
    if let Some(domain) = entry.strip_prefix("*.") {
        if domain.is_empty() || domain.contains(['*', ':', '/']) {
            return bad("a wildcard must look like *.example.com");
        }
        return Ok(());
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && !host.contains(['*', '/']) && port.parse::<u16>().is_ok() => Ok(()),
        _ => bad("expected host:port or *.domain"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_keys_the_parser_accepts() {
        // serde's own list in the error for an unknown key: "expected one of `a`, `b`".
        let e = Config::from_json(Some(r#"{"no_such_key": 1}"#)).unwrap_err();
        let list = e.message().split("expected one of").nth(1).unwrap().split(" at line").next().unwrap();
        let parsed: Vec<&str> = list.split(',').map(|k| k.trim().trim_matches('`')).collect();
        assert_eq!(Config::keys(), parsed.as_slice());
        assert!(Config::keys().contains(&"stores") && Config::keys().contains(&"fs"));
    }

    #[test]
    fn defaults_and_unknown_keys() {
        let c = Config::from_json(None).unwrap();
        assert_eq!((c.max_memory_mb, c.timeout_ms, c.max_depth), (64, 1000, 32));
        let e = Config::from_json(Some(r#"{"max_memory":1}"#)).unwrap_err();
        assert_eq!(e.code(), 400);
        assert!(e.message().contains("max_memory"), "{e}");
        assert_eq!(Config::from_json(Some(r#"{"wasi":{"pre":{}}}"#)).unwrap_err().code(), 400);
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        for (bad, key) in [
            (r#"{"engine_shards": "2"}"#, "config: engine_shards: invalid type"),
            (
                r#"{"memory_reset": "madvise"}"#,
                "config: memory_reset: unknown variant `madvise`, expected one of `auto`, `pagemap`, `fallback`",
            ),
            (r#"{"stores":{"a":{"max_entries":"x"}}}"#, "config: stores.a.max_entries: invalid type"),
            (r#"{"wasi":{"read_only":"/d"}}"#, "config: wasi.read_only: invalid type"),
            (r#"{"timeout_ms": 5} x"#, "config: trailing characters"),
        ] {
            let e = Config::from_json(Some(bad)).unwrap_err();
            assert_eq!(e.code(), 400, "{bad}");
            assert!(e.message().starts_with(key), "{bad}: {e}");
        }
    }

    #[test]
    fn ranges_are_checked() {
        for bad in [
            r#"{"max_memory_mb":0}"#,
            r#"{"max_memory_mb":5000}"#,
            r#"{"timeout_ms":0}"#,
            r#"{"max_depth":0}"#,
            r#"{"http_allow":["nope"]}"#,
            r#"{"wasi":{"preopen":{"rel":"/tmp"}}}"#,
            r#"{"wasi":{"preopen":{"/d":"/definitely/not/here"}}}"#,
            "[1]",
        ] {
            assert_eq!(Config::from_json(Some(bad)).unwrap_err().code(), 400, "{bad}");
        }
        Config::from_json(Some(r#"{"http_allow":["127.0.0.1:8080","*.example.com"]}"#)).unwrap();
    }

    #[test]
    fn host_api_keys() {
        let ok = r#"{"stores":{"a":{},"b":{"backend":"process"},"c":{"backend":"redis","url":"redis://127.0.0.1:1/0","prefix":"p:"},
                     "d":{"backend":"memory","max_entries":5,"max_bytes":1048576}},"fs":{"data":"/tmp"},"http_max_response_bytes":100,"http_timeout_ms":5}"#;
        let c = Config::from_json(Some(ok)).unwrap();
        assert_eq!(c.stores["b"].backend, StoreBackend::Process);
        for bad in [
            r#"{"stores":{"a":{"backend":"mongo"}}}"#,
            r#"{"stores":{"a":{"backend":"redis"}}}"#,
            r#"{"stores":{"a":{"backend":"redis","url":"http://x"}}}"#,
            r#"{"stores":{"a":{"url":"redis://x"}}}"#,
            r#"{"stores":{"a":{"ttl":1}}}"#,
            r#"{"stores":{"a":{"max_entries":0}}}"#,
            r#"{"stores":{"a":{"max_bytes":0}}}"#,
            r#"{"stores":{"a":{"max_bytes":1099511627777}}}"#,
            r#"{"stores":{"a":{"backend":"redis","url":"redis://x","max_bytes":5}}}"#,
            r#"{"fs":{"data":"/definitely/not/here"}}"#,
            r#"{"fs":{"a/b":"/tmp"}}"#,
            r#"{"http_max_response_bytes":0}"#,
            r#"{"http_timeout_ms":0}"#,
            r#"{"fss":{}}"#,
            r#"{"http_max_upload_files":0}"#,
            r#"{"http_max_upload_files":10001}"#,
        ] {
            assert_eq!(Config::from_json(Some(bad)).unwrap_err().code(), 400, "{bad}");
        }
    }

    #[test]
    fn cache_dir_is_kept_apart_from_what_scripts_can_write() {
        let tmp = tempfile::tempdir().unwrap();
        let app = tmp.path().join("app");
        let config = |cache: &std::path::Path, rest: &str| {
            Config::from_json(Some(&format!(r#"{{"cache_dir":{:?},{rest}}}"#, cache.to_str().unwrap()))).map(drop).map_err(|e| e.code())
        };
        std::fs::create_dir(&app).unwrap();
        let fs = format!(r#""fs":{{"system":{:?}}}"#, app.to_str().unwrap());
        let preopen = format!(r#""wasi":{{"preopen":{{"/app":{:?}}}}}"#, app.to_str().unwrap());
        assert_eq!(config(&app.join(".yaowasm/cache"), &fs), Err(400));
        assert_eq!(config(tmp.path(), &preopen), Err(400), "around a preopen");
        assert_eq!(config(&tmp.path().join("app-cache"), &fs), Ok(()));
        use std::os::unix::fs::PermissionsExt;
        let made = tmp.path().join("app-cache").metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(made, 0o700, "a cache_dir made by the runtime is private");
    }
}

/// A deserializer that only records the field list of the struct asked of
/// it ([`Config::keys`]).
struct FieldProbe<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Probed;

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field list probed")
    }
}

impl std::error::Error for Probed {}

impl serde::de::Error for Probed {
    fn custom<T: std::fmt::Display>(_: T) -> Probed {
        Probed
    }
}

impl<'de> serde::Deserializer<'de> for FieldProbe<'_> {
    type Error = Probed;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Probed> {
        *self.0 = fields;
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit unit_struct
        newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}
