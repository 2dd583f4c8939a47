//! Log records, through `yao.log`: they reach the host's log handler with
//! the script's level and the message exactly as given.

/// A log level, numbered as `yao.log` expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Level {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
}

/// Emits one record at `level`.
pub fn log(level: Level, message: &str) {
    emit(level, message)
}

pub fn trace(message: &str) {
    emit(Level::Trace, message)
}
pub fn debug(message: &str) {
    emit(Level::Debug, message)
}
pub fn info(message: &str) {
    emit(Level::Info, message)
}
pub fn warn(message: &str) {
    emit(Level::Warn, message)
}
pub fn error(message: &str) {
    emit(Level::Error, message)
}

#[cfg(target_arch = "wasm32")]
fn emit(level: Level, message: &str) {
    // SAFETY: the message is valid for its length during the call.
    unsafe { crate::sys::log(level as i32, message.as_ptr(), message.len() as u32) }
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(level: Level, message: &str) {
    crate::testing::record_log(level, message)
}

/// Formats and logs: `yao_guest::log!(Info, "saved user {}", id)`.
#[macro_export]
macro_rules! log {
    ($level:ident, $($fmt:tt)+) => {
        $crate::log::log($crate::log::Level::$level, &::std::format!($($fmt)+))
    };
}
