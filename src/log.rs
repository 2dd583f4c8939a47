//! Log levels and the log handler (SPEC §3 `yao.log`).

/// Yao's log levels, numbered as the guest ABI numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

impl LogLevel {
    /// A level from a guest; out-of-range numbers are clamped, so a guest's
    /// message is never dropped for a bad level.
    pub fn from_guest(level: i32) -> LogLevel {
        match level {
            i32::MIN..=0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            _ => LogLevel::Error,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// One log record: its level, the script that wrote it, the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogRecord<'a> {
    pub level: LogLevel,
    /// The process of the call that wrote the record, as it was called
    /// (`scripts.orders.Total`): the innermost call of this runtime running
    /// on the thread. `None` for the runtime's own records made outside any
    /// call (a cache warning at load, say).
    pub script: Option<&'a str>,
    pub message: &'a str,
}

/// Receives every log record: `yao.log` calls and WASI stdout (info) and
/// stderr (error) lines. Called on the thread running the call. Gets the
/// message only; [`LogRecordHandler`] also gets the script.
pub type LogHandler = dyn Fn(LogLevel, &str) + Send + Sync;

/// Receives every log record with the script that wrote it
/// (`Runtime::set_log_record_handler`).
pub type LogRecordHandler = dyn Fn(&LogRecord<'_>) + Send + Sync;

/// The handler a runtime sends records to.
#[derive(Clone)]
pub(crate) enum Handler {
    Message(std::sync::Arc<LogHandler>),
    Record(std::sync::Arc<LogRecordHandler>),
}

impl Handler {
    pub(crate) fn call(&self, record: &LogRecord<'_>) {
        match self {
            Handler::Message(handler) => handler(record.level, record.message),
            Handler::Record(handler) => handler(record),
        }
    }
}

/// Where records go when no handler is set: stderr, with the level and the
/// script (`yaowasm [info] scripts.orders.Total: total computed`).
pub(crate) fn to_stderr(record: &LogRecord<'_>) {
    eprintln!("{}", stderr_line(record));
}

/// The line [`to_stderr`] writes, without its newline.
pub fn stderr_line(record: &LogRecord<'_>) -> String {
    match record.script {
        Some(script) => format!("yaowasm [{}] {script}: {}", record.level.name(), record.message),
        None => format!("yaowasm [{}] {}", record.level.name(), record.message),
    }
}

/// Where the runtime's own parts (the cache, WASI output) send records,
/// without knowing what a runtime is.
pub(crate) trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, message: &str);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_lines_name_the_script() {
        let record = LogRecord { level: LogLevel::Info, script: Some("scripts.orders.Total"), message: "total computed" };
        assert_eq!(stderr_line(&record), "yaowasm [info] scripts.orders.Total: total computed");
        assert_eq!(stderr_line(&LogRecord { script: None, ..record }), "yaowasm [info] total computed");
    }
}
