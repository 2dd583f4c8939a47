//! Named key-value stores with per-entry TTL: the `yao.store*` imports
//! (docs/ABI.md §5).
//!
//! Each store name has one backend, chosen in the config (`stores.<name>`):
//! in-process memory (the default for every name not configured), the host's
//! process handler (`stores.<name>.<Method>`, so gou's stores serve when Yao
//! hosts the runtime), or Redis (one store shared by many runtimes).
//!
//! `Stores` is `Send + Sync`; every backend may be used from any number of
//! calls at once. Values are kept as MessagePack bytes, so `Get` hands back
//! exactly what `Set` stored without re-encoding.

use crate::sync::{MutexAny, RwLockAny};
use super::args::{self as api_args, Args};
use crate::config::{StoreBackend, StoreConfig};
use crate::error::{Error, Result};
use super::Dispatch;
use rmpv::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use crate::config::MAX_STORE_NAME_LEN as MAX_NAME_LEN;
/// Entries a memory store keeps by default before evicting.
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;
/// Memory stores a runtime makes for names not in the config, at most: a
/// guest cannot make the runtime grow without bound by inventing names.
pub const MAX_UNCONFIGURED_STORES: usize = 1024;

/// The store operations every local backend (memory, Redis) implements.
trait Backend: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()>;
    fn has(&self, key: &str) -> Result<bool>;
    fn del(&self, key: &str) -> Result<()>;
    /// Live keys, sorted.
    fn keys(&self) -> Result<Vec<String>>;
    fn clear(&self) -> Result<()>;
    /// The live value, or `value` stored with `ttl` and returned.
    fn get_set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<Vec<u8>>;
    fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>>;
}

enum Kind {
    Local(Arc<dyn Backend>),
    Process,
}

/// Every store of one runtime.
pub struct Stores {
    configured: BTreeMap<String, StoreConfig>,
    open: RwLock<HashMap<String, Arc<dyn Backend>>>,
}

impl Stores {
    /// Opens nothing yet: a Redis store connects on first use, so a runtime
    /// starts even while Redis is down (its calls answer 502 meanwhile).
    pub fn new(configured: &BTreeMap<String, StoreConfig>) -> Stores {
        Stores { configured: configured.clone(), open: RwLock::default() }
    }

    fn kind(&self, name: &str) -> Result<Kind> {
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return Err(Error::bad_request(format!("store name must be 1..={MAX_NAME_LEN} bytes, got {}", name.len())));
        }
        let config = self.configured.get(name);
        if matches!(config.map(|c| c.backend), Some(StoreBackend::Process)) {
            return Ok(Kind::Process);
        }
        if let Some(open) = self.open.read_any().get(name) {
            return Ok(Kind::Local(open.clone()));
        }
        let mut open = self.open.write_any();
        if let Some(existing) = open.get(name) {
            return Ok(Kind::Local(existing.clone()));
        }
        let backend: Arc<dyn Backend> = match config {
            Some(c) if c.backend == StoreBackend::Redis => Arc::new(Redis::new(name, c)?),
            Some(c) => Arc::new(Memory::new(c.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES))),
            None => {
                let unconfigured = open.keys().filter(|n| !self.configured.contains_key(*n)).count();
                if unconfigured >= MAX_UNCONFIGURED_STORES {
                    return Err(Error::too_large(format!(
                        "too many store names: at most {MAX_UNCONFIGURED_STORES} stores that are not in the config"
                    )));
                }
                Arc::new(Memory::new(DEFAULT_MAX_ENTRIES))
            }
        };
        open.insert(name.to_owned(), backend.clone());
        Ok(Kind::Local(backend))
    }

    /// `yao.store(name, method, args)`: args is a checked MessagePack array;
    /// the answer is MessagePack.
    pub fn call(&self, runtime: &dyn Dispatch, name: &str, method: &str, args: &[u8]) -> Result<Vec<u8>> {
        let backend = match self.kind(name)? {
            Kind::Process => return runtime.dispatch(&format!("stores.{name}.{method}"), args),
            Kind::Local(backend) => backend,
        };
        let what = format!("store {name}: {method}");
        let mut args = Args::decode(what.clone(), args)?;
        let key = |args: &Args| args.string(0, "key").map(str::to_owned);
        let value_of = |args: &mut Args| api_args::encode(&args.take(1));
        let answer = match method {
            "Get" => {
                args.at_most(1)?;
                or_nil(backend.get(&key(&args)?)?)
            }
            "Set" => {
                args.at_most(3)?;
                let (k, ttl) = (key(&args)?, args.opt_seconds(2, "ttl")?);
                backend.set(&k, value_of(&mut args), ttl)?;
                api_args::NIL.to_vec()
            }
            "Has" => {
                args.at_most(1)?;
                api_args::encode(&Value::Boolean(backend.has(&key(&args)?)?))
            }
            "Del" => {
                args.at_most(1)?;
                backend.del(&key(&args)?)?;
                api_args::NIL.to_vec()
            }
            "Keys" => {
                args.at_most(0)?;
                api_args::encode(&Value::Array(backend.keys()?.into_iter().map(Value::from).collect()))
            }
            "Len" => {
                args.at_most(0)?;
                api_args::encode(&Value::from(backend.keys()?.len() as u64))
            }
            "Clear" => {
                args.at_most(0)?;
                backend.clear()?;
                api_args::NIL.to_vec()
            }
            "GetSet" => {
                args.at_most(3)?;
                let (k, ttl) = (key(&args)?, args.opt_seconds(2, "ttl")?);
                backend.get_set(&k, value_of(&mut args), ttl)?
            }
            "GetDel" => {
                args.at_most(1)?;
                or_nil(backend.get_del(&key(&args)?)?)
            }
            _ => {
                return Err(Error::not_found(format!(
                    "store {name}: no method {method:?} (Get, Set, Has, Del, Keys, Len, Clear, GetSet, GetDel)"
                )))
            }
        };
        Ok(answer)
    }

    /// `yao.store_get`: the MessagePack value, or None for nil.
    pub fn get(&self, runtime: &dyn Dispatch, name: &str, key: &str) -> Result<Option<Vec<u8>>> {
        match self.kind(name)? {
            Kind::Process => {
                let answer = runtime.dispatch(&format!("stores.{name}.Get"), &api_args::one_string_array(key))?;
                Ok(if answer == api_args::NIL { None } else { Some(answer) })
            }
            Kind::Local(backend) => backend.get(key),
        }
    }

    /// `yao.store_set`: `value` is one checked MessagePack value.
    pub fn set(&self, runtime: &dyn Dispatch, name: &str, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        match self.kind(name)? {
            Kind::Process => {
                let mut args = vec![0x93];
                rmp::encode::write_str(&mut args, key).map_err(|e| Error::internal(e.to_string()))?;
                args.extend_from_slice(&value);
                // Whole seconds, rounded up, as gou's Set takes them (0: none).
                let seconds = ttl.map_or(0, |t| t.as_secs() + u64::from(t.subsec_nanos() > 0));
                rmp::encode::write_uint(&mut args, seconds).map_err(|e| Error::internal(e.to_string()))?;
                runtime.dispatch(&format!("stores.{name}.Set"), &args).map(drop)
            }
            Kind::Local(backend) => backend.set(key, value, ttl),
        }
    }

    /// `yao.store_del`.
    pub fn del(&self, runtime: &dyn Dispatch, name: &str, key: &str) -> Result<()> {
        match self.kind(name)? {
            Kind::Process => runtime.dispatch(&format!("stores.{name}.Del"), &api_args::one_string_array(key)).map(drop),
            Kind::Local(backend) => backend.del(key),
        }
    }
}

fn or_nil(value: Option<Vec<u8>>) -> Vec<u8> {
    value.unwrap_or_else(|| api_args::NIL.to_vec())
}

// ---------------------------------------------------------------- memory

/// One value with its own expiry.
#[derive(Clone)]
struct Entry {
    value: Arc<[u8]>,
    expires: Option<Instant>,
}

impl Entry {
    fn new(value: Vec<u8>, ttl: Option<Duration>) -> Entry {
        Entry { value: value.into(), expires: ttl.and_then(|ttl| Instant::now().checked_add(ttl)) }
    }

    fn live(&self) -> bool {
        self.expires.is_none_or(|at| Instant::now() < at)
    }
}

/// Per-entry expiry for moka: each entry lives until its own deadline.
struct PerEntryExpiry;

impl moka::Expiry<String, Entry> for PerEntryExpiry {
    fn expire_after_create(&self, _key: &String, entry: &Entry, now: Instant) -> Option<Duration> {
        entry.expires.map(|at| at.saturating_duration_since(now))
    }

    fn expire_after_update(&self, _key: &String, entry: &Entry, now: Instant, _current: Option<Duration>) -> Option<Duration> {
        entry.expires.map(|at| at.saturating_duration_since(now))
    }
}

/// An in-process store on moka's concurrent cache. moka evicts expired
/// entries lazily; every read also checks the entry's own deadline, so an
/// expired value is never returned.
struct Memory {
    cache: moka::sync::Cache<String, Entry>,
}

impl Memory {
    fn new(max_entries: u64) -> Memory {
        Memory { cache: moka::sync::Cache::builder().max_capacity(max_entries).expire_after(PerEntryExpiry).build() }
    }

    fn live(&self, key: &str) -> Option<Entry> {
        self.cache.get(key).filter(Entry::live)
    }
}

impl Backend for Memory {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.live(key).map(|e| e.value.to_vec()))
    }

    fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        self.cache.insert(key.to_owned(), Entry::new(value, ttl));
        Ok(())
    }

    fn has(&self, key: &str) -> Result<bool> {
        Ok(self.live(key).is_some())
    }

    fn del(&self, key: &str) -> Result<()> {
        self.cache.invalidate(key);
        Ok(())
    }

    fn keys(&self) -> Result<Vec<String>> {
        // Applies pending evictions first, so a full store reports at most
        // its max_entries.
        self.cache.run_pending_tasks();
        let mut keys: Vec<String> = self.cache.iter().filter(|(_, e)| e.live()).map(|(k, _)| (*k).clone()).collect();
        keys.sort();
        Ok(keys)
    }

    fn clear(&self) -> Result<()> {
        self.cache.invalidate_all();
        Ok(())
    }

    fn get_set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<Vec<u8>> {
        let fresh = Entry::new(value, ttl);
        // Atomic per key: of concurrent GetSets one inserts, the others see it.
        // An entry that expired but was not yet evicted is replaced.
        let entry = self.cache.entry(key.to_owned()).and_upsert_with(|current| match current {
            Some(current) if current.value().live() => current.into_value(),
            _ => fresh,
        });
        Ok(entry.into_value().value.to_vec())
    }

    fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.cache.remove(key).filter(Entry::live).map(|e| e.value.to_vec()))
    }
}

// ---------------------------------------------------------------- redis

/// Connect and I/O timeouts of the Redis backend; a call's own deadline
/// shortens them.
const REDIS_TIMEOUT: Duration = Duration::from_secs(5);

/// What one Redis round trip may take now: [`REDIS_TIMEOUT`], or less when
/// the call it serves ends sooner (at least 1 ms: a zero timeout means
/// "none" to the socket).
fn redis_timeout() -> Duration {
    let left = crate::runtime::nesting::current_deadline().map(|d| d.saturating_duration_since(Instant::now()));
    left.map_or(REDIS_TIMEOUT, |left| left.min(REDIS_TIMEOUT)).max(Duration::from_millis(1))
}
/// Idle connections kept per Redis store.
const REDIS_POOL: usize = 8;

/// A store on a Redis server: values MessagePack-encoded under
/// `<prefix><key>`, TTLs as Redis expiries (millisecond precision), so every
/// runtime that names the same server and prefix shares one store.
struct Redis {
    client: redis::Client,
    prefix: String,
    idle: Mutex<Vec<redis::Connection>>,
}

fn unreachable(e: redis::RedisError) -> Error {
    Error::new(502, format!("redis: {e}"))
}

impl Redis {
    fn new(name: &str, config: &StoreConfig) -> Result<Redis> {
        // The config check already opened this URL once; this cannot differ.
        let url = config.url.as_deref().unwrap_or_default();
        let client = redis::Client::open(url).map_err(|e| Error::bad_request(format!("store {name}: url: {e}")))?;
        let prefix = config.prefix.clone().unwrap_or_else(|| format!("yao:store:{name}:"));
        Ok(Redis { client, prefix, idle: Mutex::new(Vec::new()) })
    }

    /// Runs `f` on a pooled connection; a connection that failed is dropped.
    fn with<T>(&self, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T> {
        let timeout = redis_timeout();
        let pooled = self.idle.lock_any().pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.client.get_connection_with_timeout(timeout).map_err(unreachable)?,
        };
        conn.set_read_timeout(Some(timeout)).map_err(unreachable)?;
        conn.set_write_timeout(Some(timeout)).map_err(unreachable)?;
        let answer = f(&mut conn);
        match &answer {
            Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {}
            _ => {
                let mut idle = self.idle.lock_any();
                if idle.len() < REDIS_POOL {
                    idle.push(conn);
                }
            }
        }
        answer.map_err(unreachable)
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// Every Redis key under the prefix (SCAN, so the server never blocks).
    fn raw_keys(&self) -> Result<Vec<String>> {
        let pattern = format!("{}*", glob_escape(&self.prefix));
        self.with(|conn| {
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) =
                    redis::cmd("SCAN").arg(cursor).arg("MATCH").arg(&pattern).arg("COUNT").arg(1000).query(conn)?;
                keys.extend(batch);
                if next == 0 {
                    break;
                }
                cursor = next;
            }
            keys.sort();
            keys.dedup();
            Ok(keys)
        })
    }
}

/// Escapes Redis glob characters so a prefix matches only itself.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn set_cmd(key: &str, value: &[u8], ttl: Option<Duration>) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value);
    if let Some(ttl) = ttl {
        cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
    }
    cmd
}

impl Backend for Redis {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("GET").arg(self.key(key)).query(c))
    }

    fn set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<()> {
        self.with(|c| set_cmd(&self.key(key), &value, ttl).query(c))
    }

    fn has(&self, key: &str) -> Result<bool> {
        self.with(|c| redis::cmd("EXISTS").arg(self.key(key)).query::<u64>(c)).map(|n| n > 0)
    }

    fn del(&self, key: &str) -> Result<()> {
        self.with(|c| redis::cmd("DEL").arg(self.key(key)).query(c))
    }

    fn keys(&self) -> Result<Vec<String>> {
        Ok(self.raw_keys()?.into_iter().filter_map(|k| k.strip_prefix(&self.prefix).map(str::to_owned)).collect())
    }

    fn clear(&self) -> Result<()> {
        let keys = self.raw_keys()?;
        for batch in keys.chunks(500) {
            self.with(|c| redis::cmd("DEL").arg(batch.to_vec()).query::<u64>(c))?;
        }
        Ok(())
    }

    fn get_set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<Vec<u8>> {
        let full = self.key(key);
        // SET NX GET (Redis 7): stores only when absent and answers the old
        // value, atomically on the server.
        let mut cmd = set_cmd(&full, &value, ttl);
        cmd.arg("NX").arg("GET");
        let old: Option<Vec<u8>> = self.with(|c| cmd.query(c))?;
        Ok(old.unwrap_or(value))
    }

    fn get_del(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.with(|c| redis::cmd("GETDEL").arg(self.key(key)).query(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_ttl_and_get_set() {
        let m = Memory::new(100);
        m.set("a", vec![1], Some(Duration::from_millis(30))).unwrap();
        assert_eq!(m.get("a").unwrap(), Some(vec![1]));
        assert_eq!(m.get_set("a", vec![2], None).unwrap(), vec![1]);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(m.get("a").unwrap(), None);
        assert!(!m.has("a").unwrap());
        assert!(m.keys().unwrap().is_empty());
        assert_eq!(m.get_set("a", vec![3], None).unwrap(), vec![3]);
        assert_eq!(m.get_del("a").unwrap(), Some(vec![3]));
        assert_eq!(m.get("a").unwrap(), None);
    }

    #[test]
    fn glob_escaping() {
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }
}
