//! Entry points for the fuzz targets (`fuzz/`, RELIABILITY.md): the decoders
//! that read bytes a guest or a host controls, exactly as the runtime calls
//! them. Not part of the API.

use crate::abi::wire::{self, Encoding};
use crate::error::Result;

fn encoding(json: bool) -> Encoding {
    if json {
        Encoding::Json
    } else {
        Encoding::MsgPack
    }
}

/// A script function's packed result `raw` against the guest memory
/// `memory`: what `exec` answers for it.
pub fn decode_packed(memory: &[u8], raw: i64, json: bool) -> Result<Vec<u8>> {
    wire::decode_packed(memory, raw, encoding(json))
}

/// The error value a guest raised, as `exec` reports it.
pub fn decode_error_value(bytes: &[u8], json: bool) -> crate::Error {
    wire::decode_error_value(bytes, encoding(json))
}
