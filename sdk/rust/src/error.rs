//! The error value of SPEC §3: `{"code": int, "message": string}`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An error a script raises, or receives from a process it called.
///
/// `code` is a Yao (HTTP-like) code: 400 bad input, 403 forbidden, 404 not
/// found, 500 internal… The host keeps it as the exec result's status; a
/// code outside 100–599 becomes 500.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    pub code: i32,
    pub message: String,
}

impl Error {
    /// An error with any code.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        Error { code, message: message.into() }
    }
    /// 400: the input is not what the function accepts.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }
    /// 403: the caller may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }
    /// 404: the thing asked for does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }
    /// 500: something failed inside the script.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for Error {}

/// Shorthand for a script function's return type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The wire form of an error value as it may arrive from the host: a missing
/// code or message is tolerated on decode and turned into a 500 / "".
#[derive(Deserialize)]
pub(crate) struct WireError {
    pub code: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

impl Error {
    /// Decodes an error value the host sent. Never fails: an unreadable one
    /// becomes a 500 that says so.
    pub(crate) fn from_wire(bytes: &[u8]) -> Error {
        match rmp_serde::from_slice::<WireError>(bytes) {
            Ok(WireError { code: Some(code), message }) => {
                Error::new(i32::try_from(code).unwrap_or(500), message.unwrap_or_default())
            }
            Ok(WireError { code: None, message }) => {
                Error::internal(format!("error value without a code: {}", message.unwrap_or_default()))
            }
            Err(why) => Error::internal(format!("unreadable error value: {why}")),
        }
    }

    /// The MessagePack `{code, message}` map. Encoding a struct of an int and
    /// a string into a Vec cannot fail; the fallback is a fixed 500 value.
    pub(crate) fn to_wire(&self) -> Vec<u8> {
        rmp_serde::to_vec_named(self).unwrap_or_else(|_| {
            // {"code": 500, "message": "error"}
            let mut v = vec![0x82, 0xa4];
            v.extend_from_slice(b"code");
            v.extend_from_slice(&[0xcd, 0x01, 0xf4, 0xa7]);
            v.extend_from_slice(b"message");
            v.push(0xa5);
            v.extend_from_slice(b"error");
            v
        })
    }
}
