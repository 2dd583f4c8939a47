//! Named key-value stores with TTL, as Yao's `Store` (docs/ABI.md §5).
//!
//! ```ignore
//! use yao_guest::store::Store;
//! let cache = Store::named("cache");
//! cache.set("user:1", &user, Some(Duration::from_secs(60)))?;
//! let user: Option<User> = cache.get("user:1")?;
//! ```
//!
//! Which backend a name uses (memory, the host's stores, Redis) is the
//! runtime's config; the script code is the same for all three.

use crate::host::{self, Import};
use crate::{to_value, Error, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::time::Duration;

/// One named store. Cheap to make; holds only the name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    name: String,
}

fn ttl_value(ttl: Option<Duration>) -> Value {
    match ttl {
        None => Value::Nil,
        Some(t) if t.subsec_nanos() == 0 => Value::from(t.as_secs()),
        Some(t) => Value::F64(t.as_secs_f64()),
    }
}

impl Store {
    /// The store called `name` (1–128 bytes).
    pub fn named(name: impl Into<String>) -> Store {
        Store { name: name.into() }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Any method with positional args (`Get`, `Set`, … or one the host's
    /// store adds), decoded into `R`.
    pub fn call<R: DeserializeOwned>(&self, method: &str, args: Vec<Value>) -> Result<R, Error> {
        host::call(Import::Store { name: &self.name, method }, args)
    }

    /// The value of `key`, or None when absent or expired (fast path).
    pub fn get<R: DeserializeOwned>(&self, key: &str) -> Result<Option<R>, Error> {
        let bytes = host::store_get(&self.name, key)?;
        match bytes {
            None => Ok(None),
            Some(b) if b == [0xc0] => Ok(None),
            some => host::decode(&format!("stores.{}.Get", self.name), some).map(Some),
        }
    }

    /// Stores `value` under `key`; `ttl` None = no expiry. Whole seconds go
    /// through the fast path, a sub-second TTL through `Set`.
    pub fn set<V: Serialize>(&self, key: &str, value: V, ttl: Option<Duration>) -> Result<(), Error> {
        let value = to_value(value)?;
        match ttl {
            Some(t) if t.subsec_nanos() != 0 => self.call::<Value>("Set", vec![Value::from(key), value, ttl_value(ttl)]).map(drop),
            _ => {
                let seconds = ttl.map_or(0, |t| i64::try_from(t.as_secs()).unwrap_or(i64::MAX));
                host::store_set(&self.name, key, &host::encode_value(&value), seconds)
            }
        }
    }

    /// Whether `key` holds a live value.
    pub fn has(&self, key: &str) -> Result<bool, Error> {
        self.call("Has", vec![Value::from(key)])
    }

    /// Removes `key` (fine when absent; fast path).
    pub fn del(&self, key: &str) -> Result<(), Error> {
        host::store_del(&self.name, key)
    }

    /// Every live key, sorted.
    pub fn keys(&self) -> Result<Vec<String>, Error> {
        self.call("Keys", vec![])
    }

    /// How many live keys.
    pub fn len(&self) -> Result<u64, Error> {
        self.call("Len", vec![])
    }

    /// True when the store holds no live key.
    pub fn is_empty(&self) -> Result<bool, Error> {
        self.len().map(|n| n == 0)
    }

    /// Removes every key of this store.
    pub fn clear(&self) -> Result<(), Error> {
        self.call::<Value>("Clear", vec![]).map(drop)
    }

    /// Yao's get-or-set: the live value of `key`, or `value` stored with
    /// `ttl` and returned.
    pub fn get_set<V: Serialize, R: DeserializeOwned>(&self, key: &str, value: V, ttl: Option<Duration>) -> Result<R, Error> {
        let mut args = vec![Value::from(key), to_value(value)?];
        if ttl.is_some() {
            args.push(ttl_value(ttl));
        }
        self.call("GetSet", args)
    }

    /// The value of `key` (None when absent), removing it.
    pub fn get_del<R: DeserializeOwned>(&self, key: &str) -> Result<Option<R>, Error> {
        self.call("GetDel", vec![Value::from(key)])
    }
}

/// `Store::named(name).get(key)`.
pub fn get<R: DeserializeOwned>(name: &str, key: &str) -> Result<Option<R>, Error> {
    Store::named(name).get(key)
}

/// `Store::named(name).set(key, value, ttl)`.
pub fn set<V: Serialize>(name: &str, key: &str, value: V, ttl: Option<Duration>) -> Result<(), Error> {
    Store::named(name).set(key, value, ttl)
}

/// `Store::named(name).del(key)`.
pub fn del(name: &str, key: &str) -> Result<(), Error> {
    Store::named(name).del(key)
}
