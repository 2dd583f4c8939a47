//! A script function's packed result against guest memory (src/call.rs,
//! src/bridge.rs): pointer and length checks, the error bit, the error
//! value decoder and the result validator, as `exec` runs them.
//!
//! Input: 8 bytes of packed i64 (little-endian), 1 flag byte (bit 0: JSON
//! guest; bit 1: fold ptr/len into the memory, so most inputs reach the
//! decoders; bit 2: the error bit), then the guest's memory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use yaowasm::{fuzzing, value};

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let mut raw = i64::from_le_bytes(data[..8].try_into().unwrap());
    let flags = data[8];
    let json = flags & 1 != 0;
    let memory = &data[9..];
    if flags & 2 != 0 {
        let size = memory.len() as u64;
        let ptr = (raw as u64 >> 32) % (size + 1);
        let len = (raw as u64 & 0x7fff_ffff) % (size - ptr + 1);
        let error = if flags & 4 != 0 { 1 << 31 } else { 0 };
        raw = ((ptr << 32) | len | error) as i64;
    }
    match fuzzing::decode_packed(memory, raw, json) {
        Ok(bytes) => {
            value::validate(&bytes).expect("exec answers one valid MessagePack value");
        }
        Err(e) => assert!((100..=599).contains(&e.code()), "code {}", e.code()),
    }
    let e = fuzzing::decode_error_value(memory, json);
    assert!((100..=599).contains(&e.code()), "code {}", e.code());
});
