//! Where the binary's log lines go: stderr, as text (`yaowasm [info]
//! scripts.orders.Total: total computed`) or, for `serve --log-format json`,
//! one JSON object per line for log shippers:
//! `{"time":"2026-12-03T14:32:35.123Z","level":"info","script":"scripts.orders.Total","message":"total computed"}`.
//! `script` is null for serve's own lines (start, reloads, warnings).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use yaowasm::{LogLevel, LogRecord, Runtime};

/// `--log-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `yaowasm [level] scripts.a.F: message`
    #[default]
    Text,
    /// One JSON object per line: time (RFC 3339, UTC), level, script, message
    Json,
}

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets the format of this process's log lines, and sends the runtime's
/// records through it.
pub fn init(format: LogFormat, runtime: &Runtime) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
    if format == LogFormat::Json {
        runtime.set_log_record_handler(Some(Arc::new(|record: &LogRecord<'_>| {
            write_line(&json_line(SystemTime::now(), record.level, record.script, record.message))
        })));
    }
}

/// One line of the binary's own (`text` is the line in text form, `message`
/// what the JSON form says).
pub fn note(level: LogLevel, text: &str, message: &str) {
    if JSON.load(Ordering::Relaxed) {
        write_line(&json_line(SystemTime::now(), level, None, message));
    } else {
        write_line(text);
    }
}

fn write_line(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

pub fn json_line(time: SystemTime, level: LogLevel, script: Option<&str>, message: &str) -> String {
    serde_json::json!({"time": rfc3339(time), "level": level.name(), "script": script, "message": message}).to_string()
}

/// `2026-12-03T14:32:35.123Z`.
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rest / 3600, rest % 3600 / 60, rest % 60, since.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T23:59:59.5Z, a leap day.
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_millis(1_709_251_199_500)), "2024-02-29T23:59:59.500Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(1_764_772_355)), "2025-12-03T14:32:35.000Z");
    }
}
