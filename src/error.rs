//! The one error type of the runtime: a Yao exception code and a message.
//!
//! Codes are Yao's HTTP-like exception codes (SPEC §4). Every failure that can
//! reach a host, whether it started in the guest, the host callback or the
//! runtime itself, ends up as one of these.

use std::fmt;

/// Bad input: bad encoding, bad name, bad config.
pub const BAD_REQUEST: i32 = 400;
/// Host refused: forbidden path, host or operation.
pub const FORBIDDEN: i32 = 403;
/// No such script, function or process.
pub const NOT_FOUND: i32 = 404;
/// The call ran past `timeout_ms`.
pub const TIMEOUT: i32 = 408;
/// A memory or size limit was hit.
pub const TOO_LARGE: i32 = 413;
/// Guest trap or internal error.
pub const INTERNAL: i32 = 500;

/// An error with its Yao code. Cheap to clone; `Send + Sync`.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    code: i32,
    message: String,
}

impl Error {
    /// Makes an error; a code outside 100–599 becomes 500 (SPEC §4).
    pub fn new(code: i32, message: impl Into<String>) -> Error {
        let code = if (100..=599).contains(&code) { code } else { INTERNAL };
        Error { code, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Error {
        Error::new(BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Error {
        Error::new(NOT_FOUND, message)
    }

    pub fn too_large(message: impl Into<String>) -> Error {
        Error::new(TOO_LARGE, message)
    }

    pub fn internal(message: impl Into<String>) -> Error {
        Error::new(INTERNAL, message)
    }

    pub fn timeout(timeout_ms: u64) -> Error {
        Error::new(TIMEOUT, format!("timeout: the call ran longer than timeout_ms ({timeout_ms} ms)"))
    }

    /// The Yao code: 400, 404, 408, 413, 500, or any 100–599 code a guest or
    /// host raised.
    pub fn code(&self) -> i32 {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// The same error with `context: ` in front of its message.
    pub fn context(self, context: impl fmt::Display) -> Error {
        Error { code: self.code, message: format!("{context}: {}", self.message) }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error {{ code: {}, message: {:?} }}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
