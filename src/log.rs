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

/// Receives every log record: `yao.log` calls and WASI stdout (info) and
/// stderr (error) lines. Called on the thread running the call.
pub type LogHandler = dyn Fn(LogLevel, &str) + Send + Sync;

/// Where records go when no handler is set: stderr, with the level.
pub(crate) fn to_stderr(level: LogLevel, message: &str) {
    eprintln!("yaowasm [{}] {}", level.name(), message);
}

/// Where the runtime's own parts (the cache, WASI output) send records,
/// without knowing what a runtime is.
pub(crate) trait LogSink: Send + Sync {
    fn log(&self, level: LogLevel, message: &str);
}
