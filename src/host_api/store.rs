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

use super::args::{self as api_args, Args};
use super::Dispatch;
use crate::config::{StoreBackend, StoreConfig};
use crate::error::{Error, Result};
use crate::sync::{MutexAny, RwLockAny};
use rmpv::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

pub use crate::config::MAX_STORE_NAME_LEN as MAX_NAME_LEN;
/// Entries a memory store keeps by default before evicting.
pub const DEFAULT_MAX_ENTRIES: u64 = 100_000;
/// Bytes a configured memory store keeps by default before evicting
/// (`stores.<name>.max_bytes`): keys and values, plus [`ENTRY_OVERHEAD`]
/// per entry.
pub use crate::config::DEFAULT_STORE_MAX_BYTES as DEFAULT_MAX_BYTES;
/// Bytes that all the memory stores not in the config hold together, at
/// most: past it a write to one of them is a 413 (not an eviction: those
/// names are the guest's own, and 1024 of them at a configured store's
/// budget each would be 64 GiB).
pub const UNCONFIGURED_MAX_BYTES: u64 = 64 << 20;
/// What one entry of a memory store is counted for besides its key and
/// value bytes (moka's node, the Arc, the expiry).
pub const ENTRY_OVERHEAD: u64 = 64;
/// The longest key of a memory or Redis store, in bytes: longer is a 413.
pub const MAX_KEY_LEN: usize = 1024;
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
    /// One list operation on the list at `key`; the MessagePack answer.
    /// `admit` is asked for room before a list grows by that many bytes.
    fn list(&self, key: &str, op: ListOp, admit: &dyn Fn(u64) -> Result<()>) -> Result<Vec<u8>>;
    /// Adds `by` to the number at `key` (absent: 0) atomically, keeping its
    /// TTL; the new value, encoded.
    fn incr(&self, key: &str, by: Number) -> Result<Vec<u8>>;
    /// Bytes held, as counted against a budget (memory only).
    fn held_bytes(&self) -> u64 {
        0
    }
    /// Applies pending evictions, so that [`Backend::held_bytes`] is exact.
    fn settle(&self) {}
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
            Some(c) => Arc::new(Memory::new(c.max_entries.unwrap_or(DEFAULT_MAX_ENTRIES), c.max_bytes.unwrap_or(DEFAULT_MAX_BYTES))),
            None => {
                let unconfigured = open.keys().filter(|n| !self.configured.contains_key(*n)).count();
                if unconfigured >= MAX_UNCONFIGURED_STORES {
                    return Err(Error::too_large(format!(
                        "too many store names: at most {MAX_UNCONFIGURED_STORES} stores that are not in the config"
                    )));
                }
                Arc::new(Memory::new(DEFAULT_MAX_ENTRIES, UNCONFIGURED_MAX_BYTES))
            }
        };
        open.insert(name.to_owned(), backend.clone());
        Ok(Kind::Local(backend))
    }

    /// Room for `weight` more bytes in the store `name`: a store not in the
    /// config may only write while all of those hold less than
    /// [`UNCONFIGURED_MAX_BYTES`] together (413 otherwise). Pending
    /// evictions (expired entries, Dels, Clears) are applied before refusing.
    fn admit(&self, name: &str, weight: u64) -> Result<()> {
        if self.configured.contains_key(name) {
            return Ok(());
        }
        let unconfigured = || -> Vec<Arc<dyn Backend>> {
            self.open.read_any().iter().filter(|(n, _)| !self.configured.contains_key(*n)).map(|(_, b)| b.clone()).collect()
        };
        let held = |stores: &[Arc<dyn Backend>]| stores.iter().map(|b| b.held_bytes()).sum::<u64>();
        let stores = unconfigured();
        if held(&stores).saturating_add(weight) <= UNCONFIGURED_MAX_BYTES {
            return Ok(());
        }
        stores.iter().for_each(|b| b.settle());
        let now = held(&stores);
        if now.saturating_add(weight) <= UNCONFIGURED_MAX_BYTES {
            return Ok(());
        }
        Err(Error::too_large(format!(
            "store {name}: the stores that are not in the config hold {now} bytes together; {weight} more would pass their {UNCONFIGURED_MAX_BYTES}-byte budget (Del or Clear some, or configure the store with its own max_bytes)"
        )))
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
        let key = |args: &Args| args.string(0, "key").and_then(|k| check_key(name, k)).map(str::to_owned);
        let value_of = |args: &mut Args| api_args::encode(&args.take(1));
        let answer = match method {
            "Get" => {
                args.at_most(1)?;
                or_nil(backend.get(&key(&args)?)?)
            }
            "Set" => {
                args.at_most(3)?;
                let (k, ttl) = (key(&args)?, args.opt_seconds(2, "ttl")?);
                let value = value_of(&mut args);
                self.admit(name, weight(&k, &value))?;
                backend.set(&k, value, ttl)?;
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
                let value = value_of(&mut args);
                self.admit(name, weight(&k, &value))?;
                backend.get_set(&k, value, ttl)?
            }
            "GetDel" => {
                args.at_most(1)?;
                or_nil(backend.get_del(&key(&args)?)?)
            }
            "Incr" => incr(backend.as_ref(), &args, &key(&args)?)?,
            _ => {
                let op = list_op(method, &mut args).ok_or_else(|| {
                    Error::not_found(format!(
                        "store {name}: no method {method:?} (Get, Set, Has, Del, Keys, Len, Clear, GetSet, GetDel, Incr, {})",
                        LIST_METHODS.join(", ")
                    ))
                })??;
                let k = key(&args)?;
                backend.list(&k, op, &|grow| self.admit(name, grow))?
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
            Kind::Local(backend) => backend.get(check_key(name, key)?),
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
            Kind::Local(backend) => {
                self.admit(name, weight(check_key(name, key)?, &value))?;
                backend.set(key, value, ttl)
            }
        }
    }

    /// `yao.store_del`.
    pub fn del(&self, runtime: &dyn Dispatch, name: &str, key: &str) -> Result<()> {
        match self.kind(name)? {
            Kind::Process => runtime.dispatch(&format!("stores.{name}.Del"), &api_args::one_string_array(key)).map(drop),
            Kind::Local(backend) => backend.del(check_key(name, key)?),
        }
    }
}

/// The list methods (gou's MongoDB-style array operations on the value at a
/// key), after the key-value ones.
pub const LIST_METHODS: [&str; 11] =
    ["Push", "Pop", "Pull", "PullAll", "AddToSet", "ArrayLen", "ArrayGet", "ArraySet", "ArraySlice", "ArrayPage", "ArrayAll"];

/// One list operation, its args checked. Values are whole MessagePack
/// values; two elements are equal when their values are (so Redis compares
/// them as the same bytes: each is stored re-encoded by rmpv, integers in
/// their shortest form).
#[derive(Debug, Clone)]
pub(crate) enum ListOp {
    /// Appends every value.
    Push(Vec<Value>),
    /// Removes and answers the last element (`last`) or the first; 404 on
    /// a missing key or an empty list.
    Pop { last: bool },
    /// Removes every element equal to one of the values (Pull, PullAll).
    Pull(Vec<Value>),
    /// Appends each value not already there, in order.
    AddToSet(Vec<Value>),
    /// The length; 0 for a missing key or a value that is not a list.
    Len,
    /// The element at an index; 404 past the end or on a missing key.
    Get(u64),
    /// Replaces the element at an index; 404 past the end or on a missing key.
    Set(u64, Value),
    /// Up to `limit` elements after the first `skip` (ArraySlice,
    /// ArrayPage, ArrayAll); [] for a missing key.
    Slice { skip: u64, limit: u64 },
}

/// The list operation `method` names, its args checked (the key is arg 1);
/// None when `method` is not a list method.
fn list_op(method: &str, args: &mut Args) -> Option<Result<ListOp>> {
    if !LIST_METHODS.contains(&method) {
        return None;
    }
    let values = |args: &mut Args, at_least_one: bool| -> Result<Vec<Value>> {
        if at_least_one && args.count() < 2 {
            return Err(args.bad(1, "a value (one or more, after the key)"));
        }
        Ok(args.take_rest(1))
    };
    let exactly = |args: &Args, n: usize| -> Result<()> {
        args.at_most(n)?;
        if args.count() < n {
            return Err(args.bad(args.count(), "given"));
        }
        Ok(())
    };
    let index = |args: &Args| -> Result<u64> {
        let i = args.int(1, "index")?;
        u64::try_from(i).map_err(|_| args.bad(1, "the index (an integer, 0 or more)"))
    };
    // skip and limit as gou clamps them: a negative skip or a limit under 1
    // selects nothing.
    let window = |skip: i64, limit: i64| {
        if skip < 0 || limit < 1 {
            ListOp::Slice { skip: 0, limit: 0 }
        } else {
            ListOp::Slice { skip: skip as u64, limit: limit as u64 }
        }
    };
    let op = (|| match method {
        "Push" => Ok(ListOp::Push(values(args, true)?)),
        "AddToSet" => Ok(ListOp::AddToSet(values(args, true)?)),
        "Pop" => {
            // gou: 1 pops the last element, anything else the first.
            exactly(args, 2)?;
            Ok(ListOp::Pop { last: args.int(1, "position (1: last, -1: first)")? == 1 })
        }
        "Pull" => {
            exactly(args, 2)?;
            Ok(ListOp::Pull(values(args, true)?))
        }
        "PullAll" => {
            // Variadic; one array arg is the list of values (gou's process).
            let mut values = values(args, true)?;
            if values.len() == 1 && values[0].is_array() {
                if let Some(Value::Array(inner)) = values.pop() {
                    values = inner;
                }
            }
            Ok(ListOp::Pull(values))
        }
        "ArrayLen" => args.at_most(1).map(|()| ListOp::Len),
        "ArrayAll" => args.at_most(1).map(|()| ListOp::Slice { skip: 0, limit: u64::MAX }),
        "ArrayGet" => {
            exactly(args, 2)?;
            Ok(ListOp::Get(index(args)?))
        }
        "ArraySet" => {
            exactly(args, 3)?;
            let i = index(args)?;
            Ok(ListOp::Set(i, args.take(2)))
        }
        "ArraySlice" => {
            exactly(args, 3)?;
            Ok(window(args.int(1, "skip")?, args.int(2, "limit")?))
        }
        "ArrayPage" => {
            exactly(args, 3)?;
            let (page, size) = (args.int(1, "page (from 1)")?, args.int(2, "page size")?);
            if page < 1 || size < 1 {
                return Ok(window(0, 0));
            }
            Ok(window((page - 1).saturating_mul(size), size))
        }
        _ => Err(Error::internal(format!("store: {method} is not a list method"))),
    })();
    Some(op)
}

/// The 400 of a list method on a key that holds a value that is not a list.
fn not_a_list(key: &str) -> Error {
    Error::bad_request(format!("store: the value at key {key:?} is not a list"))
}

// ---------------------------------------------------------------- Incr

/// A counter's value or increment: integers stay integers (i64, overflow is
/// a 400); a float on either side makes a float.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn of(value: &Value) -> Option<Number> {
        match value {
            Value::Integer(n) => n.as_i64().map(Number::Int),
            Value::F32(f) => Some(Number::Float(f64::from(*f))),
            Value::F64(f) => Some(Number::Float(*f)),
            _ => None,
        }
    }

    fn add(self, by: Number) -> Result<Number> {
        Ok(match (self, by) {
            (Number::Int(a), Number::Int(b)) => Number::Int(
                a.checked_add(b).ok_or_else(|| Error::bad_request(format!("store: Incr: {a} + {b} overflows a 64-bit integer")))?,
            ),
            (Number::Int(a), Number::Float(b)) => Number::Float(a as f64 + b),
            (Number::Float(a), Number::Int(b)) => Number::Float(a + b as f64),
            (Number::Float(a), Number::Float(b)) => Number::Float(a + b),
        })
    }

    fn encode(self) -> Vec<u8> {
        api_args::encode(&match self {
            Number::Int(n) => Value::from(n),
            Number::Float(f) => Value::F64(f),
        })
    }

    /// The number an encoded stored value holds; a 400 for anything else.
    fn decode(bytes: &[u8]) -> Result<Number> {
        let value = rmpv::decode::read_value(&mut &bytes[..]).map_err(|e| Error::internal(format!("store: Incr: stored value: {e}")))?;
        Number::of(&value).ok_or_else(|| Error::bad_request(format!("store: Incr: the value is not a number ({value})")))
    }
}

/// `Incr(key, by?)`: adds `by` (default 1, an integer or a float) to the
/// number at `key` (an absent key counts as 0), atomically, keeping the
/// key's TTL; answers the new value. A value that is not a number is a 400.
fn incr(backend: &dyn Backend, args: &Args, key: &str) -> Result<Vec<u8>> {
    args.at_most(2)?;
    let by = match args.get(1) {
        Value::Nil => Number::Int(1),
        v => Number::of(v).ok_or_else(|| args.bad(1, "the increment (a number) or nil"))?,
    };
    backend.incr(key, by)
}

/// `key`, or a 413 when it is over [`MAX_KEY_LEN`].
fn check_key<'k>(name: &str, key: &'k str) -> Result<&'k str> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::too_large(format!("store {name}: a key is at most {MAX_KEY_LEN} bytes, got {}", key.len())));
    }
    Ok(key)
}

/// What an entry counts for against a memory store's byte budget.
fn weight(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64 + ENTRY_OVERHEAD
}

fn or_nil(value: Option<Vec<u8>>) -> Vec<u8> {
    value.unwrap_or_else(|| api_args::NIL.to_vec())
}

// ---------------------------------------------------------------- memory

/// What a list operation does to the entry.
enum Change {
    Keep,
    Put(Vec<Value>),
    Remove,
}

/// Applies `op` to `list` (None: no entry); the change and the answer.
fn apply(key: &str, list: Option<Vec<Value>>, op: ListOp) -> Result<(Change, Value)> {
    let put_or_remove = |items: Vec<Value>| if items.is_empty() { Change::Remove } else { Change::Put(items) };
    Ok(match op {
        ListOp::Push(values) => {
            let mut items = list.unwrap_or_default();
            items.extend(values);
            (Change::Put(items), Value::Nil)
        }
        ListOp::AddToSet(values) => {
            let mut items = list.unwrap_or_default();
            let before = items.len();
            for v in values {
                if !items.contains(&v) {
                    items.push(v);
                }
            }
            let grew = items.len() > before;
            (if grew { Change::Put(items) } else { Change::Keep }, Value::Nil)
        }
        ListOp::Pop { last } => {
            let mut items = list
                .filter(|l| !l.is_empty())
                .ok_or_else(|| Error::not_found(format!("store: Pop: the list at key {key:?} is empty or absent")))?;
            let value = if last { items.pop().unwrap_or(Value::Nil) } else { items.remove(0) };
            (put_or_remove(items), value)
        }
        ListOp::Pull(values) => match list {
            None => (Change::Keep, Value::Nil),
            Some(mut items) => {
                let before = items.len();
                items.retain(|item| !values.contains(item));
                (if items.len() == before { Change::Keep } else { put_or_remove(items) }, Value::Nil)
            }
        },
        ListOp::Len => (Change::Keep, Value::from(list.map_or(0, |l| l.len() as u64))),
        ListOp::Get(i) => {
            let items = list.unwrap_or_default();
            let value = usize::try_from(i).ok().and_then(|i| items.into_iter().nth(i)).ok_or_else(|| out_of_range(key, i))?;
            (Change::Keep, value)
        }
        ListOp::Set(i, value) => {
            let mut items = list.ok_or_else(|| out_of_range(key, i))?;
            let slot = usize::try_from(i).ok().and_then(|i| items.get_mut(i)).ok_or_else(|| out_of_range(key, i))?;
            *slot = value;
            (Change::Put(items), Value::Nil)
        }
        ListOp::Slice { skip, limit } => {
            let items = list.unwrap_or_default();
            let skip = usize::try_from(skip).unwrap_or(usize::MAX);
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            (Change::Keep, Value::Array(items.into_iter().skip(skip).take(limit).collect()))
        }
    })
}

/// The 404 of ArrayGet/ArraySet past the end of a list (or on no list).
fn out_of_range(key: &str, i: u64) -> Error {
    Error::not_found(format!("store: no element at index {i} of the list at key {key:?} (index out of range)"))
}

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
///
/// Its budget is in bytes (`max_bytes`, moka's weigher: key + value +
/// [`ENTRY_OVERHEAD`]) and in entries (`max_entries`): every entry weighs at
/// least `max_bytes / max_entries`, so a full store holds at most
/// `max_entries` entries and at most `max_bytes` bytes. Past either, moka
/// evicts the least valuable entries (TinyLFU). One entry heavier than the
/// whole budget is a 413. moka applies evictions in batches; a store runs
/// them itself once an eighth of its budget was written since, so what it
/// holds stays within `max_bytes` plus an eighth plus one entry.
struct Memory {
    cache: moka::sync::Cache<String, Entry>,
    max_bytes: u64,
    /// Bytes written since evictions were last applied.
    unsettled: AtomicU64,
}

impl Memory {
    fn new(max_entries: u64, max_bytes: u64) -> Memory {
        let least = max_bytes.div_ceil(max_entries.max(1));
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |key: &String, entry: &Entry| weight(key, &entry.value).max(least).min(u64::from(u32::MAX)) as u32)
            .expire_after(PerEntryExpiry)
            .build();
        Memory { cache, max_bytes, unsettled: AtomicU64::new(0) }
    }

    /// 413 for an entry heavier than the whole budget; otherwise notes the
    /// bytes about to be written.
    fn reserve(&self, key: &str, value: &[u8]) -> Result<()> {
        self.reserve_over(key, value, 0)
    }

    /// [`Memory::reserve`] for an entry that replaces one of `old` bytes
    /// (counted already): notes only the growth. Pending evictions are
    /// applied before the growth is noted, so the entry about to be
    /// written is always counted (applied after, it was forgotten until the
    /// next write, and moka could evict where a 413 was due).
    fn reserve_over(&self, key: &str, value: &[u8], old: u64) -> Result<()> {
        let w = weight(key, value);
        if w > self.max_bytes {
            return Err(Error::too_large(format!(
                "store: an entry of {w} bytes (key, value and {ENTRY_OVERHEAD} of overhead) is over the store's max_bytes ({})",
                self.max_bytes
            )));
        }
        let grow = w.saturating_sub(old);
        if self.unsettled.load(Ordering::Relaxed).saturating_add(grow) > self.max_bytes / 8 {
            self.settle();
        }
        self.unsettled.fetch_add(grow, Ordering::Relaxed);
        Ok(())
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
        self.reserve(key, &value)?;
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
        self.settle();
        Ok(())
    }

    fn get_set(&self, key: &str, value: Vec<u8>, ttl: Option<Duration>) -> Result<Vec<u8>> {
        self.reserve(key, &value)?;
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

    fn list(&self, key: &str, op: ListOp, admit: &dyn Fn(u64) -> Result<()>) -> Result<Vec<u8>> {
        // Optimistic: read, compute, then commit only if the entry is still
        // the one read (the same Arc); else read again. moka's per-key
        // compute makes the check and the write one step.
        loop {
            let current = self.live(key);
            let list = match &current {
                None => None,
                Some(entry) => match rmpv::decode::read_value(&mut &entry.value[..]) {
                    Ok(Value::Array(items)) => Some(items),
                    _ if matches!(op, ListOp::Len) => None,
                    _ => return Err(not_a_list(key)),
                },
            };
            let (change, answer) = apply(key, list, op.clone())?;
            let fresh = match change {
                Change::Keep => return Ok(api_args::encode(&answer)),
                Change::Put(items) => {
                    let value = api_args::encode(&Value::Array(items));
                    let old = current.as_ref().map_or(0, |e| weight(key, &e.value));
                    let new = weight(key, &value);
                    if new > old {
                        admit(new - old)?;
                    }
                    self.reserve_over(key, &value, old)?;
                    Some(Entry { value: value.into(), expires: current.as_ref().and_then(|e| e.expires) })
                }
                Change::Remove => None,
            };
            let mut committed = false;
            self.cache.entry(key.to_owned()).and_compute_with(|now| {
                let same = match (&now, &current) {
                    (Some(now), Some(read)) => Arc::ptr_eq(&now.value().value, &read.value),
                    (Some(now), None) => !now.value().live(),
                    (None, None) => true,
                    (None, Some(_)) => false,
                };
                if !same {
                    return moka::ops::compute::Op::Nop;
                }
                committed = true;
                match fresh {
                    Some(entry) => moka::ops::compute::Op::Put(entry),
                    None if now.is_some() => moka::ops::compute::Op::Remove,
                    None => moka::ops::compute::Op::Nop,
                }
            });
            if committed {
                return Ok(api_args::encode(&answer));
            }
        }
    }

    fn incr(&self, key: &str, by: Number) -> Result<Vec<u8>> {
        // Atomic per key: moka runs one upsert of a key at a time.
        let mut outcome: Result<Vec<u8>> = Ok(Vec::new());
        self.cache.entry(key.to_owned()).and_upsert_with(|current| {
            let (old, expires) = match current.map(|c| c.into_value()).filter(Entry::live) {
                Some(entry) => match Number::decode(&entry.value) {
                    Ok(n) => (n, entry.expires),
                    Err(e) => {
                        outcome = Err(e);
                        return entry;
                    }
                },
                None => (Number::Int(0), None),
            };
            match old.add(by) {
                Ok(new) => {
                    let value = new.encode();
                    outcome = Ok(value.clone());
                    Entry { value: value.into(), expires }
                }
                Err(e) => {
                    outcome = Err(e);
                    Entry { value: old.encode().into(), expires }
                }
            }
        });
        outcome
    }

    fn held_bytes(&self) -> u64 {
        self.cache.weighted_size() + self.unsettled.load(Ordering::Relaxed)
    }

    fn settle(&self) {
        // Zeroed first: bytes written meanwhile are counted again at worst.
        self.unsettled.store(0, Ordering::Relaxed);
        self.cache.run_pending_tasks();
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
    if e.code() == Some("WRONGTYPE") {
        // A list where a value is expected, or the reverse.
        return Error::bad_request(format!("redis: the key holds another kind of value (a list or not): {e}"));
    }
    Error::new(502, format!("redis: {e}"))
}

/// AddToSet in one step on the server: appends each value that LPOS does
/// not find (in order, so the list keeps its order).
const ADD_TO_SET: &str = "for i = 1, #ARGV do \
if not redis.call('LPOS', KEYS[1], ARGV[i]) then redis.call('RPUSH', KEYS[1], ARGV[i]) end \
end return 0";

/// One value as a Redis list element: its MessagePack re-encoded by rmpv,
/// so equal values are equal bytes (what LREM and LPOS compare).
fn element(value: &Value) -> Vec<u8> {
    api_args::encode(value)
}

/// One Redis list element, checked to be one MessagePack value (502 if not).
fn one_element(item: Vec<u8>) -> Result<Vec<u8>> {
    let mut rest = &item[..];
    match rmpv::decode::read_value(&mut rest) {
        Ok(_) if rest.is_empty() => Ok(item),
        _ => Err(Error::new(502, "redis: a list element is not one MessagePack value (written by another client?)")),
    }
}

/// A MessagePack array of Redis list elements (each one MessagePack value;
/// anything else, written there by another client, is a 502).
fn elements(items: Vec<Vec<u8>>) -> Result<Vec<u8>> {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        let mut rest = &item[..];
        match rmpv::decode::read_value(&mut rest) {
            Ok(v) if rest.is_empty() => values.push(v),
            _ => return Err(Error::new(502, "redis: a list element is not one MessagePack value (written by another client?)")),
        }
    }
    Ok(api_args::encode(&Value::Array(values)))
}

impl Redis {
    fn new(name: &str, config: &StoreConfig) -> Result<Redis> {
        // The config check already opened this URL once; this cannot differ.
        let url = config.url.as_deref().unwrap_or_default();
        let client = redis::Client::open(url).map_err(|e| Error::bad_request(format!("store {name}: url: {e}")))?;
        let prefix = config.prefix.clone().unwrap_or_else(|| default_prefix(name));
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

/// The default key prefix of the Redis store `name`:
/// `yao:store:<bytes of name>:<name>:`. Length-prefixed, so that no two
/// names' prefixes overlap: the digits end at the first `:` after
/// `yao:store:`, so one prefix can only begin another of the same length,
/// that is, itself (with `yao:store:<name>:`, store `a` saw every key of
/// store `a:b`). A configured `prefix` is used as given.
fn default_prefix(name: &str) -> String {
    format!("yao:store:{}:{name}:", name.len())
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

/// `Incr` on Redis: KEYS[1] the key, ARGV[1] the increment, ARGV[2] "1"
/// when it is a float. Integers stay integers up to 2^53 (Lua's numbers);
/// past that, a 400 rather than a rounded counter.
const INCR_LUA: &str = r#"
local raw = redis.call('GET', KEYS[1])
local old = 0
local old_float = false
if raw then
  local ok, v = pcall(cmsgpack.unpack, raw)
  if not ok or type(v) ~= 'number' then return {false, 'the value is not a number'} end
  old = v
  old_float = (v ~= math.floor(v)) or (string.byte(raw, 1) == 0xcb) or (string.byte(raw, 1) == 0xca)
end
local new = old + tonumber(ARGV[1])
if ARGV[2] ~= '1' and not old_float then
  if new > 9007199254740992 or new < -9007199254740992 then return {false, 'the counter is past 2^53'} end
end
local encoded
if ARGV[2] == '1' or old_float then
  encoded = string.char(0xcb) .. struct.pack('>d', new)
else
  encoded = cmsgpack.pack(new)
end
redis.call('SET', KEYS[1], encoded, 'KEEPTTL')
return {encoded, false}
"#;

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
        match self.with(|c| redis::cmd("GET").arg(self.key(key)).query(c)) {
            // A list (made by Push): its elements, as the memory store answers.
            Err(e) if e.code() == 400 => {
                let items: Vec<Vec<u8>> = self.with(|c| redis::cmd("LRANGE").arg(self.key(key)).arg(0).arg(-1).query(c))?;
                elements(items).map(Some)
            }
            other => other,
        }
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

    /// Redis's own list commands, each atomic on the server (PullAll as one
    /// MULTI, AddToSet as one script). Redis drops a list it empties.
    fn list(&self, key: &str, op: ListOp, _admit: &dyn Fn(u64) -> Result<()>) -> Result<Vec<u8>> {
        let full = self.key(key);
        let nil = || api_args::NIL.to_vec();
        let elements_of = |values: &[Value]| values.iter().map(element).collect::<Vec<_>>();
        match op {
            ListOp::Push(values) => {
                self.with(|c| redis::cmd("RPUSH").arg(&full).arg(elements_of(&values)).query::<u64>(c))?;
                Ok(nil())
            }
            ListOp::AddToSet(values) => {
                self.with(|c| redis::cmd("EVAL").arg(ADD_TO_SET).arg(1).arg(&full).arg(elements_of(&values)).query::<i64>(c))?;
                Ok(nil())
            }
            ListOp::Pop { last } => {
                let popped: Option<Vec<u8>> = self.with(|c| redis::cmd(if last { "RPOP" } else { "LPOP" }).arg(&full).query(c))?;
                popped
                    .map(one_element)
                    .unwrap_or_else(|| Err(Error::not_found(format!("store: Pop: the list at key {key:?} is empty or absent"))))
            }
            ListOp::Pull(values) => {
                let mut pipe = redis::pipe();
                pipe.atomic();
                for v in elements_of(&values) {
                    pipe.cmd("LREM").arg(&full).arg(0).arg(v).ignore();
                }
                self.with(|c| pipe.query::<()>(c))?;
                Ok(nil())
            }
            ListOp::Len => match self.with(|c| redis::cmd("LLEN").arg(&full).query::<u64>(c)) {
                Ok(n) => Ok(api_args::encode(&Value::from(n))),
                Err(e) if e.code() == 400 => Ok(api_args::encode(&Value::from(0))),
                Err(e) => Err(e),
            },
            ListOp::Get(i) => {
                let i = i64::try_from(i).map_err(|_| out_of_range(key, i))?;
                let item: Option<Vec<u8>> = self.with(|c| redis::cmd("LINDEX").arg(&full).arg(i).query(c))?;
                item.map(one_element).unwrap_or_else(|| Err(out_of_range(key, i as u64)))
            }
            ListOp::Set(i, value) => {
                let at = i64::try_from(i).map_err(|_| out_of_range(key, i))?;
                let answer = self.with(|c| match redis::cmd("LSET").arg(&full).arg(at).arg(element(&value)).query::<()>(c) {
                    // "no such key", "index out of range"
                    Err(e) if e.kind() == redis::ErrorKind::ResponseError => Ok(Err(out_of_range(key, i))),
                    other => other.map(Ok),
                })?;
                answer.map(|()| nil())
            }
            ListOp::Slice { skip, limit } => {
                if limit == 0 {
                    return Ok(api_args::encode(&Value::Array(Vec::new())));
                }
                let start = i64::try_from(skip).unwrap_or(i64::MAX);
                let stop = start.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX)).saturating_sub(1);
                let items: Vec<Vec<u8>> = self.with(|c| redis::cmd("LRANGE").arg(&full).arg(start).arg(stop).query(c))?;
                elements(items)
            }
        }
    }

    fn incr(&self, key: &str, by: Number) -> Result<Vec<u8>> {
        // Values are MessagePack, which INCRBY cannot add to: a Lua script
        // (atomic on the server) decodes, adds and re-encodes with Redis'
        // own cmsgpack, keeping the TTL. Answers {new, nil} or {nil, why}.
        let (by, float) = match by {
            Number::Int(n) => (n.to_string(), false),
            Number::Float(f) => (f.to_string(), true),
        };
        let answer: (Option<Vec<u8>>, Option<String>) =
            self.with(|c| redis::cmd("EVAL").arg(INCR_LUA).arg(1).arg(self.key(key)).arg(by).arg(if float { 1 } else { 0 }).query(c))?;
        match answer {
            (Some(value), _) => Ok(value),
            (None, why) => Err(Error::bad_request(format!("store: Incr: {}", why.unwrap_or_else(|| "failed".into())))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_ttl_and_get_set() {
        let m = Memory::new(100, 1 << 20);
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
    fn memory_byte_budget() {
        let m = Memory::new(1000, 64 * 1024);
        for i in 0..100 {
            m.set(&format!("k{i}"), vec![0; 4000], None).unwrap();
            assert!(m.held_bytes() <= 64 * 1024 + 8 * 1024 + 4100, "{} bytes held after {i}", m.held_bytes());
        }
        m.settle();
        assert!(m.held_bytes() <= 64 * 1024, "{}", m.held_bytes());
        assert!(m.keys().unwrap().len() <= 16);
        assert_eq!(m.set("big", vec![0; 64 * 1024], None).unwrap_err().code(), 413);
        assert_eq!(m.get_set("big", vec![0; 64 * 1024], None).unwrap_err().code(), 413);
        // max_entries still holds: 10 entries of 1 byte fill a budget of 10.
        let few = Memory::new(10, 1 << 20);
        for i in 0..100 {
            few.set(&format!("k{i}"), vec![1], None).unwrap();
        }
        assert!(few.keys().unwrap().len() <= 10);
    }

    #[test]
    fn default_prefixes_never_overlap() {
        assert_eq!(default_prefix("a"), "yao:store:1:a:");
        let names = ["a", "a:", "a:b", "a:b:", "ab", "1:a", "1", "11:aaaaaaaaaaa", ":", "::", "12", "2:a:"];
        for x in names {
            for y in names {
                if x != y {
                    assert!(!default_prefix(y).starts_with(&default_prefix(x)), "{x} / {y}");
                }
            }
        }
    }

    #[test]
    fn glob_escaping() {
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }
}
