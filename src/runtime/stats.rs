//! Call counters per script and the instance pool's use: what an operator
//! asks first of a runtime under load (which script is called, fails, times
//! out, takes the time; how close the pool is to its 1000 slots).
//!
//! Counters are relaxed atomics bumped once per call, nested calls
//! included; a script reloaded from a changed file keeps its counters (they
//! belong to the process name, not to one build), an unloaded one loses
//! them.

use super::per_cpu::PerCpu;
use crate::error::{Result, TIMEOUT};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The counters of one script, per CPU (summed when read): a script called
/// on two CPUs at once would otherwise bounce their cache line every call.
#[derive(Debug, Default)]
pub struct ScriptStats(PerCpu<Counters>);

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    busy_ns: AtomicU64,
}

impl ScriptStats {
    /// Counts one finished call: any error, and 408s again as timeouts.
    pub(crate) fn record<T>(&self, took: Duration, result: &Result<T>) {
        let (_, here) = self.0.here();
        here.calls.fetch_add(1, Ordering::Relaxed);
        here.busy_ns.fetch_add(took.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
        if let Err(e) = result {
            here.errors.fetch_add(1, Ordering::Relaxed);
            if e.code() == TIMEOUT {
                here.timeouts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub(crate) fn snapshot(&self, id: &str) -> ScriptCounters {
        let sum = |field: fn(&Counters) -> &AtomicU64| self.0.iter().map(|c| field(c).load(Ordering::Relaxed)).sum::<u64>();
        ScriptCounters {
            id: id.to_owned(),
            calls: sum(|c| &c.calls),
            errors: sum(|c| &c.errors),
            timeouts: sum(|c| &c.timeouts),
            busy_us: sum(|c| &c.busy_ns) / 1000,
        }
    }
}

/// One script's counters, as `stats` reports them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScriptCounters {
    pub id: String,
    /// Calls made, top-level and nested, finished (in flight ones are not
    /// counted yet).
    pub calls: u64,
    /// Calls that ended with an error of any code (the guest's own included).
    pub errors: u64,
    /// Of those, 408s: past the deadline, cancelled, or no instance slot.
    pub timeouts: u64,
    /// Wall time spent in these calls, in microseconds (a nested call counts
    /// in its caller's time too).
    pub busy_us: u64,
}

/// What `Runtime::stats` answers.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RuntimeStats {
    /// One entry per loaded script, sorted by id.
    pub scripts: Vec<ScriptCounters>,
    /// Instances alive now: one per call in flight (nested ones included),
    /// plus the JS engine's while it is being made.
    pub instances_in_use: u64,
    /// The pool's size: past it, calls wait for a slot (src/call.rs).
    pub instance_slots: u64,
    /// How memory slots are reset between calls (config `memory_reset`
    /// resolved): `pagemap` or `fallback`.
    pub memory_reset: &'static str,
}

impl RuntimeStats {
    pub(crate) fn new(scripts: Vec<ScriptCounters>, shards: &[super::engine::Shard]) -> RuntimeStats {
        let instances_in_use = shards.iter().map(|s| s.engine.pooling_allocator_metrics().map_or(0, |m| m.core_instances())).sum();
        RuntimeStats {
            scripts,
            instances_in_use,
            instance_slots: u64::from(super::engine::pool_slots(shards.len())),
            memory_reset: if shards.first().is_some_and(|s| s.pagemap) { "pagemap" } else { "fallback" },
        }
    }
}
