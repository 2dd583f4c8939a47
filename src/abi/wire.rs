//! The wire format of the guest ABI (SPEC §2–§3): packed results, the
//! guest's encoding, error values, and the checks every value crossing the
//! boundary goes through.

use super::value;
use crate::error::{Error, Result, INTERNAL};
use serde::{Deserialize, Serialize};

/// Bit 31 of the packed length: the bytes are an error value (SPEC §3).
const ERROR_BIT: u32 = 1 << 31;

/// The MessagePack encoding of nil.
pub const NIL: &[u8] = &[0xc0];

/// The wire format a guest speaks (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    MsgPack,
    Json,
}

impl Encoding {
    pub fn name(self) -> &'static str {
        match self {
            Encoding::MsgPack => "msgpack",
            Encoding::Json => "json",
        }
    }
}

/// A packed result: `(ptr << 32) | len`, bit 31 of `len` marking an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packed {
    pub ptr: u32,
    pub len: u32,
    pub is_error: bool,
}

impl Packed {
    pub fn unpack(raw: i64) -> Packed {
        let raw = raw as u64;
        let len = raw as u32;
        Packed { ptr: (raw >> 32) as u32, len: len & !ERROR_BIT, is_error: len & ERROR_BIT != 0 }
    }

    pub fn pack(self) -> i64 {
        let len = if self.is_error { self.len | ERROR_BIT } else { self.len };
        ((u64::from(self.ptr) << 32) | u64::from(len)) as i64
    }

    /// `0`: no value at all, which means nil.
    pub fn is_nil(self) -> bool {
        self.len == 0 && !self.is_error
    }
}

/// The error value of SPEC §3, as guests send and receive it.
#[derive(Serialize, Deserialize)]
struct ErrorValue {
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// A script function's packed result, read from the guest's `memory`:
/// nil, the checked result, or the error value the guest raised.
pub fn decode_packed(memory: &[u8], raw: i64, encoding: Encoding) -> Result<Vec<u8>> {
    let packed = Packed::unpack(raw);
    if packed.is_nil() {
        return Ok(NIL.to_vec());
    }
    let bytes = &memory[super::memory::slice(memory, packed.ptr, packed.len, "result")?];
    if packed.is_error {
        return Err(decode_error_value(bytes, encoding));
    }
    decode_result(bytes, encoding)
}

/// The guest's result bytes → MessagePack, checked: a guest that returns
/// malformed bytes gets a 500, never passes them on.
fn decode_result(bytes: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    match encoding {
        Encoding::MsgPack => match value::validate(bytes) {
            Ok(_) => Ok(bytes.to_vec()),
            Err(why) => Err(Error::internal(format!("guest returned invalid MessagePack: {why}"))),
        },
        Encoding::Json => value::json_text_to_msgpack(bytes).map_err(|why| Error::internal(format!("guest returned invalid JSON: {why}"))),
    }
}

/// Reads an error value `{code, message}` a guest raised. Its code is kept
/// (a code outside 100–599 becomes 500); an unreadable one is a 500.
pub fn decode_error_value(bytes: &[u8], encoding: Encoding) -> Error {
    let parsed: std::result::Result<ErrorValue, String> = match encoding {
        Encoding::MsgPack => rmp_serde::from_slice(bytes).map_err(|e| e.to_string()),
        Encoding::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(ErrorValue { code: Some(code), message }) => {
            let code = i32::try_from(code).unwrap_or(INTERNAL);
            Error::new(code, message.unwrap_or_default())
        }
        Ok(ErrorValue { code: None, message }) => {
            Error::internal(format!("guest raised an error without a code: {}", message.unwrap_or_default()))
        }
        Err(why) => Error::internal(format!("guest raised an unreadable error value: {why}")),
    }
}

/// Encodes an error as the `{code, message}` value a guest receives.
pub fn encode_error_value(error: &Error, encoding: Encoding) -> Vec<u8> {
    let value = ErrorValue { code: Some(i64::from(error.code())), message: Some(error.message().to_owned()) };
    match encoding {
        // Both encoders only fail on writer errors, which a Vec never has.
        Encoding::MsgPack => rmp_serde::to_vec_named(&value).unwrap_or_default(),
        Encoding::Json => serde_json::to_vec(&value).unwrap_or_default(),
    }
}

/// A host answer (MessagePack) in the guest's encoding, and whether it is
/// an error value: what a `yao` import writes back.
pub fn encode_answer(answer: Result<Vec<u8>>, encoding: Encoding) -> (Vec<u8>, bool) {
    match answer {
        Ok(result) => match encoding {
            Encoding::MsgPack => (result, false),
            Encoding::Json => match value::msgpack_to_json_text(&result) {
                Ok(text) => (text.into_bytes(), false),
                Err(why) => (encode_error_value(&Error::internal(format!("result: {why}")), encoding), true),
            },
        },
        Err(error) => (encode_error_value(&error, encoding), true),
    }
}

/// The args a script function receives, in its encoding, from the
/// MessagePack array the host checked.
pub fn encode_args(args: &[u8], encoding: Encoding) -> Result<std::borrow::Cow<'_, [u8]>> {
    match encoding {
        Encoding::MsgPack => Ok(std::borrow::Cow::Borrowed(args)),
        Encoding::Json => Ok(std::borrow::Cow::Owned(
            value::msgpack_to_json_text(args).map_err(|e| Error::bad_request(format!("args: {e}")))?.into_bytes(),
        )),
    }
}

/// Guest args (in the guest's encoding) → a checked MessagePack array.
pub fn decode_args(args: &[u8], encoding: Encoding) -> Result<Vec<u8>> {
    if args.is_empty() {
        return Ok(value::EMPTY_ARRAY.to_vec());
    }
    let packed = match encoding {
        Encoding::MsgPack => args.to_vec(),
        Encoding::Json => value::json_text_to_msgpack(args).map_err(|e| Error::bad_request(format!("args are not valid JSON: {e}")))?,
    };
    value::validate_args(&packed)?;
    Ok(packed)
}

/// One encoded value (guest encoding) → checked MessagePack; empty is nil.
pub fn decode_value(bytes: &[u8], encoding: Encoding, what: &str) -> Result<Vec<u8>> {
    if bytes.is_empty() {
        return Ok(NIL.to_vec());
    }
    match encoding {
        Encoding::MsgPack => match value::validate(bytes) {
            Ok(_) => Ok(bytes.to_vec()),
            Err(why) => Err(Error::bad_request(format!("{what} is not valid MessagePack: {why}"))),
        },
        Encoding::Json => value::json_text_to_msgpack(bytes).map_err(|e| Error::bad_request(format!("{what} is not valid JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing() {
        let p = Packed { ptr: 0xdead_beef, len: 12, is_error: true };
        assert_eq!(Packed::unpack(p.pack()), p);
        assert!(Packed::unpack(0).is_nil());
        let q = Packed::unpack(-1);
        assert_eq!((q.ptr, q.len, q.is_error), (u32::MAX, 0x7fff_ffff, true));
    }

    #[test]
    fn args_in_either_encoding_become_one_checked_array() {
        assert_eq!(decode_args(b"", Encoding::Json).unwrap(), value::EMPTY_ARRAY);
        assert_eq!(decode_args(b"[1]", Encoding::Json).unwrap(), [0x91, 0x01]);
        assert_eq!(decode_args(&[0x01], Encoding::MsgPack).unwrap_err().code(), 400);
        assert_eq!(decode_args(b"{}", Encoding::Json).unwrap_err().code(), 400);
    }

    #[test]
    fn error_values_keep_their_code() {
        let sent = encode_error_value(&Error::new(418, "teapot"), Encoding::Json);
        let back = decode_error_value(&sent, Encoding::Json);
        assert_eq!((back.code(), back.message()), (418, "teapot"));
    }
}
