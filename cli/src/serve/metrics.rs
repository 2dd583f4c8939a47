//! `GET /metrics`: the runtime's counters (`Runtime::stats`) in Prometheus'
//! text exposition format (version 0.0.4), so a scraper needs no adapter.
//! `/stats` answers the same numbers as JSON.

use std::fmt::Write;
use yaowasm::RuntimeStats;

/// The Content-Type of the exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One counter family: its name, its help text, and a script's value.
type Family = (&'static str, &'static str, fn(&yaowasm::ScriptCounters) -> String);

/// Renders `stats`: one counter family per script counter, labelled by
/// script id, then the pool gauges.
pub fn render(stats: &RuntimeStats) -> String {
    let mut out = String::new();
    let families: [Family; 4] = [
        ("yaowasm_calls_total", "Calls of the script finished, nested ones included.", |s| s.calls.to_string()),
        ("yaowasm_errors_total", "Calls that ended with an error of any code.", |s| s.errors.to_string()),
        ("yaowasm_timeouts_total", "Calls that ended with 408 (deadline, cancel, or no instance slot).", |s| s.timeouts.to_string()),
        ("yaowasm_busy_seconds_total", "Wall time spent in the script's calls (nested calls count in their caller's too).", |s| {
            format!("{}.{:06}", s.busy_us / 1_000_000, s.busy_us % 1_000_000)
        }),
    ];
    for (name, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for script in &stats.scripts {
            let _ = writeln!(out, "{name}{{script=\"{}\"}} {}", escape(&script.id), value(script));
        }
    }
    let gauges = [
        ("yaowasm_instances_in_use", "Instances alive now: calls in flight, nested ones included.", stats.instances_in_use),
        ("yaowasm_instance_slots", "Size of the instance pool; past it, calls wait for a slot.", stats.instance_slots),
        (
            "yaowasm_memory_reset_pagemap",
            "1 when memory is reset between calls with PAGEMAP_SCAN (Linux 6.7+), 0 on the slower fallback.",
            u64::from(stats.memory_reset == "pagemap"),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    out
}

/// A label value: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaowasm::ScriptCounters;

    #[test]
    fn renders_every_counter_and_gauge() {
        let script = |id: &str, calls, busy_us| ScriptCounters { id: id.into(), calls, errors: 1, timeouts: 0, busy_us };
        let stats = RuntimeStats {
            scripts: vec![script("a.b", 3, 1_500_042), script("odd\"id\\", 0, 7)],
            instances_in_use: 2,
            instance_slots: 1000,
            memory_reset: "fallback",
        };
        let text = render(&stats);
        for line in [
            "# TYPE yaowasm_calls_total counter",
            "yaowasm_calls_total{script=\"a.b\"} 3",
            "yaowasm_errors_total{script=\"a.b\"} 1",
            "yaowasm_timeouts_total{script=\"a.b\"} 0",
            "yaowasm_busy_seconds_total{script=\"a.b\"} 1.500042",
            "yaowasm_busy_seconds_total{script=\"odd\\\"id\\\\\"} 0.000007",
            "# TYPE yaowasm_instances_in_use gauge",
            "yaowasm_instances_in_use 2",
            "yaowasm_instance_slots 1000",
            "yaowasm_memory_reset_pagemap 0",
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        assert!(text.ends_with('\n'));
    }
}
