//! The example app's `user` script, as every SDK writes it (see
//! tests/conformance/cases.json for the exact behaviour).

use serde::Serialize;
use std::time::Duration;
use yao_guest::fs::Fs;
use yao_guest::store::Store;
use yao_guest::tasks::{self, Task};
use yao_guest::{export, http, log, process, query, Context, Error, Value, Variadic};

/// What `Check` answers.
#[derive(Serialize)]
struct Verdict {
    valid: bool,
    errors: Vec<String>,
}

/// Validates a user payload; rules apply in order and every broken one is
/// reported.
fn check(payload: Value) -> Result<Verdict, Error> {
    let Value::Map(fields) = &payload else {
        return Err(Error::bad_request("payload must be a map"));
    };
    let field = |key: &str| fields.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v);
    let mut errors = Vec::new();
    if !matches!(field("name").and_then(Value::as_str), Some(name) if !name.is_empty()) {
        errors.push("name is required".to_owned());
    }
    if !matches!(field("email").and_then(Value::as_str), Some(email) if email.contains('@')) {
        errors.push("email is invalid".to_owned());
    }
    match field("age") {
        None | Some(Value::Nil) => {}
        Some(Value::Integer(age)) if age.as_u64().is_some_and(|age| age <= 150) => {}
        Some(_) => errors.push("age is out of range".to_owned()),
    }
    Ok(Verdict { valid: errors.is_empty(), errors })
}

/// Loads the stored user and lays the payload over it (payload wins).
fn before_save(payload: Value) -> Result<Value, Error> {
    let Value::Map(changes) = payload else {
        return Err(Error::bad_request("payload must be a map"));
    };
    let id = changes.iter().find(|(k, _)| k.as_str() == Some("id")).map_or(Value::Nil, |(_, v)| v.clone());
    let found: Value = process("models.user.Find", (id,))?;
    let Value::Map(mut merged) = found else {
        return Err(Error::internal("models.user.Find did not return a map"));
    };
    for (key, value) in changes {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    Ok(Value::Map(merged))
}

fn deny() -> Result<(), Error> {
    Err(Error::forbidden("denied"))
}

/// Logs `msg` once at every level.
fn log_all(msg: String) -> Result<(), Error> {
    log::trace(&msg);
    log::debug(&msg);
    log::info(&msg);
    log::warn(&msg);
    log::error(&msg);
    Ok(())
}

fn echo(args: Variadic<Vec<Value>>) -> Result<Vec<Value>, Error> {
    Ok(args.0)
}

fn add(a: Value, b: Value) -> Result<i64, Error> {
    let bad = || Error::bad_request("Add expects two integers");
    let (a, b) = (a.as_i64().ok_or_else(bad)?, b.as_i64().ok_or_else(bad)?);
    a.checked_add(b).ok_or_else(bad)
}

/// Runs this language's own Check through the runtime.
fn nested(payload: Value) -> Result<bool, Error> {
    #[derive(serde::Deserialize)]
    struct Answer {
        valid: bool,
    }
    let answer: Answer = process("scripts.rust.user.Check", (payload,))?;
    Ok(answer.valid)
}

/// What `StoreRoundTrip` saw, step by step.
#[derive(Serialize)]
struct StoreTrip {
    get: Option<Value>,
    has: bool,
    kept: Value,
    fresh: Value,
    keys: Vec<String>,
    len: u64,
    taken: Option<Value>,
    after: Option<Value>,
    has_after: bool,
}

/// StoreRoundTrip(store, key, value): every Store method, in order, on an
/// emptied store.
fn store_round_trip(name: String, key: String, value: Value) -> Result<StoreTrip, Error> {
    let store = Store::named(name);
    store.clear()?;
    store.set(&key, &value, Some(Duration::from_secs(60)))?;
    let get = store.get(&key)?;
    let has = store.has(&key)?;
    let kept = store.get_set(&key, "other", None)?;
    let fresh = store.get_set("fresh", "new", None)?;
    let keys = store.keys()?;
    let len = store.len()?;
    let taken = store.get_del(&key)?;
    let after = store.get(&key)?;
    store.del("fresh")?;
    let has_after = store.has("fresh")?;
    Ok(StoreTrip { get, has, kept, fresh, keys, len, taken, after, has_after })
}

/// What `StoreLists` saw, step by step.
#[derive(Serialize)]
struct StoreListTrip {
    len: u64,
    all: Vec<Value>,
    page: Vec<Value>,
    slice: Vec<Value>,
    get: Value,
    past_end: i32,
    last: Value,
    first: Value,
    rest: Vec<Value>,
    len_after: u64,
    empty_pop: i32,
    count: i64,
}

/// StoreLists(store, key): the list methods and Incr, in order, on `key`
/// and `<key>:n` (both removed first and left absent).
fn store_lists(name: String, key: String) -> Result<StoreListTrip, Error> {
    let store = Store::named(name);
    let counter = format!("{key}:n");
    store.del(&key)?;
    store.del(&counter)?;
    store.push(&key, [Value::from(1), Value::from("two")])?;
    store.push(&key, [3])?;
    store.add_to_set(&key, [Value::from("two"), Value::from(4), Value::from(4)])?;
    let len = store.array_len(&key)?;
    let all = store.array_all(&key)?;
    let page = store.array_page(&key, 2, 3)?;
    let slice = store.array_slice(&key, 1, 2)?;
    let get = store.array_get(&key, 1)?;
    let past_end = store.array_get::<Value>(&key, 9).err().map_or(0, |e| e.code);
    store.array_set(&key, 0, "one")?;
    let last = store.pop(&key, 1)?;
    let first = store.pop(&key, -1)?;
    store.pull(&key, 3)?;
    store.pull_all(&key, ["two"])?;
    let rest = store.array_all(&key)?;
    let len_after = store.array_len(&key)?;
    let empty_pop = store.pop::<Value>(&key, 1).err().map_or(0, |e| e.code);
    store.incr(&counter, 1)?;
    let count = store.incr(&counter, 4)?;
    store.del(&counter)?;
    Ok(StoreListTrip { len, all, page, slice, get, past_end, last, first, rest, len_after, empty_pop, count })
}

/// What `FsRoundTrip` saw, step by step.
#[derive(Serialize)]
struct FsTrip {
    written: u64,
    appended: u64,
    read: String,
    exists: bool,
    is_file: bool,
    is_dir: bool,
    size: u64,
    list: Vec<String>,
    tree: Vec<String>,
    gone: bool,
}

/// FsRoundTrip(dir, text): every FS method under the root "data".
fn fs_round_trip(dir: String, text: String) -> Result<FsTrip, Error> {
    let data = Fs::root("data");
    let file = format!("{dir}/note.txt");
    data.mkdir_all(&dir)?;
    let written = data.write_file(&file, &text)?;
    let appended = data.append_file(&file, b"!")?;
    let read = data.read_file(&file)?;
    let (exists, is_file, is_dir) = (data.exists(&file)?, data.is_file(&file)?, data.is_dir(&dir)?);
    let size = data.size(&file)?;
    data.copy(&file, &format!("{dir}/copy.txt"))?;
    data.move_to(&format!("{dir}/copy.txt"), &format!("{dir}/moved.txt"))?;
    let list = data.read_dir(&dir, false)?;
    data.remove(&format!("{dir}/moved.txt"))?;
    data.mkdir(&format!("{dir}/sub"))?;
    data.write_file_buffer(&format!("{dir}/sub/raw.bin"), &[0, 1, 2])?;
    let tree = data.read_dir(&dir, true)?;
    data.remove_all(&dir)?;
    let gone = !data.exists(&dir)?;
    Ok(FsTrip { written, appended, read, exists, is_file, is_dir, size, list, tree, gone })
}

/// FsRead(path): the text of a file under "data" (errors pass on).
fn fs_read(path: String) -> Result<String, Error> {
    Fs::root("data").read_file(&path)
}

/// What the Http functions keep of an answer: {status, <key>: the first
/// value of the response header `header` (nil when absent), data}.
fn seen(response: http::Response, key: &str, header: &str) -> Value {
    let header = response.header(header).map_or(Value::Nil, Value::from);
    Value::Map(vec![("status".into(), response.status.into()), (key.into(), header), ("data".into(), response.data)])
}

/// HttpGet(url): {status, content_type, data}.
fn http_get(url: String) -> Result<Value, Error> {
    http::get(&url).map(|r| seen(r, "content_type", "content-type"))
}

/// HttpPost(url, payload): a JSON body.
fn http_post(url: String, payload: Value) -> Result<Value, Error> {
    http::post(&url, payload).map(|r| seen(r, "content_type", "content-type"))
}

/// The JSON payload `HttpMethods` puts.
#[derive(Serialize)]
struct Tagged {
    name: &'static str,
    tags: [i64; 2],
}

/// What `HttpMethods` answers, one entry a request: {status, echo (the
/// server's X-Echo header), data}.
#[derive(Serialize)]
struct HttpMethodsSeen {
    put: Value,
    patch: Value,
    delete: Value,
    head: Value,
    options: Value,
}

/// HttpMethods(base): Put (JSON), Patch (text), Delete, Head and
/// Send("OPTIONS", with a timeout), each with the query q=<method> and the
/// header X-Conformance: <method>.
fn http_methods(base: String) -> Result<HttpMethodsSeen, Error> {
    let put = http::Request::put(&base).query("q", "put").header("X-Conformance", "put");
    let put = put.json(Tagged { name: "Ada", tags: [1, 2] })?.send()?;
    let patch = http::Request::patch(&base).query("q", "patch").header("X-Conformance", "patch").text("patch text").send()?;
    let delete = http::Request::delete(&base).query("q", "delete").header("X-Conformance", "delete").send()?;
    let head = http::Request::head(&base).query("q", "head").header("X-Conformance", "head").send()?;
    let options = http::Request::new("OPTIONS", &base).query("q", "options").header("X-Conformance", "options");
    let options = options.timeout(Duration::from_secs(5)).send()?;
    let echoed = |response| seen(response, "echo", "x-echo");
    Ok(HttpMethodsSeen { put: echoed(put), patch: echoed(patch), delete: echoed(delete), head: echoed(head), options: echoed(options) })
}

/// The form fields `HttpUpload` sends with its files.
#[derive(Serialize)]
struct UploadFields {
    user: &'static str,
    n: i64,
}

/// HttpUpload(base): writes conformance/upload/a.txt (text) and b.bin
/// (bytes 0 1 2 255) under "data", posts them as the form fields doc and raw
/// with the fields {user, n} to <base>/upload (multipart/form-data), removes
/// the folder, and answers {status, data}.
fn http_upload(base: String) -> Result<Value, Error> {
    let data = Fs::root("data");
    let dir = "conformance/upload";
    data.mkdir_all(dir)?;
    data.write_file(&format!("{dir}/a.txt"), "héllo, upload")?;
    data.write_file_buffer(&format!("{dir}/b.bin"), &[0, 1, 2, 255])?;
    let request = http::Request::post(&format!("{base}/upload"))
        .file("doc", &format!("{dir}/a.txt"))
        .file("raw", &format!("{dir}/b.bin"))
        .json(UploadFields { user: "Ada", n: 3 })?;
    let answer = request.send();
    data.remove_all(dir)?;
    let answer = answer?;
    Ok(Value::Map(vec![("status".into(), answer.status.into()), ("data".into(), answer.data)]))
}

/// Query(dsl): the rows the host's QueryDSL answers.
fn query_rows(dsl: Value) -> Result<Value, Error> {
    query::run(dsl)
}

/// Context(): the call context, as the SDK reads it.
fn read_context() -> Result<Context, Error> {
    yao_guest::context()
}

/// Parallel(ms): sleeps `ms`, then finds users 1 and 2 in parallel; each
/// task's outcome as gou's `{data, index}` / `{data, index, error, code}`.
fn parallel(ms: i64) -> Result<Vec<Value>, Error> {
    tasks::sleep(ms)?;
    let results = tasks::all(&[Task::new("models.user.Find", (1,)), Task::new("models.user.Find", (2,))])?;
    Ok(results
        .into_iter()
        .map(|r| {
            let mut m = vec![("data".into(), r.data), ("index".into(), Value::from(r.index as u64))];
            if let Some(e) = r.error {
                m.push(("error".into(), e.into()));
            }
            if let Some(c) = r.code {
                m.push(("code".into(), c.into()));
            }
            Value::Map(m)
        })
        .collect())
}

export!(
    Context => read_context,
    Parallel => parallel,
    StoreRoundTrip => store_round_trip,
    StoreLists => store_lists,
    FsRoundTrip => fs_round_trip,
    FsRead => fs_read,
    HttpGet => http_get,
    HttpPost => http_post,
    HttpMethods => http_methods,
    HttpUpload => http_upload,
    Query => query_rows,
    Check => check,
    BeforeSave => before_save,
    Deny => deny,
    Log => log_all,
    Echo => echo,
    Add => add,
    Nested => nested,
);
