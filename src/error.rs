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
    kind: Option<ErrorKind>,
}

/// What a few errors are, for the callers that act on them rather than
/// show them (the CLI's `compile` and `serve`): matched by this, not by
/// their wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The runtime-only build found no precompiled module in `cache_dir`
    /// (its message begins with [`crate::NOT_PRECOMPILED`]).
    NotPrecompiled,
    /// `yaowasm compile --target`: the module was compiled for another
    /// machine and saved, not loaded here (its message begins with
    /// [`crate::PRECOMPILED_ONLY`]).
    PrecompiledOnly,
}

impl Error {
    /// Makes an error; a code outside 100–599 becomes 500 (SPEC §4).
    pub fn new(code: i32, message: impl Into<String>) -> Error {
        let code = if (100..=599).contains(&code) { code } else { INTERNAL };
        Error { code, message: message.into(), kind: None }
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
        Error { code: self.code, message: format!("{context}: {}", self.message), kind: self.kind }
    }

    /// The same error, marked as being of `kind`.
    pub fn with_kind(self, kind: ErrorKind) -> Error {
        Error { kind: Some(kind), ..self }
    }

    /// What the error is, when it is one the runtime marks.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.kind
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
