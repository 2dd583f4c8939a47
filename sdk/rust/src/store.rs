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

    /// Adds `by` to the integer at `key` (an absent or expired key counts as
    /// 0) atomically, keeping the key's TTL, and returns the new value. Of
    /// concurrent `incr`s, on one runtime or many sharing a Redis store,
    /// none is lost. A value that is not a number is a 400 (and stays as it
    /// was); a key that holds a float answers a float, which is a 500 here:
    /// use [`Store::incr_f64`] for those.
    pub fn incr(&self, key: &str, by: i64) -> Result<i64, Error> {
        self.call("Incr", vec![Value::from(key), Value::from(by)])
    }

    /// [`Store::incr`] with a float step; the new value as a float (an
    /// integer answer converts).
    pub fn incr_f64(&self, key: &str, by: f64) -> Result<f64, Error> {
        self.call("Incr", vec![Value::from(key), Value::F64(by)])
    }

    // The list methods: gou's array operations on the value at `key`
    // (docs/ABI.md §5). An absent key is an empty list to the readers and
    // the removers; the writers make the list; a list emptied by `pop`,
    // `pull` or `pull_all` is deleted. A key that holds something other than
    // a list is a 400 for all but `array_len`.

    /// Appends `values` in order, making the list when `key` is absent (at
    /// least one value: none is a 400).
    ///
    /// ```ignore
    /// let queue = Store::named("jobs");
    /// queue.push("todo", ["a", "b"])?;
    /// queue.push("todo", [Value::from(1), Value::from("mixed")])?;
    /// let next: String = queue.pop("todo", -1)?; // "a": the first
    /// ```
    pub fn push<V: Serialize>(&self, key: &str, values: impl IntoIterator<Item = V>) -> Result<(), Error> {
        self.call::<Value>("Push", keyed(key, values)?).map(drop)
    }

    /// Removes and returns an element: the last for `position` 1, the first
    /// for anything else (gou uses -1). 404 when the list is empty or the
    /// key absent.
    pub fn pop<R: DeserializeOwned>(&self, key: &str, position: i64) -> Result<R, Error> {
        self.call("Pop", vec![Value::from(key), Value::from(position)])
    }

    /// Removes every element equal to `value` (the same value, as
    /// MessagePack: `1` and `1.0` differ). Fine when absent.
    pub fn pull<V: Serialize>(&self, key: &str, value: V) -> Result<(), Error> {
        self.call::<Value>("Pull", vec![Value::from(key), to_value(value)?]).map(drop)
    }

    /// Removes every element equal to any of `values` (none: nothing); fine
    /// when absent.
    pub fn pull_all<V: Serialize>(&self, key: &str, values: impl IntoIterator<Item = V>) -> Result<(), Error> {
        // Always the one-array form [key, [values]]: sent flat, a single
        // value that is itself an array would be read as the list of values.
        let values = values.into_iter().map(to_value).collect::<Result<Vec<_>, _>>()?;
        self.call::<Value>("PullAll", vec![Value::from(key), Value::Array(values)]).map(drop)
    }

    /// Appends, in order, each of `values` not already in the list (nor
    /// earlier among `values`), making the list when `key` is absent; at
    /// least one value.
    pub fn add_to_set<V: Serialize>(&self, key: &str, values: impl IntoIterator<Item = V>) -> Result<(), Error> {
        self.call::<Value>("AddToSet", keyed(key, values)?).map(drop)
    }

    /// The number of elements: 0 for an absent key or a value that is not a
    /// list.
    pub fn array_len(&self, key: &str) -> Result<u64, Error> {
        self.call("ArrayLen", vec![Value::from(key)])
    }

    /// The element at `index` (from 0); 404 past the end or on an absent
    /// key.
    pub fn array_get<R: DeserializeOwned>(&self, key: &str, index: u64) -> Result<R, Error> {
        self.call("ArrayGet", vec![Value::from(key), Value::from(index)])
    }

    /// Replaces the element at `index`; 404 past the end or on an absent
    /// key.
    pub fn array_set<V: Serialize>(&self, key: &str, index: u64, value: V) -> Result<(), Error> {
        self.call::<Value>("ArraySet", vec![Value::from(key), Value::from(index), to_value(value)?]).map(drop)
    }

    /// Up to `limit` elements after the first `skip`; empty for a `limit`
    /// of 0, past the end, or on an absent key.
    pub fn array_slice<R: DeserializeOwned>(&self, key: &str, skip: u64, limit: u64) -> Result<Vec<R>, Error> {
        self.call("ArraySlice", vec![Value::from(key), Value::from(skip), Value::from(limit)])
    }

    /// Page `page` (from 1) of `page_size` elements; empty for a page or
    /// size of 0, past the end, or on an absent key.
    pub fn array_page<R: DeserializeOwned>(&self, key: &str, page: u64, page_size: u64) -> Result<Vec<R>, Error> {
        self.call("ArrayPage", vec![Value::from(key), Value::from(page), Value::from(page_size)])
    }

    /// Every element; empty for an absent key.
    pub fn array_all<R: DeserializeOwned>(&self, key: &str) -> Result<Vec<R>, Error> {
        self.call("ArrayAll", vec![Value::from(key)])
    }
}

/// `[key, value...]`: the args of the variadic list methods.
fn keyed<V: Serialize>(key: &str, values: impl IntoIterator<Item = V>) -> Result<Vec<Value>, Error> {
    std::iter::once(Ok(Value::from(key))).chain(values.into_iter().map(to_value)).collect()
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
