//! # yao-guest: Yao scripts in Rust
//!
//! Build a `cdylib` for `wasm32-wasip1` or `wasm32-unknown-unknown`, drop the
//! `.wasm` under a yaowasm scripts folder, and every function you [`export!`]
//! is a Yao process: `scripts/app/user.wasm` exporting `Check` serves
//! `scripts.app.user.Check`.
//!
//! ```ignore
//! use serde::{Deserialize, Serialize};
//! use yao_guest::{export, process, Error};
//!
//! #[derive(Deserialize)]
//! struct User { name: String }
//! #[derive(Serialize)]
//! struct Verdict { valid: bool }
//!
//! fn check(user: User) -> Result<Verdict, Error> {
//!     yao_guest::log::info(&format!("checking {}", user.name));
//!     Ok(Verdict { valid: !user.name.is_empty() })
//! }
//!
//! fn find(id: i64) -> Result<yao_guest::Value, Error> {
//!     process("models.user.Find", (id,)) // an error answer passes on with `?`
//! }
//!
//! export!(Check => check, Find => find);
//! ```
//!
//! The SDK exports `yao_alloc` and `yao_free` itself (exactly once: do not
//! define them in your crate). Values cross the boundary as MessagePack
//! (SPEC §2); structs are maps with string keys.

/// Names this SDK and its version inside every module built with it, so
/// `yaowasm inspect` can tell what built a stripped module. A data string,
/// not a custom section: `wasm-ld --strip-all` drops custom sections, and
/// `#[used]` keeps the linker from dropping the string.
#[used]
static SDK_MARK: &[u8] = concat!("\0yaowasm-sdk:rust ", env!("CARGO_PKG_VERSION"), "\0").as_bytes();

mod args;
mod context;
mod error;
pub mod export;
pub mod fs;
mod host;
pub mod http;
pub mod log;
pub mod memory;
mod process;
pub mod query;
pub mod store;
mod sys;
pub mod tasks;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use context::{context, Context};
pub use error::{Error, Result};
pub use export::Variadic;
pub use process::{process, process_raw};
/// An untyped Yao value (nil, bool, integer, float, string, bytes, array,
/// map): take or return it when the shape is not fixed.
pub use rmpv::Value;

/// Converts a typed value into a [`Value`]; structs become maps with string
/// keys, as they do on the wire (`rmpv::ext::to_value` would make arrays).
pub fn to_value<T: serde::Serialize>(value: T) -> Result<Value, Error> {
    let bytes = export::encode(&value)?;
    rmpv::decode::read_value(&mut bytes.as_slice()).map_err(|e| Error::internal(format!("to_value: {e}")))
}

/// Converts a [`Value`] into a typed value; a mismatch is a 400.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    rmpv::ext::from_value(value).map_err(|e| Error::bad_request(e.to_string()))
}

#[cfg(test)]
mod tests;
