//! Concurrency for scripts (docs/ABI.md §10, `yao.tasks`): `All`, `Any` and
//! `Race` over `{process, args, timeout}` tasks, background `Job`s and
//! `time.After`.
//!
//! Every task is a normal process dispatch (`Inner::dispatch`: a loaded
//! `scripts.*` in its own fresh instance, anything else through the host's
//! process handler) on a thread of its own, nested in the call that started
//! it: the worker carries the caller's frames (`nesting::Inherited`), so it
//! shares the caller's depth, deadline, cancel token and context.
//!
//! `Any` and `Race` return as soon as their rule is met; the tasks still
//! running are left to finish, as gou's do, their results dropped. They can
//! never outlive the caller's deadline (they share its budget).
//!
//! A `Job` and a `time.After` outlive the call that started them: each runs
//! as a top-level call of its own (a fresh `timeout_ms`, the caller's
//! context) on a thread of the runtime. A `time.After` still waiting when
//! every handle of the runtime is gone is dropped without running.

use super::nesting::{self, Budget, CancelToken, Inherited};
use super::Inner;
use crate::error::{Error, Result};
use crate::log::{LogLevel, LogSink};
use rmpv::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::{Duration, Instant};

/// Native stack of a task's thread: a task is a nested call, which wants
/// `NESTED_STACK_NEEDED` free, and may nest further.
const TASK_STACK: usize = 8 << 20;
/// At most this many threads serve one `All`/`Any`/`Race` at a time; the
/// other tasks wait for one of them.
pub const MAX_WORKERS: usize = 32;
/// At most this many tasks in one `All`/`Any`/`Race` (413 beyond).
pub const MAX_TASKS: usize = 1024;
/// At most this many `Job`s a runtime keeps (413 beyond): running ones and
/// finished ones whose `Data` nobody read yet.
pub const MAX_JOBS: usize = 4096;

/// Which rule ends a parallel call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every task has finished.
    All,
    /// One task succeeded (no error and a non-nil result), or all finished.
    Any,
    /// One task finished, success or failure.
    Race,
}

/// One task: a process, its MessagePack args array, its own timeout.
pub struct Task {
    pub process: String,
    pub args: Vec<u8>,
    pub timeout: Option<Duration>,
}

/// Reads `[tasks]`, tasks being `[{process, args?, timeout?}]` (timeout in
/// seconds, as gou; 0 or none: the caller's).
pub fn parse_tasks(args: &[u8]) -> Result<Vec<Task>> {
    let bad = |m: String| Error::bad_request(m);
    let args = crate::host_api::args::Args::decode("tasks", args)?;
    args.at_most(1)?;
    let Value::Array(list) = args.get(0) else { return Err(args.bad(0, "an array of tasks")) };
    if list.len() > MAX_TASKS {
        return Err(Error::too_large(format!("tasks: {} tasks, at most {MAX_TASKS}", list.len())));
    }
    let mut tasks = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let Value::Map(fields) = item else { return Err(bad(format!("task[{i}]: expected an object with 'process' field"))) };
        let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name)).map(|(_, v)| v);
        let process = match field("process") {
            Some(Value::String(s)) if s.as_str().is_some_and(|s| !s.is_empty()) => s.as_str().unwrap_or_default().to_owned(),
            _ => return Err(bad(format!("task[{i}]: 'process' field is required and must be a string"))),
        };
        let args = match field("args") {
            None | Some(Value::Nil) => Value::Array(Vec::new()),
            Some(a @ Value::Array(_)) => a.clone(),
            Some(_) => return Err(bad(format!("task[{i}]: 'args' must be an array"))),
        };
        let seconds = match field("timeout") {
            None | Some(Value::Nil) => 0.0,
            Some(Value::Integer(n)) => n.as_f64().unwrap_or(0.0),
            Some(Value::F32(f)) => f64::from(*f),
            Some(Value::F64(f)) => *f,
            Some(_) => return Err(bad(format!("task[{i}]: 'timeout' must be a number of seconds"))),
        };
        let timeout = (seconds.is_finite() && seconds > 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)));
        tasks.push(Task { process, args: crate::host_api::args::encode(&args), timeout });
    }
    Ok(tasks)
}

/// Runs `tasks` in parallel, nested in the call running on this thread, and
/// answers gou's result array: one `{data, index, error?, code?}` per task,
/// in task order (a task that had not finished when the rule was met:
/// `{data: nil, index}`). 408 at the caller's deadline.
pub fn parallel(inner: &Arc<Inner>, mode: Mode, tasks: Vec<Task>, budget: &Budget) -> Result<Vec<u8>> {
    let n = tasks.len();
    let mut results: Vec<Option<Result<Vec<u8>>>> = (0..n).map(|_| None).collect();
    if n > 0 {
        let inherited = inherit(inner);
        let tasks = Arc::new(tasks);
        let next = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = mpsc::channel::<(usize, Result<Vec<u8>>)>();
        for _ in 0..n.min(MAX_WORKERS) {
            let (inner, tasks, next, tx, inherited) = (inner.clone(), tasks.clone(), next.clone(), tx.clone(), inherited.clone());
            let caller = budget.clone();
            let worker = move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(task) = tasks.get(i) else { return };
                let budget = match task.timeout {
                    Some(t) if Instant::now() + t < caller.deadline => {
                        Budget { deadline: Instant::now() + t, timeout_ms: t.as_millis() as u64, cancel: caller.cancel.clone() }
                    }
                    _ => caller.clone(),
                };
                let result = {
                    let _frames = inherited.install(Some(&budget));
                    budget.check().and_then(|()| inner.dispatch(&task.process, &task.args))
                };
                if tx.send((i, result)).is_err() {
                    return; // the caller has its answer; the rest is not wanted
                }
            };
            spawn("yaowasm-task", worker)?;
        }
        drop(tx);
        let mut done = 0;
        while done < n {
            budget.check()?;
            let left = budget.deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(50))) {
                Ok((i, result)) => {
                    done += 1;
                    let met = match mode {
                        Mode::All => false,
                        Mode::Race => true,
                        Mode::Any => result.as_ref().is_ok_and(|data| !is_nil(data)),
                    };
                    results[i] = Some(result);
                    if met {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    let list = results
        .into_iter()
        .enumerate()
        .map(|(index, result)| {
            let mut fields = vec![(Value::from("data"), Value::Nil), (Value::from("index"), Value::from(index))];
            match result {
                Some(Ok(data)) => fields[0].1 = decode(&data),
                Some(Err(e)) => {
                    fields.push((Value::from("error"), Value::from(e.message())));
                    fields.push((Value::from("code"), Value::from(e.code())));
                }
                None => {}
            }
            Value::Map(fields)
        })
        .collect();
    Ok(crate::host_api::args::encode(&Value::Array(list)))
}

fn is_nil(msgpack: &[u8]) -> bool {
    msgpack.is_empty() || msgpack == [0xc0]
}

fn decode(msgpack: &[u8]) -> Value {
    rmpv::decode::read_value(&mut &msgpack[..]).unwrap_or(Value::Nil)
}

fn inherit(inner: &Arc<Inner>) -> Inherited {
    nesting::inherit(inner.key())
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .stack_size(TASK_STACK)
        .spawn(f)
        .map(drop)
        .map_err(|e| Error::internal(format!("cannot start a task thread: {e}")))
}

/// `ms` of sleep for the call whose budget is `budget`: 408 at its deadline
/// (or at the host's cancel) when the sleep would outlast it.
pub fn sleep(budget: &Budget, ms: i64) -> Result<()> {
    let until = Instant::now() + Duration::from_millis(ms.max(0) as u64);
    loop {
        budget.check()?;
        let now = Instant::now();
        if now >= until {
            return Ok(());
        }
        // Slices of at most 20 ms, so a cancel is seen soon.
        let wake = until.min(budget.deadline).max(now + Duration::from_millis(1));
        std::thread::sleep((wake - now).min(Duration::from_millis(20)));
    }
}

/// One background job.
struct Job {
    /// The answer once done.
    result: Mutex<Option<Result<Vec<u8>>>>,
    finished: Condvar,
    cancel: CancelToken,
}

/// The runtime's background jobs, by ID.
#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Arc<Job>>>,
}

impl Jobs {
    fn get(&self, id: u64) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).get(&id).cloned()
    }

    fn remove(&self, id: u64) -> Option<Arc<Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).remove(&id)
    }
}

/// A background call's budget: the runtime's `timeout_ms` from now.
fn background_budget(inner: &Inner, cancel: CancelToken) -> Budget {
    inner.default_budget(None, Some(cancel))
}

/// Starts `process` with `args` (a MessagePack array) as a background job
/// and answers its ID.
pub fn start_job(inner: &Arc<Inner>, process: String, args: Vec<u8>) -> Result<u64> {
    let jobs = &inner.jobs;
    let id = jobs.next.fetch_add(1, Ordering::Relaxed) + 1;
    let job = Arc::new(Job { result: Mutex::new(None), finished: Condvar::new(), cancel: CancelToken::new() });
    {
        let mut table = jobs.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if table.len() >= MAX_JOBS {
            return Err(Error::too_large(format!("Job: this runtime already keeps {MAX_JOBS} jobs (read their Data or Cancel them)")));
        }
        table.insert(id, job.clone());
    }
    let inherited = inherit(inner);
    let runtime = inner.clone();
    spawn("yaowasm-job", move || {
        let budget = background_budget(&runtime, job.cancel.clone());
        let result = {
            let _frames = inherited.detached(runtime.key(), &format!("Job {process}"), budget.clone()).install(None);
            budget.check().and_then(|()| runtime.dispatch(&process, &args))
        };
        if let Err(e) = &result {
            runtime.log(LogLevel::Warn, &format!("Job {process} failed ({}): {}", e.code(), e.message()));
        }
        *job.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
        job.finished.notify_all();
    })
    .inspect_err(|_| {
        jobs.remove(id);
    })?;
    Ok(id)
}

/// Whether job `id` is still running, after waiting up to `wait` for it to
/// finish (never past `budget`'s deadline). An unknown job is not running.
pub fn job_running(inner: &Inner, id: u64, wait: Duration, budget: &Budget) -> Result<bool> {
    let Some(job) = inner.jobs.get(id) else { return Ok(false) };
    let until = (Instant::now() + wait).min(budget.deadline);
    let mut result = job.result.lock().unwrap_or_else(|p| p.into_inner());
    while result.is_none() {
        let now = Instant::now();
        if now >= until {
            break;
        }
        result = job.finished.wait_timeout(result, until - now).unwrap_or_else(|p| p.into_inner()).0;
    }
    Ok(result.is_none())
}

/// Job `id`'s result, removing it (gou: nil while it still runs, and for a
/// failed or unknown job).
pub fn job_data(inner: &Inner, id: u64) -> Option<Vec<u8>> {
    let job = inner.jobs.remove(id)?;
    let result = job.result.lock().unwrap_or_else(|p| p.into_inner()).take();
    result.and_then(|r| r.ok())
}

/// Cancels job `id` (a script stops at its next epoch tick; a host process
/// runs to its end, its answer dropped) and removes it.
pub fn job_cancel(inner: &Inner, id: u64) {
    if let Some(job) = inner.jobs.remove(id) {
        job.cancel.cancel();
    }
}

/// Runs `process` with `args` after `ms`, in the background; nothing comes
/// back (a failure is logged, as gou does).
pub fn after(inner: &Arc<Inner>, ms: i64, process: String, args: Vec<u8>) -> Result<()> {
    let inherited = inherit(inner);
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let key = inner.key();
    let due = Instant::now() + Duration::from_millis(ms.max(0) as u64);
    spawn("yaowasm-after", move || {
        // Wait holding no reference, so a freed runtime is not kept alive.
        loop {
            let now = Instant::now();
            if now >= due {
                break;
            }
            if weak.strong_count() == 0 {
                return;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(100)));
        }
        let Some(runtime) = weak.upgrade() else { return };
        let budget = background_budget(&runtime, CancelToken::new());
        let result = {
            let _frames = inherited.detached(key, &format!("time.After {process}"), budget.clone()).install(None);
            runtime.dispatch(&process, &args)
        };
        match result {
            Ok(_) => runtime.log(LogLevel::Debug, &format!("time.After {ms}: {process} done")),
            Err(e) => runtime.log(LogLevel::Error, &format!("time.After {ms}: {process} failed ({}): {}", e.code(), e.message())),
        }
    })
}
