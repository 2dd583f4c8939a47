//! Concurrency (docs/ABI.md §10, `yao.tasks` and `yao.sleep`): processes in
//! parallel with gou's `All`/`Any`/`Race` rules, background jobs, delayed
//! calls, and a sleep that honours the call's deadline.
//!
//! ```ignore
//! use yao_guest::tasks::{self, Task};
//! let results = tasks::all(&[Task::new("scripts.a.Slow", (10,)), Task::new("models.user.Find", (1,))])?;
//! let job = tasks::Job::start("scripts.report.Build", (42,))?;
//! while job.running(10)? {}
//! let report: Value = job.data()?;
//! ```

use crate::host::{self, Import};
use crate::{to_value, Error, Value};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// One process call of [`all`], [`any`] or [`race`].
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub process: String,
    /// The args array.
    pub args: Value,
    /// Seconds; `None`: the caller's deadline.
    pub timeout: Option<f64>,
}

impl Task {
    /// `process` with `args` (anything that serializes to an array, a tuple say).
    pub fn new<A: Serialize>(process: impl Into<String>, args: A) -> Task {
        let args = to_value(args).unwrap_or(Value::Array(Vec::new()));
        Task { process: process.into(), args, timeout: None }
    }

    /// This task's own timeout, in seconds.
    pub fn timeout(mut self, seconds: f64) -> Task {
        self.timeout = Some(seconds);
        self
    }

    fn to_value(&self) -> Value {
        let mut fields = vec![(Value::from("process"), Value::from(self.process.as_str())), (Value::from("args"), self.args.clone())];
        if let Some(t) = self.timeout {
            fields.push((Value::from("timeout"), Value::from(t)));
        }
        Value::Map(fields)
    }
}

/// One task's outcome, in task order: `data` on success; `error` and `code`
/// on failure; all empty for a task not finished when `any`/`race` returned.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TaskResult {
    pub data: Value,
    pub index: usize,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub code: Option<i32>,
}

fn parallel(method: &str, tasks: &[Task]) -> Result<Vec<TaskResult>, Error> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let list = Value::Array(tasks.iter().map(Task::to_value).collect());
    host::call(Import::Tasks { method }, vec![list])
}

/// Runs every task in parallel; returns once all have finished.
pub fn all(tasks: &[Task]) -> Result<Vec<TaskResult>, Error> {
    parallel("All", tasks)
}

/// Returns at the first success (no error and a non-nil result), or once
/// all have finished; the others are left to finish.
pub fn any(tasks: &[Task]) -> Result<Vec<TaskResult>, Error> {
    parallel("Any", tasks)
}

/// Returns at the first task to finish, success or failure; the others are
/// left to finish.
pub fn race(tasks: &[Task]) -> Result<Vec<TaskResult>, Error> {
    parallel("Race", tasks)
}

/// Blocks `ms` milliseconds; a sleep past the call's deadline ends the call
/// with 408 there.
pub fn sleep(ms: i64) -> Result<(), Error> {
    host::sleep(ms)
}

/// Runs `process` with `args` after `ms` milliseconds, in the background;
/// nothing comes back.
pub fn after<A: Serialize>(ms: i64, process: &str, args: A) -> Result<(), Error> {
    host::call::<Value>(Import::Tasks { method: "After" }, vec![Value::from(ms), Value::from(process), to_value(args)?]).map(drop)
}

/// A process running in the background (gou's `Job`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub id: u64,
}

impl Job {
    /// Starts `process` with `args` in the background.
    pub fn start<A: Serialize>(process: &str, args: A) -> Result<Job, Error> {
        let id = host::call(Import::Tasks { method: "Job" }, vec![Value::from(process), to_value(args)?])?;
        Ok(Job { id })
    }

    /// Whether the job still runs, after waiting up to `wait_ms` (at most
    /// 1000) for it to finish.
    pub fn running(&self, wait_ms: u64) -> Result<bool, Error> {
        host::call(Import::Tasks { method: "Running" }, vec![Value::from(self.id), Value::from(wait_ms)])
    }

    /// The result (nil while running or when the job failed); the job is
    /// then forgotten.
    pub fn data<R: DeserializeOwned>(&self) -> Result<R, Error> {
        host::call(Import::Tasks { method: "Data" }, vec![Value::from(self.id)])
    }

    /// Stops the job and forgets it.
    pub fn cancel(&self) -> Result<(), Error> {
        host::call::<Value>(Import::Tasks { method: "Cancel" }, vec![Value::from(self.id)]).map(drop)
    }
}
