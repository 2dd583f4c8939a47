//! The script API of gou's V8 runtime in TS/JS hooks (issue 15): a probe of
//! every documented name, and the behaviour of the names served in-engine
//! or through `yao.tasks`/`yao.sleep`.
//! Needs scripts/setup.d/30-js.sh (the engine and js/node_modules).

#[path = "../../tests/common/mod.rs"]
mod common;

use common::{json, mp};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yaowasm::Runtime;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn runtime(config: serde_json::Value) -> Runtime {
    let cache = repo().join("target/js-test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let mut config = config;
    config["cache_dir"] = json!(cache);
    Runtime::from_json(Some(&config.to_string())).unwrap()
}

fn build(rt: &Runtime, dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let out = src.with_extension("wasm");
    let esbuild = yaowasm_cli::esbuild::find_esbuild(None).unwrap();
    yaowasm_cli::esbuild::build_file(rt, &esbuild, &src, &out).unwrap_or_else(|e| panic!("build {name}: {e:?}"));
    out
}

fn exec(rt: &Runtime, process: &str, args: serde_json::Value) -> yaowasm::Result<serde_json::Value> {
    rt.exec(process, &mp(&args)).map(|out| json(&out))
}

/// Every name gou documents for V8 scripts (YaoApp/gou
/// `runtime/v8/functions/*/doc.yml`: 10 functions; `runtime/v8/objects/*/doc.yml`:
/// 105 methods of 11 objects and classes), written out here, not read from
/// the engine. `X.m` is a method of the global object `X` or of the class
/// `X`'s instances.
const DOCUMENTED: &[&str] = &[
    // functions
    "All",
    "Any",
    "atob",
    "Authorized",
    "btoa",
    "Eval",
    "$L",
    "Process",
    "Race",
    "Use",
    // console (4)
    "console.log",
    "console.info",
    "console.warn",
    "console.error",
    // Exception (2)
    "Exception.Code",
    "Exception.Message",
    // FS (40)
    "FS.Exists",
    "FS.IsDir",
    "FS.IsFile",
    "FS.IsLink",
    "FS.ReadFile",
    "FS.ReadFileBuffer",
    "FS.ReadFileBase64",
    "FS.ReadCloser",
    "FS.WriteFile",
    "FS.WriteFileBuffer",
    "FS.WriteFileBase64",
    "FS.AppendFile",
    "FS.AppendBuffer",
    "FS.AppendBase64",
    "FS.InsertFile",
    "FS.InsertBuffer",
    "FS.InsertBase64",
    "FS.Remove",
    "FS.RemoveAll",
    "FS.Download",
    "FS.ReadDir",
    "FS.Mkdir",
    "FS.MkdirAll",
    "FS.MkdirTemp",
    "FS.Chmod",
    "FS.BaseName",
    "FS.DirName",
    "FS.ExtName",
    "FS.MimeType",
    "FS.Mode",
    "FS.Size",
    "FS.ModTime",
    "FS.Move",
    "FS.Copy",
    "FS.MoveAppend",
    "FS.MoveInsert",
    "FS.Abs",
    "FS.Zip",
    "FS.Unzip",
    "FS.Glob",
    // http (7)
    "http.Get",
    "http.Post",
    "http.Put",
    "http.Patch",
    "http.Delete",
    "http.Send",
    "http.Stream",
    // Job (3)
    "Job.Pending",
    "Job.Data",
    "Job.Cancel",
    // log (7)
    "log.Trace",
    "log.Debug",
    "log.Info",
    "log.Warn",
    "log.Error",
    "log.Fatal",
    "log.Panic",
    // Plan (12)
    "Plan.Add",
    "Plan.Run",
    "Plan.Status",
    "Plan.Release",
    "Plan.Results",
    "Plan.TaskStatus",
    "Plan.TaskData",
    "Plan.Subscribe",
    "Plan.Set",
    "Plan.Get",
    "Plan.Del",
    "Plan.Clear",
    // Query (7)
    "Query.Get",
    "Query.First",
    "Query.Paginate",
    "Query.Run",
    "Query.Lint",
    "Query.Schema",
    "Query.Validate",
    // Store (20)
    "Store.Set",
    "Store.Get",
    "Store.GetSet",
    "Store.GetDel",
    "Store.Has",
    "Store.Del",
    "Store.Keys",
    "Store.Len",
    "Store.Clear",
    "Store.Push",
    "Store.Pop",
    "Store.Pull",
    "Store.PullAll",
    "Store.AddToSet",
    "Store.ArrayLen",
    "Store.ArrayGet",
    "Store.ArraySet",
    "Store.ArraySlice",
    "Store.ArrayPage",
    "Store.ArrayAll",
    // time (2)
    "time.Sleep",
    "time.After",
    // WebSocket (1)
    "WebSocket.push",
];

/// Names gou documents that yaowasm does not serve: none. A name listed
/// here must be missing, so the list may only shrink.
const KNOWN_MISSING: &[&str] = &[];

const PROBE: &str = r#"
function Probe(names: string[]): { found: string[]; missing: string[] } {
  const found: string[] = [], missing: string[] = [];
  for (const name of names) {
    const dot = name.indexOf(".");
    let f: unknown;
    if (dot < 0) {
      f = (globalThis as any)[name];
    } else {
      const owner = (globalThis as any)[name.slice(0, dot)];
      const m = name.slice(dot + 1);
      f = owner == null ? undefined : owner[m] ?? owner.prototype?.[m];
    }
    (typeof f === "function" ? found : missing).push(name);
  }
  return { found, missing };
}
"#;

#[test]
fn probe_finds_every_documented_name_but_the_known_missing() {
    assert_eq!(DOCUMENTED.len(), 115, "gou documents 10 functions and 105 methods");
    let rt = runtime(json!({}));
    let dir = tempfile::tempdir().unwrap();
    rt.load_file(build(&rt, dir.path(), "probe.ts", PROBE), Some("probe")).unwrap();
    let report = exec(&rt, "scripts.probe.Probe", json!([DOCUMENTED])).unwrap();
    let found: Vec<&str> = report["found"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let missing: Vec<&str> = report["missing"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    eprintln!("probe: {} of {} documented names found; missing: {missing:?}", found.len(), DOCUMENTED.len());
    let now_found: Vec<&&str> = KNOWN_MISSING.iter().filter(|n| found.contains(n)).collect();
    assert!(now_found.is_empty(), "found now, take them off KNOWN_MISSING: {now_found:?}");
    assert_eq!(missing, KNOWN_MISSING, "missing names that should be there");
}

const API: &str = r#"
class Res {
  static released = 0;
  constructor(public a: number, public b: number) {}
  __release() { Res.released++; }
}

function UseOk(): unknown {
  const r = Use(Res, 2, 3, (x: Res) => x.a * x.b);
  return [r, Res.released];
}

function UseThrows(): unknown {
  try {
    Use(Res, 1, 1, () => { throw new Exception("inside", 409); });
  } catch (e: any) {
    return [e.code, e.message, Res.released];
  }
}

function UseBad(): unknown { return Use(Res); }

function Codes(): unknown {
  const e = new Exception("teapot", 418);
  const d = new Exception("plain");
  return [e.Code(), e.Message(), d.Code(), e instanceof Error];
}

function EvalNamed(): unknown { return Eval("function add(a, b) { return a + b; }", 40, 2); }
function EvalArrow(): unknown { return Eval("(s) => s.toUpperCase()", "yao"); }
function EvalBad(src: unknown): unknown { return Eval(src as string); }

function Fatal(n: number): void { log.Fatal("fatal %d", n); }
function Panic(): void { log.Panic("panic %s", "now"); }

function Lang(m: unknown): unknown { return $L(m as string); }

function Lint(): unknown { return new Query().Lint('{"select":["id"],"from":"user"}'); }
function Schema(): unknown { return new Query().Schema("json"); }
function Validate(): unknown { return new Query().Validate({ from: "user" }); }

function Sleep(ms: number): number { const t = Date.now(); time.Sleep(ms); return Date.now() - t; }
function Slow(ms: number, v: unknown): unknown { time.Sleep(ms); return v; }
function Fail(ms: number): unknown { time.Sleep(ms); throw new Exception("failed on purpose", 409); }

function Parallel(mode: string, tasks: unknown[]): unknown {
  const t = Date.now();
  const out = (globalThis as any)[mode](tasks);
  return { ms: Date.now() - t, out };
}

function AllBad(x: unknown): unknown { return All(x as any); }

function JobRun(ms: number): unknown {
  const job = new Job("scripts.api.Slow", ms, "job done");
  let polls = 0;
  job.Pending(() => { polls++; });
  return [job.Data(), polls > 0];
}

function JobStop(): unknown {
  const job = new Job("scripts.api.Slow", 300, "x");
  let polls = 0;
  job.Pending(() => { polls++; return false; });
  const early = job.Data();
  return [polls, early];
}

function JobCancel(): unknown {
  const job = new Job("scripts.api.Slow", 200, "never");
  job.Cancel();
  return job.Data();
}

function JobOutlives(): unknown {
  new Job("scripts.api.Mark", "from a job");
  return "started";
}

function After(): unknown { time.After(20, "host.mark", "after", 1); return "scheduled"; }

function Mark(v: unknown): unknown { Process("host.mark", v); return v; }

// A plan task as gou's default task function calls it: (planId, taskId, ...args).
function PlanTask(plan: string, task: string, ms: number, v: unknown): unknown {
  time.Sleep(ms);
  if (v === "fail") throw new Exception("task " + task + " of " + plan + " failed", 409);
  return { plan, task, v };
}

function PlanRun(): unknown {
  const events: unknown[] = [];
  const plan = new Plan("p1");
  plan.Subscribe("TaskCompleted", (id: string, key: string, value: any, tag: string) => events.push([id, key, value.task, tag]), "t");
  plan.Subscribe("answer", "host.mark", "sub-arg");
  plan.Add("a", 0, "scripts.api.PlanTask", 50, 1).Add("b", 0, "scripts.api.PlanTask", 50, 2);
  plan.Add("c", 1, (id: string, task: string, x: number) => {
    const same = new Plan("p1"); // the same plan, by its id
    same.Set("answer", x * 2);
    return [id, task, same.Get("__result.a")];
  }, 21);
  plan.Add("never", -1, "scripts.api.PlanTask", 0, "negative orders never run");
  const before = plan.Status();
  const t = Date.now();
  const chained = plan.Run() === plan;
  const ms = Date.now() - t;
  plan.TaskData("a", { note: "mine" });
  const out = {
    before, chained, ms,
    status: plan.Status(), results: plan.Results(), c: plan.TaskStatus("c"),
    answer: plan.Get("answer"), missing: plan.Get("nope"), data: plan.TaskData("a"), events,
  };
  plan.Del("answer");
  const deleted = plan.Get("answer");
  plan.Release();
  let after: unknown;
  try { plan.Status(); } catch (e: any) { after = [e.code, e.message]; }
  return { ...out, deleted, after };
}

function PlanFail(): unknown {
  const plan = new Plan("p2");
  plan.Add("ok", 0, "scripts.api.PlanTask", 0, 1).Add("bad", 0, "scripts.api.PlanTask", 0, "fail");
  plan.Add("later", 1, "scripts.api.PlanTask", 0, 3);
  let err: unknown;
  try { plan.Run(); } catch (e: any) { err = [e.code, e.message]; }
  return { err, status: plan.Status(), data: plan.TaskData("bad"), results: plan.Results(), error: (plan.Get("TaskError") as any).task };
}

function PlanShared(): unknown {
  const plan = new Plan("p3");
  const seen: unknown[] = [];
  plan.Subscribe("k", (_: string, key: string, value: unknown) => seen.push([key, value]));
  const v = { a: [1, 2] };
  plan.Set("k", v);
  v.a.push(3); // the shared space keeps a copy
  const got = plan.Get("k");
  plan.Set("other", 1);
  plan.Clear();
  return { got, seen, cleared: [plan.Get("k"), plan.Get("other")] };
}

function PlanBad(which: string): unknown {
  const plan = new Plan("p4");
  plan.Add("t", 0, "scripts.api.PlanTask", 0, 1);
  switch (which) {
    case "ctor": return new (Plan as any)(42);
    case "add": return (plan as any).Add("t", "first", "x");
    case "addfn": return (plan as any).Add("t", 0, 42);
    case "reserved": return plan.Set("TaskCompleted", 1);
    case "setkey": return (plan as any).Set(1, 1);
    case "task": return plan.TaskStatus("nope");
    case "taskdata": return plan.TaskData("nope");
    case "unknown": { plan.Add("x", 0, "nope.Nope"); return plan.Run(); }
  }
}

function Push(url: string, message: unknown, ...protocols: string[]): unknown {
  const ws = new WebSocket(url, ...protocols);
  return [ws.push(message as string) === undefined, ws.url];
}
"#;

type Marks = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// The API script, a host that records `host.mark` calls, answers
/// `lang.Replace` (when `lang` is set) and `query.Lint/Schema/Validate`.
fn api(timeout_ms: u64, lang: bool) -> (Runtime, Marks, tempfile::TempDir) {
    let rt = runtime(json!({"timeout_ms": timeout_ms}));
    let dir = tempfile::tempdir().unwrap();
    rt.load_file(build(&rt, dir.path(), "api.ts", API), Some("api")).unwrap();
    let marks: Marks = Arc::default();
    let seen = marks.clone();
    rt.set_process_handler(Some(Arc::new(move |name: &str, args: &[u8]| {
        seen.lock().unwrap().push((name.to_owned(), json(args)));
        match name {
            "host.mark" => Ok(mp(&json!(null))),
            "lang.Replace" if lang => Ok(mp(&json!(format!("translated {}", json(args)[0].as_str().unwrap())))),
            "query.Lint" | "query.Schema" | "query.Validate" => Ok(mp(&json!({"process": name, "args": json(args)}))),
            _ => Err(yaowasm::Error::not_found(format!("process {name} not found"))),
        }
    })));
    (rt, marks, dir)
}

#[test]
fn use_constructs_calls_back_and_releases() {
    let (rt, _, _d) = api(5000, false);
    assert_eq!(exec(&rt, "scripts.api.UseOk", json!([])).unwrap(), json!([6, 1]));
    // The callback's exception reaches the caller with its code; released anyway.
    assert_eq!(exec(&rt, "scripts.api.UseThrows", json!([])).unwrap(), json!([409, "inside", 1]));
    let e = exec(&rt, "scripts.api.UseBad", json!([])).unwrap_err();
    assert_eq!(e.code(), 400, "{e}");
    assert!(e.message().contains("Use() requires at least 2 arguments"), "{e}");
}

#[test]
fn exception_code_and_message_are_methods() {
    let (rt, _, _d) = api(5000, false);
    assert_eq!(exec(&rt, "scripts.api.Codes", json!([])).unwrap(), json!([418, "teapot", 500, true]));
}

#[test]
fn eval_runs_a_function_source_with_args() {
    let (rt, _, _d) = api(5000, false);
    assert_eq!(exec(&rt, "scripts.api.EvalNamed", json!([])).unwrap(), json!(42));
    assert_eq!(exec(&rt, "scripts.api.EvalArrow", json!([])).unwrap(), json!("YAO"));
    for bad in [json!(42), json!("1 +"), json!("40 + 2")] {
        let e = exec(&rt, "scripts.api.EvalBad", json!([bad])).unwrap_err();
        assert_eq!(e.code(), 400, "{bad}: {e}");
    }
}

#[test]
fn log_fatal_and_panic_log_then_end_the_call_not_the_host() {
    let (rt, _, _d) = api(5000, false);
    let logs = common::capture_logs(&rt);
    let e = exec(&rt, "scripts.api.Fatal", json!([7])).unwrap_err();
    assert_eq!((e.code(), e.message()), (500, "fatal 7"));
    let e = exec(&rt, "scripts.api.Panic", json!([])).unwrap_err();
    assert_eq!((e.code(), e.message()), (500, "panic now"));
    let logs = logs.lock().unwrap();
    assert!(logs.iter().any(|(level, m)| *level == yaowasm::LogLevel::Error && m == "fatal 7"), "{logs:?}");
    assert!(logs.iter().any(|(level, m)| *level == yaowasm::LogLevel::Error && m == "panic now"), "{logs:?}");
}

#[test]
fn lang_goes_to_the_host_and_falls_back_to_the_message() {
    let (rt, marks, _d) = api(5000, true);
    assert_eq!(exec(&rt, "scripts.api.Lang", json!(["::Hello"])).unwrap(), json!("translated Hello"));
    assert_eq!(marks.lock().unwrap()[0], ("lang.Replace".to_owned(), json!(["Hello"])));
    assert_eq!(exec(&rt, "scripts.api.Lang", json!([12])).unwrap(), json!(12), "not a string: as it is");
    let (rt, _, _d) = api(5000, false);
    assert_eq!(exec(&rt, "scripts.api.Lang", json!(["::Hello"])).unwrap(), json!("Hello"), "no pack: unchanged");
    rt.set_process_handler(None);
    assert_eq!(exec(&rt, "scripts.api.Lang", json!(["Hi"])).unwrap(), json!("Hi"), "no host at all: unchanged");
}

#[test]
fn query_lint_schema_validate_go_to_host_processes() {
    let (rt, _, _d) = api(5000, false);
    assert_eq!(
        exec(&rt, "scripts.api.Lint", json!([])).unwrap(),
        json!({"process": "query.Lint", "args": [r#"{"select":["id"],"from":"user"}"#]})
    );
    assert_eq!(exec(&rt, "scripts.api.Schema", json!([])).unwrap(), json!({"process": "query.Schema", "args": ["json"]}));
    assert_eq!(exec(&rt, "scripts.api.Validate", json!([])).unwrap(), json!({"process": "query.Validate", "args": [{"from": "user"}]}));
    rt.set_process_handler(None);
    assert_eq!(exec(&rt, "scripts.api.Lint", json!([])).unwrap_err().code(), 404, "standalone: no linter");
}

#[test]
fn sleep_sleeps_and_ends_at_the_deadline_with_408() {
    let (rt, _, _d) = api(300, false);
    let slept = exec(&rt, "scripts.api.Sleep", json!([30])).unwrap().as_i64().unwrap();
    assert!((30..250).contains(&slept), "slept {slept} ms");
    let started = Instant::now();
    let e = exec(&rt, "scripts.api.Sleep", json!([5000])).unwrap_err();
    assert_eq!(e.code(), 408, "{e}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(280) && took < Duration::from_millis(1500), "ended after {took:?}, not at the deadline");
}

fn sleeper(ms: u64, v: serde_json::Value) -> serde_json::Value {
    json!({"process": "scripts.api.Slow", "args": [ms, v]})
}

#[test]
fn all_runs_tasks_in_parallel_in_order() {
    let (rt, _, _d) = api(10_000, false);
    let tasks: Vec<_> = (0..8).map(|i| sleeper(10, json!(i))).collect();
    // Warm up once (the engine snapshot, the first instances), then measure.
    exec(&rt, "scripts.api.Parallel", json!(["All", tasks])).unwrap();
    let mut times = Vec::new();
    let mut sequential = Vec::new();
    for _ in 0..5 {
        let out = exec(&rt, "scripts.api.Parallel", json!(["All", tasks])).unwrap();
        times.push(out["ms"].as_i64().unwrap());
        let expect: Vec<_> = (0..8).map(|i| json!({"data": i, "index": i})).collect();
        assert_eq!(out["out"], json!(expect));
        let t = Instant::now();
        for i in 0..8 {
            exec(&rt, "scripts.api.Slow", json!([10, i])).unwrap();
        }
        sequential.push(t.elapsed().as_millis() as i64);
    }
    times.sort();
    sequential.sort();
    eprintln!(
        "All of 8 tasks of 10 ms: median {} ms (runs {times:?}); the same 8 calls one after another: median {} ms",
        times[2], sequential[2]
    );
    assert!(times[2] * 2 < sequential[2], "All is not parallel: {times:?} against {sequential:?} sequential");
}

#[test]
fn any_race_and_errors() {
    let (rt, _, _d) = api(10_000, false);
    // Race: the first to finish, the others not yet there.
    let out = exec(&rt, "scripts.api.Parallel", json!(["Race", [sleeper(400, json!("slow")), sleeper(5, json!("fast"))]])).unwrap();
    assert_eq!(out["out"], json!([{"data": null, "index": 0}, {"data": "fast", "index": 1}]));
    assert!(out["ms"].as_i64().unwrap() < 300, "Race waited for the slow task: {out}");
    // Any: a task that throws gives the others their chance.
    let fail = json!({"process": "scripts.api.Fail", "args": [1]});
    let out = exec(&rt, "scripts.api.Parallel", json!(["Any", [fail, sleeper(30, json!("ok")), sleeper(400, json!("late"))]])).unwrap();
    assert_eq!(
        out["out"],
        json!([{"data": null, "index": 0, "error": "failed on purpose", "code": 409}, {"data": "ok", "index": 1}, {"data": null, "index": 2}])
    );
    assert!(out["ms"].as_i64().unwrap() < 300, "Any waited for the slow task: {out}");
    // All: errors in place, unknown processes too.
    let out = exec(&rt, "scripts.api.Parallel", json!(["All", [{"process": "nope.Nope"}, sleeper(1, json!(1))]])).unwrap();
    assert_eq!(out["out"][0]["code"], json!(404));
    assert_eq!(out["out"][1], json!({"data": 1, "index": 1}));
    assert_eq!(exec(&rt, "scripts.api.Parallel", json!(["All", []])).unwrap()["out"], json!([]));
    for bad in [json!("x"), json!([{"args": []}]), json!([1])] {
        assert_eq!(exec(&rt, "scripts.api.AllBad", json!([bad])).unwrap_err().code(), 400, "{bad}");
    }
}

#[test]
fn parallel_tasks_stop_at_the_callers_deadline_with_408() {
    let (rt, _, _d) = api(300, false);
    let started = Instant::now();
    let tasks: Vec<_> = (0..3).map(|i| sleeper(5000, json!(i))).collect();
    let e = exec(&rt, "scripts.api.Parallel", json!(["All", tasks])).unwrap_err();
    assert_eq!(e.code(), 408, "{e}");
    assert!(started.elapsed() < Duration::from_millis(1500), "took {:?}", started.elapsed());
    // A task's own timeout (seconds) is its own 408, reported in place.
    let (rt, _, _d) = api(5000, false);
    let out =
        exec(&rt, "scripts.api.Parallel", json!(["All", [{"process": "scripts.api.Slow", "args": [3000, 1], "timeout": 0.1}]])).unwrap();
    assert_eq!(out["out"][0]["code"], json!(408), "{out}");
    assert!(out["ms"].as_i64().unwrap() < 1500, "{out}");
}

#[test]
fn parallel_tasks_carry_the_callers_context() {
    let (rt, marks, _d) = api(5000, false);
    let context = Arc::new(yaowasm::CallContext { sid: "s-1".into(), ..Default::default() });
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let (rt2, seen2) = (rt.clone(), seen.clone());
    rt.set_process_handler(Some(Arc::new(move |_: &str, _: &[u8]| {
        seen2.lock().unwrap().push(rt2.current_context().map(|c| c.sid.clone()));
        Ok(mp(&json!(null)))
    })));
    let options = yaowasm::ExecOptions { context: Some(context), ..Default::default() };
    let tasks = json!([{"process": "scripts.api.Mark", "args": [1]}, {"process": "host.mark", "args": [2]}]);
    rt.exec_with("scripts.api.Parallel", &mp(&json!(["All", tasks])), &options).unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![Some("s-1".to_owned()); 2]);
    drop(marks);
}

#[test]
fn jobs_run_in_the_background_and_outlive_their_call() {
    let (rt, marks, _d) = api(5000, false);
    assert_eq!(exec(&rt, "scripts.api.JobRun", json!([30])).unwrap(), json!(["job done", true]));
    // Pending stops when the callback says false; Data of a running job is null.
    assert_eq!(exec(&rt, "scripts.api.JobStop", json!([])).unwrap(), json!([1, null]));
    assert_eq!(exec(&rt, "scripts.api.JobCancel", json!([])).unwrap(), json!(null));
    // A job still running when its call returns finishes on its own.
    assert_eq!(exec(&rt, "scripts.api.JobOutlives", json!([])).unwrap(), json!("started"));
    // time.After runs its process later, after its call has returned.
    assert_eq!(exec(&rt, "scripts.api.After", json!([])).unwrap(), json!("scheduled"));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = marks.lock().unwrap().clone();
        let job = m.iter().any(|(n, a)| n == "host.mark" && a == &json!(["from a job"]));
        let after = m.iter().any(|(n, a)| n == "host.mark" && a == &json!(["after", 1]));
        if job && after {
            break;
        }
        assert!(Instant::now() < deadline, "background calls never came: {m:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn plan_runs_orders_in_turn_tasks_of_one_order_in_parallel() {
    let (rt, marks, _d) = api(10_000, false);
    let out = exec(&rt, "scripts.api.PlanRun", json!([])).unwrap();
    assert_eq!(out["before"], json!({"plan": "created", "tasks": {"a": "created", "b": "created", "c": "created", "never": "created"}}));
    assert_eq!(out["chained"], json!(true));
    // a and b (50 ms each, order 0) ran side by side.
    let ms = out["ms"].as_i64().unwrap();
    assert!((50..100).contains(&ms), "order 0 took {ms} ms: not parallel (one after another is 100)");
    assert_eq!(
        out["status"],
        json!({"plan": "completed", "tasks": {"a": "completed", "b": "completed", "c": "completed", "never": "created"}})
    );
    assert_eq!(
        out["results"],
        json!({
            "a": {"plan": "p1", "task": "a", "v": 1},
            "b": {"plan": "p1", "task": "b", "v": 2},
            "c": ["p1", "c", {"plan": "p1", "task": "a", "v": 1}],
        })
    );
    assert_eq!(out["c"], json!("completed"));
    assert_eq!(out["answer"], json!(42));
    assert_eq!(out["missing"], json!(null));
    assert_eq!(out["data"], json!({"note": "mine"}));
    let mut events = out["events"].as_array().unwrap().clone();
    events.sort_by_key(|e| e[2].as_str().unwrap().to_owned());
    assert_eq!(
        events,
        vec![json!(["p1", "TaskCompleted", "a", "t"]), json!(["p1", "TaskCompleted", "b", "t"]), json!(["p1", "TaskCompleted", "c", "t"])]
    );
    assert_eq!(out["deleted"], json!(null));
    assert_eq!(out["after"][0], json!(404), "{out}");
    // The process subscriber saw the Set (planId, key, value, ...args), the Del and the Release (null).
    let marks = marks.lock().unwrap();
    let subs: Vec<_> = marks.iter().filter(|(n, _)| n == "host.mark").map(|(_, a)| a.clone()).collect();
    assert_eq!(
        subs,
        vec![json!(["p1", "answer", 42, "sub-arg"]), json!(["p1", "answer", null, "sub-arg"]), json!(["p1", "answer", null, "sub-arg"])]
    );
}

#[test]
fn plan_stops_at_a_failed_order_and_reports_the_task() {
    let (rt, _, _d) = api(10_000, false);
    let out = exec(&rt, "scripts.api.PlanFail", json!([])).unwrap();
    assert_eq!(out["err"], json!([409, "Plan.Run: task bad: task bad of p2 failed"]));
    assert_eq!(out["status"], json!({"plan": "failed", "tasks": {"ok": "completed", "bad": "failed", "later": "created"}}));
    assert_eq!(out["data"], json!("task bad of p2 failed"));
    assert_eq!(out["results"], json!({"ok": {"plan": "p2", "task": "ok", "v": 1}}));
    assert_eq!(out["error"], json!("bad"));
}

#[test]
fn plan_shared_space_copies_and_notifies() {
    let (rt, _, _d) = api(10_000, false);
    let out = exec(&rt, "scripts.api.PlanShared", json!([])).unwrap();
    assert_eq!(out["got"], json!({"a": [1, 2]}));
    assert_eq!(out["seen"], json!([["k", {"a": [1, 2]}], ["k", null]]));
    assert_eq!(out["cleared"], json!([null, null]));
}

#[test]
fn plan_bad_input_is_an_error_with_its_code() {
    let (rt, _, _d) = api(10_000, false);
    for (which, code) in [
        ("ctor", 400),
        ("add", 400),
        ("addfn", 400),
        ("reserved", 400),
        ("setkey", 400),
        ("task", 404),
        ("taskdata", 404),
        ("unknown", 404),
    ] {
        let e = exec(&rt, "scripts.api.PlanBad", json!([which])).unwrap_err();
        assert_eq!(e.code(), code, "{which}: {e}");
    }
}

/// A WebSocket server on 127.0.0.1 that accepts one connection, answers the
/// handshake as `answer` says ("ok", "200", "silent", "bad-accept") and
/// reports the request head and the frames it got: (opcode, payload).
/// The request head and the frames (opcode byte, unmasked payload).
type Received = (String, Vec<(u8, Vec<u8>)>);

fn ws_server(answer: &'static str) -> (u16, std::sync::mpsc::Receiver<Received>) {
    use base64::Engine as _;
    use sha1::Digest as _;
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if s.read(&mut b).unwrap() == 0 {
                return;
            }
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        let key = head.lines().find_map(|l| l.strip_prefix("Sec-WebSocket-Key: ")).unwrap().trim().to_owned();
        let mut sha = sha1::Sha1::new();
        sha.update(format!("{key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11").as_bytes());
        let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
        match answer {
            "silent" => {
                std::thread::sleep(Duration::from_secs(3));
                return;
            }
            "200" => s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap(),
            "bad-accept" => s
                .write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
                )
                .unwrap(),
            _ => write!(
                s,
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .unwrap(),
        }
        let mut frames = Vec::new();
        loop {
            let mut h = [0u8; 2];
            if s.read_exact(&mut h).is_err() {
                break;
            }
            assert_eq!(h[1] & 0x80, 0x80, "a client frame is masked");
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    s.read_exact(&mut l).unwrap();
                    u16::from_be_bytes(l) as usize
                }
                127 => {
                    let mut l = [0u8; 8];
                    s.read_exact(&mut l).unwrap();
                    u64::from_be_bytes(l) as usize
                }
                n => n as usize,
            };
            let mut mask = [0u8; 4];
            s.read_exact(&mut mask).unwrap();
            let mut payload = vec![0u8; len];
            s.read_exact(&mut payload).unwrap();
            payload.iter_mut().enumerate().for_each(|(i, b)| *b ^= mask[i % 4]);
            frames.push((h[0], payload));
            if h[0] & 0x0f == 0x8 {
                break;
            }
        }
        tx.send((head, frames)).unwrap();
    });
    (port, rx)
}

#[test]
fn websocket_push_sends_one_text_message_to_an_allowed_host() {
    let (port, rx) = ws_server("ok");
    let rt = runtime(json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 5000}));
    let dir = tempfile::tempdir().unwrap();
    rt.load_file(build(&rt, dir.path(), "api.ts", API), Some("api")).unwrap();
    let url = format!("ws://127.0.0.1:{port}/websocket/test?x=1");
    let long = "é".repeat(200); // 400 bytes: the 16-bit length form
    assert_eq!(exec(&rt, "scripts.api.Push", json!([url, long, "chat", "v2"])).unwrap(), json!([true, url]));
    let (head, frames) = rx.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /websocket/test?x=1 HTTP/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("Host: 127.0.0.1:{port}\r\n")), "{head}");
    assert!(head.contains("Sec-WebSocket-Version: 13\r\n") && head.contains("Sec-WebSocket-Protocol: chat, v2\r\n"), "{head}");
    assert_eq!(frames, vec![(0x81, long.into_bytes()), (0x88, 1000u16.to_be_bytes().to_vec())]);
}

#[test]
fn websocket_push_follows_the_http_rules_and_codes() {
    let (port, _rx) = ws_server("ok");
    let rt = runtime(json!({"http_allow": [format!("127.0.0.1:{port}"), "*.0.0.1"], "timeout_ms": 5000}));
    let dir = tempfile::tempdir().unwrap();
    rt.load_file(build(&rt, dir.path(), "api.ts", API), Some("api")).unwrap();
    let push = |url: String, message: serde_json::Value| exec(&rt, "scripts.api.Push", json!([url, message])).unwrap_err();
    let e = push("ws://example.com:9/".into(), json!("m"));
    assert_eq!((e.code(), e.message().contains("not in http_allow")), (403, true), "{e}");
    // The same address by another name: the allow-list is on names, as http.
    let e = push(format!("ws://localhost:{port}/"), json!("m"));
    assert_eq!(e.code(), 403, "{e}");
    // Allowed only by the wildcard, resolving to this machine: 403 before connecting.
    let e = push("ws://127.0.0.1:1/".into(), json!("m"));
    assert_eq!((e.code(), e.message().contains("allowed only by a *.domain entry")), (403, true), "{e}");
    assert_eq!(push(format!("http://127.0.0.1:{port}/"), json!("m")).code(), 400);
    assert_eq!(push("not a url".into(), json!("m")).code(), 400);
    assert_eq!(push(format!("ws://127.0.0.1:{port}/"), json!(42)).code(), 400, "the message must be a string");
    // Servers that do not speak WebSocket: 502; one that never answers: 408.
    for answer in ["200", "bad-accept"] {
        let (port, _rx) = ws_server(answer);
        let rt = runtime(json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 5000}));
        rt.load_file(build(&rt, dir.path(), "api.ts", API), Some("api")).unwrap();
        let e = exec(&rt, "scripts.api.Push", json!([format!("ws://127.0.0.1:{port}/"), "m"])).unwrap_err();
        assert_eq!(e.code(), 502, "{answer}: {e}");
    }
    let (port, _rx) = ws_server("silent");
    let rt = runtime(json!({"http_allow": [format!("127.0.0.1:{port}")], "timeout_ms": 300}));
    rt.load_file(build(&rt, dir.path(), "api.ts", API), Some("api")).unwrap();
    let started = Instant::now();
    let e = exec(&rt, "scripts.api.Push", json!([format!("ws://127.0.0.1:{port}/"), "m"])).unwrap_err();
    assert_eq!(e.code(), 408, "{e}");
    assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
}
