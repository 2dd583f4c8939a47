//! Host-side tests of everything that does not need a wasm host.

use crate::export::{call, Variadic};
use crate::log::Level;
use crate::memory::{pack, unpack, ERROR_BIT};
use crate::{process, testing, Error, Value};
use serde::{Deserialize, Serialize};

fn mp<T: Serialize>(v: T) -> Vec<u8> {
    rmp_serde::to_vec_named(&v).unwrap()
}

fn value_of(bytes: &[u8]) -> Value {
    rmpv::decode::read_value(&mut &bytes[..]).unwrap()
}

#[derive(Deserialize, Debug, PartialEq)]
struct User {
    name: String,
    age: Option<u32>,
}

#[derive(Serialize)]
struct Verdict {
    valid: bool,
    errors: Vec<String>,
}

fn check(user: User) -> Result<Verdict, Error> {
    Ok(Verdict { valid: !user.name.is_empty(), errors: vec![] })
}

fn add(a: i64, b: i64) -> Result<i64, Error> {
    Ok(a + b)
}

fn maybe(a: Option<i64>, b: Option<String>) -> Result<(Option<i64>, Option<String>), Error> {
    Ok((a, b))
}

fn deny() -> Result<(), Error> {
    Err(Error::forbidden("denied"))
}

fn echo(args: Variadic<Vec<Value>>) -> Result<Vec<Value>, Error> {
    Ok(args.0)
}

#[test]
fn typed_args_decode_and_result_encodes_with_names() {
    let args = mp((std::collections::BTreeMap::from([("name", "Ada")]),));
    let out = call(check, &args).unwrap();
    let v = value_of(&out);
    assert_eq!(v["valid"], Value::Boolean(true));
    assert_eq!(v["errors"], Value::Array(vec![]));
    assert!(v.is_map(), "structs encode as maps with string keys: {v}");
}

#[test]
fn two_args_and_extras_ignored() {
    assert_eq!(value_of(&call(add, &mp((2, 40))).unwrap()), Value::from(42));
    assert_eq!(value_of(&call(add, &mp((2, 40, "extra"))).unwrap()), Value::from(42));
}

#[test]
fn missing_trailing_args_are_nil() {
    assert_eq!(value_of(&call(maybe, &mp((7,))).unwrap()), Value::Array(vec![Value::from(7), Value::Nil]));
    assert_eq!(value_of(&call(maybe, &[0x90]).unwrap()), Value::Array(vec![Value::Nil, Value::Nil]));
    assert_eq!(value_of(&call(maybe, &[]).unwrap()), Value::Array(vec![Value::Nil, Value::Nil]));
}

#[test]
fn bad_args_are_400_not_panics() {
    // Missing required argument.
    assert_eq!(call(add, &mp((1,))).unwrap_err().code, 400);
    // Wrong type.
    assert_eq!(call(add, &mp((1, "x"))).unwrap_err().code, 400);
    // Not an array at all.
    assert_eq!(call(add, &mp(5)).unwrap_err().code, 400);
    // Truncated MessagePack.
    assert_eq!(call(add, &[0x92, 0x01]).unwrap_err().code, 400);
    assert_eq!(call(add, &[0x92, 0xcd, 0x01]).unwrap_err().code, 400);
    // Garbage.
    assert_eq!(call(check, &[0x91, 0xc1]).unwrap_err().code, 400);
    // A struct from a non-map.
    assert_eq!(call(check, &mp(("Ada",))).unwrap_err().code, 400);
    // A struct whose field has the wrong type.
    let args = mp((std::collections::BTreeMap::from([("name", 3)]),));
    assert_eq!(call(check, &args).unwrap_err().code, 400);
}

#[test]
fn errors_keep_code_and_message() {
    assert_eq!(call(deny, &[0x90]).unwrap_err(), Error::new(403, "denied"));
}

#[test]
fn variadic_gets_the_whole_array() {
    let args = mp((1, "two", vec![3.5], ()));
    assert_eq!(value_of(&call(echo, &args).unwrap()), value_of(&args));
    assert_eq!(value_of(&call(echo, &[]).unwrap()), Value::Array(vec![]));
    assert_eq!(call(echo, &mp("not an array")).unwrap_err().code, 400);
}

#[test]
fn error_wire_form_round_trips() {
    let e = Error::new(418, "teapot");
    let v = value_of(&e.to_wire());
    assert_eq!(v["code"], Value::from(418));
    assert_eq!(v["message"], Value::from("teapot"));
    assert_eq!(Error::from_wire(&e.to_wire()), e);
    assert_eq!(Error::from_wire(&mp(std::collections::BTreeMap::from([("message", "x")]))).code, 500);
    assert_eq!(Error::from_wire(&[0xc1]).code, 500);
    assert_eq!(Error::from_wire(&[]).code, 500);
}

#[test]
fn packing_sets_the_error_bit() {
    let (_, len, is_error) = unpack(pack(vec![1, 2, 3], true));
    assert_eq!((len, is_error), (3, true));
    let (_, len, is_error) = unpack(pack(vec![1, 2, 3, 4], false));
    assert_eq!((len, is_error), (4, false));
    let raw = ((0x1234u64 << 32) | u64::from(5 | ERROR_BIT)) as i64;
    assert_eq!(unpack(raw), (0x1234, 5, true));
    assert_eq!(unpack(0), (0, 0, false));
}

#[test]
fn process_encodes_args_and_passes_errors_on() {
    testing::set_process_handler(|name, args| {
        let args = value_of(args);
        match name {
            "models.user.Find" if args == Value::Array(vec![Value::from(1)]) => Ok(mp(std::collections::BTreeMap::from([("id", 1)]))),
            "models.user.Find" => Err(Error::not_found("user not found")),
            "none" => {
                assert_eq!(args, Value::Array(vec![]));
                Ok(vec![0xc0])
            }
            _ => Err(Error::new(599, name.to_owned())),
        }
    });
    let found: Value = process("models.user.Find", (1,)).unwrap();
    assert_eq!(found["id"], Value::from(1));
    assert_eq!(process::<_, Value>("models.user.Find", (2,)).unwrap_err(), Error::new(404, "user not found"));
    assert_eq!(process::<_, Value>("none", ()).unwrap(), Value::Nil);
    assert_eq!(process::<_, Option<i64>>("none", Vec::<i64>::new()).unwrap(), None);
    // A result of the wrong shape is a 500, args that are not an array a 400.
    assert_eq!(process::<_, String>("models.user.Find", (1,)).unwrap_err().code, 500);
    assert_eq!(process::<_, Value>("models.user.Find", 1).unwrap_err().code, 400);
}

#[test]
fn logs_keep_level_and_message() {
    testing::take_logs();
    crate::log::warn("careful");
    crate::log!(Error, "{} + {} = {}", 1, 2, 3);
    assert_eq!(testing::take_logs(), vec![(Level::Warn, "careful".to_owned()), (Level::Error, "1 + 2 = 3".to_owned())]);
}

#[test]
fn value_conversions() {
    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    struct P {
        x: i32,
    }
    let v = crate::to_value(P { x: 3 }).unwrap();
    assert_eq!(v["x"], Value::from(3));
    assert_eq!(crate::from_value::<P>(v).unwrap(), P { x: 3 });
    assert_eq!(crate::from_value::<P>(Value::from("no")).unwrap_err().code, 400);
}

#[test]
fn host_api_calls_mirror_yao_process_names() {
    use crate::{fs::Fs, http, query, store::Store};
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::time::Duration;
    let seen: Rc<RefCell<Vec<(String, Value)>>> = Rc::default();
    let log = seen.clone();
    testing::set_process_handler(move |name, args| {
        log.borrow_mut().push((name.to_owned(), value_of(args)));
        Ok(match name {
            "stores.cache.Get" => mp("cached"),
            "stores.cache.Keys" => mp(vec!["a", "b"]),
            "stores.cache.GetSet" => mp(7),
            "fs.data.ReadFile" => mp("text"),
            "fs.data.Exists" => mp(true),
            "http.Get" | "http.Send" | "http.Patch" | "http.Head" | "http.Post" => mp(serde_json_like()),
            "query.Run" => mp(vec![1, 2]),
            "stores.cache.Len" => return Err(Error::new(502, "redis down")),
            _ => vec![0xc0],
        })
    });
    let cache = Store::named("cache");
    assert_eq!(cache.get::<String>("k").unwrap(), Some("cached".to_owned()));
    assert_eq!(Store::named("other").get::<String>("k").unwrap(), None);
    cache.set("k", (1, "x"), Some(Duration::from_secs(5))).unwrap();
    cache.set("k", 1, Some(Duration::from_millis(1500))).unwrap();
    cache.del("k").unwrap();
    assert_eq!(cache.keys().unwrap(), vec!["a", "b"]);
    assert_eq!(cache.get_set::<_, i64>("n", 7, None).unwrap(), 7);
    assert_eq!(cache.len().unwrap_err(), Error::new(502, "redis down"));
    let data = Fs::root("data");
    assert_eq!(data.read_file("a.txt").unwrap(), "text");
    assert!(data.exists("a.txt").unwrap());
    let got = http::get("http://h:1/").unwrap();
    assert_eq!((got.status, got.header("Content-Type")), (200, Some("application/json")));
    assert_eq!(got.json::<Vec<i64>>().unwrap(), vec![1]);
    http::Request::new("PUT", "http://h:1/").header("X", "y").text("body").timeout(Duration::from_millis(50)).send().unwrap();
    http::Request::patch("http://h:1/").query("q", "a").header("X", "y").text("body").send().unwrap();
    http::Request::head("http://h:1/").timeout(Duration::from_millis(20)).send().unwrap();
    http::head("http://h:1/").unwrap();
    http::Request::post("http://h:1/up")
        .file("avatar", "uploads/ada.png")
        .file("cv", "uploads/cv.pdf")
        .json(std::collections::BTreeMap::from([("user", "ada")]))
        .unwrap()
        .header("X", "y")
        .send()
        .unwrap();
    http::Request::post("http://h:1/").text("plain").send().unwrap();
    let refused = http::Request::put("http://h:1/").file("f", "a.txt").send().unwrap_err();
    assert_eq!(refused.code, 400, "files go with post only: {refused:?}");
    assert_eq!(query::run::<_, Vec<i64>>(std::collections::BTreeMap::from([("from", "user")])).unwrap(), vec![1, 2]);
    let names: Vec<String> = seen.borrow().iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names,
        [
            "stores.cache.Get", "stores.other.Get", "stores.cache.Set", "stores.cache.Set", "stores.cache.Del",
            "stores.cache.Keys", "stores.cache.GetSet", "stores.cache.Len", "fs.data.ReadFile", "fs.data.Exists",
            "http.Get", "http.Send", "http.Patch", "http.Head", "http.Head", "http.Post", "http.Post", "query.Run",
        ]
    );
    let calls = seen.borrow();
    assert_eq!(calls[2].1, value_of(&mp(("k", (1, "x"), 5))), "whole seconds: fast path");
    assert_eq!(calls[3].1, value_of(&mp(("k", 1, 1.5))), "sub-second: Set with a float");
    assert_eq!(calls[11].1, value_of(&mp(("PUT", "http://h:1/", "body", (), std::collections::BTreeMap::from([("X", "y")]), 50))));
    let (q, x) = (std::collections::BTreeMap::from([("q", "a")]), std::collections::BTreeMap::from([("X", "y")]));
    assert_eq!(calls[12].1, value_of(&mp(("http://h:1/", "body", q, x, ()))), "Request::patch: http.Patch");
    assert_eq!(calls[13].1, value_of(&mp(("http://h:1/", (), (), (), 20))), "Request::head: http.Head");
    assert_eq!(calls[14].1, value_of(&mp(("http://h:1/",))));
    let files = Value::Map(vec![
        (Value::from("avatar"), Value::from("uploads/ada.png")),
        (Value::from("cv"), Value::from("uploads/cv.pdf")),
    ]);
    let expected = Value::Array(vec![
        Value::from("http://h:1/up"),
        value_of(&mp(std::collections::BTreeMap::from([("user", "ada")]))),
        files,
        Value::Nil,
        value_of(&mp(std::collections::BTreeMap::from([("X", "y")]))),
        Value::Nil,
    ]);
    assert_eq!(calls[15].1, expected, "Request::post with files: http.Post [url, payload, files, query, headers, timeout]");
    assert_eq!(calls[16].1, value_of(&mp(("http://h:1/", "plain", (), (), (), ()))), "Request::post without files: files nil");
}

fn serde_json_like() -> std::collections::BTreeMap<&'static str, Value> {
    std::collections::BTreeMap::from([
        ("status", Value::from(200)),
        ("headers", Value::Map(vec![(Value::from("content-type"), Value::Array(vec![Value::from("application/json")]))])),
        ("data", Value::Array(vec![Value::from(1)])),
    ])
}

#[test]
fn query_sends_dsl_bindings_engine_and_method_leaving_out_defaults() {
    use crate::query::{self, Query};
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    let seen: Rc<RefCell<Vec<Value>>> = Rc::default();
    let log = seen.clone();
    testing::set_process_handler(move |name, args| {
        assert_eq!(name, "query.Run");
        log.borrow_mut().push(value_of(args));
        Ok(mp(vec![1]))
    });
    let dsl = || BTreeMap::from([("from", "user")]);
    let bound = BTreeMap::from([("id", 7)]);
    let _: Vec<i64> = query::run(dsl()).unwrap();
    let _: Vec<i64> = query::get(dsl()).unwrap();
    let _: Vec<i64> = query::first(dsl()).unwrap();
    let _: Vec<i64> = Query::engine("stats").paginate(dsl()).unwrap();
    let _: Vec<i64> = Query::engine("stats").run_with(dsl(), &bound).unwrap();
    let _: Vec<i64> = Query::default().first_with(dsl(), &bound).unwrap();
    let calls = seen.borrow();
    let nil = ();
    assert_eq!(calls[0], value_of(&mp((dsl(),))), "Run on the default engine: [dsl]");
    assert_eq!(calls[1], value_of(&mp((dsl(), nil, nil, "Get"))));
    assert_eq!(calls[2], value_of(&mp((dsl(), nil, nil, "First"))));
    assert_eq!(calls[3], value_of(&mp((dsl(), nil, "stats", "Paginate"))));
    assert_eq!(calls[4], value_of(&mp((dsl(), &bound, "stats"))));
    assert_eq!(calls[5], value_of(&mp((dsl(), &bound, nil, "First"))));
}

#[test]
fn context_reads_what_the_host_sends() {
    use crate::{context, Context};
    use std::collections::BTreeMap;
    // Outside a context: the empty one, as the host answers then.
    testing::set_context(None);
    assert_eq!(context().unwrap(), Context::default());
    // The runtime's own encoding of the empty context decodes to it too
    // (authorized is nil, not absent).
    let empty = mp(BTreeMap::from([("sid", Value::from("")), ("global", Value::Map(vec![])), ("authorized", Value::Nil)]));
    assert_eq!(crate::host::decode::<Context>("yao.context", Some(empty)).unwrap(), Context::default());
    let full = Context {
        sid: "SID-42".into(),
        global: BTreeMap::from([("tenant".to_string(), Value::from("t1"))]),
        authorized: Some(BTreeMap::from([("user_id".to_string(), Value::from(7))])),
    };
    testing::set_context(Some(full.clone()));
    let got = context().unwrap();
    assert_eq!(got, full);
    assert_eq!(got.authorized.as_ref().and_then(|a| a.get("user_id")), Some(&Value::from(7)));
    testing::set_context(None);
}

#[test]
fn tasks_send_all_any_race_job_after_and_sleep_as_abi_10() {
    use crate::tasks::{self, Job, Task};
    use std::cell::RefCell;
    use std::rc::Rc;
    let seen: Rc<RefCell<Vec<(String, Value)>>> = Rc::default();
    let log = seen.clone();
    testing::set_process_handler(move |name, args| {
        log.borrow_mut().push((name.to_owned(), value_of(args)));
        Ok(match name {
            "tasks.All" | "tasks.Race" => mp(vec![Value::Map(vec![(Value::from("data"), Value::from(7)), (Value::from("index"), Value::from(0))])]),
            "tasks.Job" => mp(3),
            "tasks.Running" => mp(false),
            "tasks.Data" => mp("done"),
            _ => mp(()),
        })
    });
    let out = tasks::all(&[Task::new("scripts.a.Slow", (10,)).timeout(0.5)]).unwrap();
    assert_eq!((out[0].data.clone(), out[0].index, out[0].error.clone()), (Value::from(7), 0, None));
    assert!(tasks::any(&[]).unwrap().is_empty(), "no tasks: no call");
    tasks::race(&[Task::new("x.y", ())]).unwrap();
    let job = Job::start("scripts.r.Build", (1,)).unwrap();
    assert_eq!(job.id, 3);
    assert!(!job.running(10).unwrap());
    assert_eq!(job.data::<String>().unwrap(), "done");
    job.cancel().unwrap();
    tasks::after(20, "scripts.a.Later", ("x",)).unwrap();
    tasks::sleep(5).unwrap();
    let calls = seen.borrow();
    let names: Vec<&str> = calls.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["tasks.All", "tasks.Race", "tasks.Job", "tasks.Running", "tasks.Data", "tasks.Cancel", "tasks.After", "tasks.Sleep"]);
    let task = |p: &str, args: Value, t: Option<f64>| {
        let mut f = vec![(Value::from("process"), Value::from(p)), (Value::from("args"), args)];
        if let Some(t) = t {
            f.push((Value::from("timeout"), Value::from(t)));
        }
        Value::Map(f)
    };
    assert_eq!(calls[0].1, Value::Array(vec![Value::Array(vec![task("scripts.a.Slow", Value::Array(vec![Value::from(10)]), Some(0.5))])]));
    assert_eq!(calls[2].1, value_of(&mp(("scripts.r.Build", (1,)))));
    assert_eq!(calls[3].1, value_of(&mp((3, 10))));
    assert_eq!(calls[6].1, value_of(&mp((20, "scripts.a.Later", ("x",)))));
    assert_eq!(calls[7].1, value_of(&mp((5,))));
}

#[test]
fn store_list_methods_and_incr_send_gous_args_and_decode_answers() {
    use crate::store::Store;
    use std::cell::RefCell;
    use std::rc::Rc;
    let seen: Rc<RefCell<Vec<(String, Value)>>> = Rc::default();
    let log = seen.clone();
    testing::set_process_handler(move |name, args| {
        log.borrow_mut().push((name.to_owned(), value_of(args)));
        let key = value_of(args)[0].as_str().unwrap_or_default().to_owned();
        Ok(match (name, key.as_str()) {
            ("stores.s.Pop", "empty") => return Err(Error::not_found("store s: Pop on an empty list")),
            ("stores.s.ArrayGet", "short") => return Err(Error::not_found("store s: index 9 past the end")),
            ("stores.s.ArraySet", "text") => return Err(Error::bad_request("store s: not a list")),
            ("stores.s.Incr", "float") => mp(2.5),
            ("stores.s.Incr", _) => mp(5),
            ("stores.s.Pop", _) => mp("last"),
            ("stores.s.ArrayLen", _) => mp(3),
            ("stores.s.ArrayGet", _) => mp((1, "x")),
            ("stores.s.ArraySlice" | "stores.s.ArrayPage", _) => mp(vec![2, 3]),
            ("stores.s.ArrayAll", "absent") => mp(Vec::<i64>::new()),
            ("stores.s.ArrayAll", _) => mp(vec!["a", "b"]),
            _ => vec![0xc0],
        })
    });
    let s = Store::named("s");
    s.push("l", ["a", "b"]).unwrap();
    s.push("l", [Value::from(1), Value::from("two")]).unwrap();
    s.add_to_set("l", [4, 4]).unwrap();
    s.pull("l", 1).unwrap();
    s.pull_all("l", [vec![1, 2]]).unwrap();
    s.pull_all("l", ["a", "b"]).unwrap();
    s.array_set("l", 0, "first").unwrap();
    assert_eq!(s.pop::<String>("l", 1).unwrap(), "last");
    assert_eq!(s.array_len("l").unwrap(), 3);
    assert_eq!(s.array_get::<(i64, String)>("l", 1).unwrap(), (1, "x".to_owned()));
    assert_eq!(s.array_slice::<i64>("l", 1, 2).unwrap(), vec![2, 3]);
    assert_eq!(s.array_page::<i64>("l", 2, 2).unwrap(), vec![2, 3]);
    assert_eq!(s.array_all::<String>("l").unwrap(), vec!["a", "b"]);
    assert_eq!(s.array_all::<Value>("absent").unwrap(), Vec::<Value>::new());
    assert_eq!(s.incr("n", 4).unwrap(), 5);
    assert_eq!(s.incr_f64("n", 0.5).unwrap(), 5.0, "an integer answer converts to f64");
    assert_eq!(s.incr_f64("float", 0.5).unwrap(), 2.5);
    // Errors keep their codes; a float answer to `incr` is a 500 naming the call.
    assert_eq!(s.pop::<Value>("empty", 1).unwrap_err(), Error::not_found("store s: Pop on an empty list"));
    assert_eq!(s.array_get::<Value>("short", 9).unwrap_err().code, 404);
    assert_eq!(s.array_set("text", 0, 1).unwrap_err(), Error::bad_request("store s: not a list"));
    let wrong = s.incr("float", 1).unwrap_err();
    assert_eq!(wrong.code, 500);
    assert!(wrong.message.starts_with("stores.s.Incr returned an unexpected value"), "{wrong:?}");
    let calls: Vec<(String, Value)> = seen.borrow().clone();
    let want: Vec<(&str, Vec<u8>)> = vec![
        ("stores.s.Push", mp(("l", "a", "b"))),
        ("stores.s.Push", mp(("l", 1, "two"))),
        ("stores.s.AddToSet", mp(("l", 4, 4))),
        ("stores.s.Pull", mp(("l", 1))),
        // PullAll always sends [key, [values]]: one value that is an array stays one value.
        ("stores.s.PullAll", mp(("l", vec![vec![1, 2]]))),
        ("stores.s.PullAll", mp(("l", vec!["a", "b"]))),
        ("stores.s.ArraySet", mp(("l", 0, "first"))),
        ("stores.s.Pop", mp(("l", 1))),
        ("stores.s.ArrayLen", mp(("l",))),
        ("stores.s.ArrayGet", mp(("l", 1))),
        ("stores.s.ArraySlice", mp(("l", 1, 2))),
        ("stores.s.ArrayPage", mp(("l", 2, 2))),
        ("stores.s.ArrayAll", mp(("l",))),
        ("stores.s.ArrayAll", mp(("absent",))),
        ("stores.s.Incr", mp(("n", 4))),
        ("stores.s.Incr", mp(("n", 0.5))),
        ("stores.s.Incr", mp(("float", 0.5))),
        ("stores.s.Pop", mp(("empty", 1))),
        ("stores.s.ArrayGet", mp(("short", 9))),
        ("stores.s.ArraySet", mp(("text", 0, 1))),
        ("stores.s.Incr", mp(("float", 1))),
    ];
    assert_eq!(calls.len(), want.len(), "{calls:?}");
    for ((name, args), (want_name, want_args)) in calls.iter().zip(&want) {
        assert_eq!((name.as_str(), args), (*want_name, &value_of(want_args)));
    }
}
