// Concurrency (docs/ABI.md §10, the imports `tasks` and `sleep`): processes
// in parallel with gou's All/Any/Race rules, background jobs, delayed calls,
// and a sleep that honours the call's deadline.
//
//     const results = yao.all([new Task("scripts.a.Slow", Value.from<i32[]>([10])), new Task("models.user.Find")]);
//     const job = Job.start("scripts.report.Build", Value.from<i32[]>([42]));
//     while (job.running(10).asBool()) {}
//     const report = job.data();

import * as env from "./env";
import { unpack, Utf8 } from "./hostcall";
import { encodeArray } from "./msgpack";
import { Value } from "./value";

/** One process call of all, any or race. */
export class Task {
  /** `process` with the args array `args`; `timeout` in seconds (0: the caller's deadline). */
  constructor(public readonly process: string, public readonly args: Value = Value.array(), public readonly timeout: f64 = 0) {}

  toValue(): Value {
    const m = Value.map().set("process", Value.fromString(this.process)).set("args", this.args.isNil() ? Value.array() : this.args);
    if (this.timeout > 0) m.set("timeout", Value.fromFloat(this.timeout));
    return m;
  }
}

/** The raw `yao.tasks(method, args)`: the answer, or an error value. */
export function tasks(method: string, args: Value[]): Value {
  for (let k = 0; k < args.length; k++) if (args[k].isError()) return args[k];
  const m = new Utf8(method);
  const a = encodeArray(args);
  return unpack(env.tasks(m.ptr, m.len, a.dataStart, a.length), "tasks " + method);
}

function parallel(method: string, list: Task[]): Value {
  if (list.length == 0) return Value.array();
  const items = Value.array();
  for (let k = 0; k < list.length; k++) items.push(list[k].toValue());
  return tasks(method, [items]);
}

/** Runs every task in parallel; once all have finished, one map per task in
 *  task order: {data, index} on success, {data: nil, index, error, code} on
 *  failure. */
export function all(list: Task[]): Value { return parallel("All", list); }

/** Returns at the first success (no error and a non-nil result), or once
 *  all have finished; the others are left to finish ({data: nil, index}). */
export function any(list: Task[]): Value { return parallel("Any", list); }

/** Returns at the first task to finish, success or failure; the others are
 *  left to finish. */
export function race(list: Task[]): Value { return parallel("Race", list); }

/** Blocks `ms` milliseconds: nil; a sleep past the call's deadline ends the
 *  call with 408 there. */
export function sleep(ms: i64): Value {
  return unpack(env.sleep(ms), "sleep");
}

/** Runs `process` with the args array `args` after `ms` milliseconds, in the
 *  background: nil, or an error value. */
export function after(ms: i64, process: string, args: Value = Value.array()): Value {
  return tasks("After", [Value.fromInt(ms), Value.fromString(process), args]);
}

/** A process running in the background (gou's Job). */
export class Job {
  constructor(public readonly id: i64) {}

  /** Starts `process` with the args array `args`: the job, or null with
   *  the error value in `Job.lastError`. */
  static start(process: string, args: Value = Value.array()): Job | null {
    const id = tasks("Job", [Value.fromString(process), args]);
    if (id.isError()) {
      Job.lastError = id;
      return null;
    }
    return new Job(id.asInt());
  }

  /** The error value of the last `start` that failed. */
  static lastError: Value = Value.nil();

  /** Whether the job still runs (a bool value), after waiting up to
   *  `waitMs` (at most 1000) for it to finish. */
  running(waitMs: i64 = 0): Value { return tasks("Running", [Value.fromInt(this.id), Value.fromInt(waitMs)]); }

  /** The result (nil while it runs or when it failed); the job is then forgotten. */
  data(): Value { return tasks("Data", [Value.fromInt(this.id)]); }

  /** Stops the job and forgets it. */
  cancel(): Value { return tasks("Cancel", [Value.fromInt(this.id)]); }
}
