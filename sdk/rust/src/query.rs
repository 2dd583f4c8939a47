//! QueryDSL queries (docs/ABI.md §8): the host runs them (gou owns
//! QueryDSL) as the process `query.Run`, with the args
//! `[dsl, bindings?, engine?, method?]`.
//!
//! ```ignore
//! use yao_guest::query::{self, Query};
//! let rows: Vec<User> = query::get(json!({"select": ["id", "name"], "from": "user"}))?;
//! let page: Value = Query::engine("stats").paginate_with(dsl, json!({"status": "active"}))?;
//! ```

use crate::host::{self, Import};
use crate::{to_value, Error, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A query engine of the host, by name (Yao's `new Query(engine)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    engine: String,
}

impl Default for Query {
    fn default() -> Query {
        Query::engine("default")
    }
}

impl Query {
    /// The engine `name` (the host lower-cases it, as gou registers them).
    pub fn engine(name: impl Into<String>) -> Query {
        Query { engine: name.into() }
    }

    /// What the DSL asks for: a page when it sets `page`/`pagesize`, the
    /// first row when it sets `first`, else the rows.
    pub fn run<Q: Serialize, R: DeserializeOwned>(&self, dsl: Q) -> Result<R, Error> {
        self.call(dsl, Value::Nil, None)
    }

    /// The rows.
    pub fn get<Q: Serialize, R: DeserializeOwned>(&self, dsl: Q) -> Result<R, Error> {
        self.call(dsl, Value::Nil, Some("Get"))
    }

    /// The first row (`None`/nil when there is none).
    pub fn first<Q: Serialize, R: DeserializeOwned>(&self, dsl: Q) -> Result<R, Error> {
        self.call(dsl, Value::Nil, Some("First"))
    }

    /// One page: `{items, total, page, pagesize, pagecnt, next, prev}`.
    pub fn paginate<Q: Serialize, R: DeserializeOwned>(&self, dsl: Q) -> Result<R, Error> {
        self.call(dsl, Value::Nil, Some("Paginate"))
    }

    /// [`Query::run`] with `bindings` filling the DSL's `?:name` placeholders.
    pub fn run_with<Q: Serialize, B: Serialize, R: DeserializeOwned>(&self, dsl: Q, bindings: B) -> Result<R, Error> {
        self.call(dsl, to_value(bindings)?, None)
    }

    /// [`Query::get`] with bindings.
    pub fn get_with<Q: Serialize, B: Serialize, R: DeserializeOwned>(&self, dsl: Q, bindings: B) -> Result<R, Error> {
        self.call(dsl, to_value(bindings)?, Some("Get"))
    }

    /// [`Query::first`] with bindings.
    pub fn first_with<Q: Serialize, B: Serialize, R: DeserializeOwned>(&self, dsl: Q, bindings: B) -> Result<R, Error> {
        self.call(dsl, to_value(bindings)?, Some("First"))
    }

    /// [`Query::paginate`] with bindings.
    pub fn paginate_with<Q: Serialize, B: Serialize, R: DeserializeOwned>(&self, dsl: Q, bindings: B) -> Result<R, Error> {
        self.call(dsl, to_value(bindings)?, Some("Paginate"))
    }

    /// Sends `[dsl, bindings, engine, method]`, leaving out trailing
    /// defaults so that a host which knows only `[dsl]` serves plain calls.
    fn call<Q: Serialize, R: DeserializeOwned>(&self, dsl: Q, bindings: Value, method: Option<&str>) -> Result<R, Error> {
        let engine = if self.engine == "default" { Value::Nil } else { Value::from(self.engine.as_str()) };
        let mut args = vec![to_value(dsl)?, bindings, engine, method.map_or(Value::Nil, Value::from)];
        while args.len() > 1 && args.last() == Some(&Value::Nil) {
            args.pop();
        }
        host::call(Import::Query, args)
    }
}

/// [`Query::run`] on the default engine.
pub fn run<Q: Serialize, R: DeserializeOwned>(dsl: Q) -> Result<R, Error> {
    Query::default().run(dsl)
}

/// [`Query::get`] on the default engine.
pub fn get<Q: Serialize, R: DeserializeOwned>(dsl: Q) -> Result<R, Error> {
    Query::default().get(dsl)
}

/// [`Query::first`] on the default engine.
pub fn first<Q: Serialize, R: DeserializeOwned>(dsl: Q) -> Result<R, Error> {
    Query::default().first(dsl)
}

/// [`Query::paginate`] on the default engine.
pub fn paginate<Q: Serialize, R: DeserializeOwned>(dsl: Q) -> Result<R, Error> {
    Query::default().paginate(dsl)
}
