//! HTTP requests to the hosts the runtime allows, as Yao's `http` processes
//! (docs/ABI.md §7).
//!
//! ```ignore
//! let answer = yao_guest::http::get("http://api.internal:8080/users")?;
//! let posted = yao_guest::http::Request::new("POST", "http://api.internal:8080/users")
//!     .header("X-Token", "t")
//!     .json(&user)?
//!     .timeout(Duration::from_secs(2))
//!     .send()?;
//! let updated = yao_guest::http::Request::put("http://api.internal:8080/users/1")
//!     .query("notify", "no")
//!     .json(&user)?
//!     .send()?; // Yao's http.Put
//! let uploaded = yao_guest::http::Request::post("http://api.internal:8080/avatars")
//!     .file("avatar", "uploads/ada.png") // under the fs root "data"
//!     .json(BTreeMap::from([("user", "ada")]))? // form fields
//!     .send()?; // Yao's http.Post, as multipart/form-data
//! ```
//!
//! Every status is an `Ok(Response)`; `Err` is for a refused host (403), a
//! timeout (408), a body over the size cap (413), a failed connection (502).

use crate::host::{self, Import};
use crate::{to_value, Error, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Yao's `{status, headers, data}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Response {
    pub status: u16,
    /// Lowercased header names → their values.
    pub headers: BTreeMap<String, Vec<String>>,
    /// The body: decoded JSON for JSON content types, a string for text,
    /// bytes otherwise, nil when empty.
    pub data: Value,
}

impl Response {
    /// `data` decoded into `T`; a mismatch is a 400.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        crate::from_value(self.data.clone())
    }

    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).and_then(|v| v.first()).map(String::as_str)
    }
}

/// A request to build up and `send`: `Request::new` sends it with the
/// `Send` method, `Request::post`/`put`/`patch`/`delete`/`head` with Yao's
/// `Post`/`Put`/`Patch`/`Delete`/`Head`.
#[derive(Debug, Clone)]
pub struct Request {
    /// `Some("Put")` etc.: sent as that method; `None`: as `Send`.
    process: Option<&'static str>,
    method: String,
    url: String,
    payload: Value,
    query: Vec<(Value, Value)>,
    headers: Vec<(Value, Value)>,
    /// Form field → path under the fs root `data` (Post only).
    files: Vec<(Value, Value)>,
    timeout: Option<Duration>,
}

impl Request {
    /// `method`: GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS.
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            process: None,
            method: method.to_owned(),
            url: url.to_owned(),
            payload: Value::Nil,
            query: vec![],
            headers: vec![],
            files: vec![],
            timeout: None,
        }
    }

    fn named(process: &'static str, url: &str) -> Request {
        Request { process: Some(process), ..Request::new(&process.to_ascii_uppercase(), url) }
    }

    /// A POST request, sent as Yao's `http.Post`: the one that takes
    /// [`Request::file`] uploads.
    pub fn post(url: &str) -> Request {
        Request::named("Post", url)
    }

    /// A PUT request, sent as Yao's `http.Put`.
    pub fn put(url: &str) -> Request {
        Request::named("Put", url)
    }

    /// A PATCH request, sent as Yao's `http.Patch`.
    pub fn patch(url: &str) -> Request {
        Request::named("Patch", url)
    }

    /// A DELETE request, sent as Yao's `http.Delete`.
    pub fn delete(url: &str) -> Request {
        Request::named("Delete", url)
    }

    /// A HEAD request, sent as Yao's `http.Head`.
    pub fn head(url: &str) -> Request {
        Request::named("Head", url)
    }

    pub fn query(mut self, key: &str, value: &str) -> Request {
        self.query.push((Value::from(key), Value::from(value)));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((Value::from(name), Value::from(value)));
        self
    }

    /// A JSON body (`application/json` unless a Content-Type header is set).
    pub fn json<T: Serialize>(mut self, body: T) -> Result<Request, Error> {
        self.payload = to_value(body)?;
        Ok(self)
    }

    /// A text body, sent as it is.
    pub fn text(mut self, body: &str) -> Request {
        self.payload = Value::from(body);
        self
    }

    /// A binary body, sent as it is.
    pub fn bytes(mut self, body: Vec<u8>) -> Request {
        self.payload = Value::Binary(body);
        self
    }

    /// Uploads the file at `path`, relative to the runtime's fs root `data`,
    /// as the form field `field`: the request goes as multipart/form-data
    /// (its Content-Type set by the runtime), and a [`json`](Request::json)
    /// payload must then be a map, whose entries become text fields. Only
    /// for [`Request::post`] (`send` answers a 400 for another method); the
    /// runtime refuses a path outside the root (403), a missing file (404)
    /// and more than 256 MiB in all (413) (docs/ABI.md §7).
    pub fn file(mut self, field: &str, path: &str) -> Request {
        self.files.push((Value::from(field), Value::from(path)));
        self
    }

    /// This request's timeout (capped by the runtime's `http_timeout_ms`).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = Some(timeout);
        self
    }

    pub fn send(self) -> Result<Response, Error> {
        if !self.files.is_empty() && self.process != Some("Post") {
            return Err(Error::bad_request("http: files are uploaded by Request::post only (Yao's http.Post)"));
        }
        let map = |pairs: Vec<(Value, Value)>| if pairs.is_empty() { Value::Nil } else { Value::Map(pairs) };
        let timeout = self.timeout.map_or(Value::Nil, |t| Value::from(t.as_millis().max(1) as u64));
        let (url, payload, query, headers) = (Value::from(self.url), self.payload, map(self.query), map(self.headers));
        match self.process {
            // Post: [url, payload, files, query, headers, timeout_ms].
            Some("Post") => call("Post", vec![url, payload, map(self.files), query, headers, timeout]),
            // Put, Patch, Delete, Head: [url, payload, query, headers, timeout_ms].
            Some(process) => call(process, vec![url, payload, query, headers, timeout]),
            None => call("Send", vec![Value::from(self.method), url, payload, query, headers, timeout]),
        }
    }
}

fn call(method: &str, args: Vec<Value>) -> Result<Response, Error> {
    host::call(Import::Http { method }, args)
}

/// GET `url`.
pub fn get(url: &str) -> Result<Response, Error> {
    call("Get", vec![Value::from(url)])
}

/// POST `url` with a JSON body.
pub fn post<T: Serialize>(url: &str, payload: T) -> Result<Response, Error> {
    call("Post", vec![Value::from(url), to_value(payload)?])
}

/// PUT `url` with a JSON body.
pub fn put<T: Serialize>(url: &str, payload: T) -> Result<Response, Error> {
    call("Put", vec![Value::from(url), to_value(payload)?])
}

/// PATCH `url` with a JSON body.
pub fn patch<T: Serialize>(url: &str, payload: T) -> Result<Response, Error> {
    call("Patch", vec![Value::from(url), to_value(payload)?])
}

/// DELETE `url`.
pub fn delete(url: &str) -> Result<Response, Error> {
    call("Delete", vec![Value::from(url)])
}

/// HEAD `url`: the status and headers (`data` is nil).
pub fn head(url: &str) -> Result<Response, Error> {
    call("Head", vec![Value::from(url)])
}
