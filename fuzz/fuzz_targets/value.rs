//! MessagePack validation and MessagePack ⇄ JSON conversion (src/value.rs):
//! every value that crosses the host ⇄ guest boundary goes through these.
//! Beyond "no panic": what one converter writes, the validator accepts.
#![no_main]
use libfuzzer_sys::fuzz_target;
use yaowasm::value;

fuzz_target!(|data: &[u8]| {
    let valid = value::validate(data).is_ok();
    if let Err(e) = value::validate_args(data) {
        assert_eq!(e.code(), 400);
    } else {
        assert!(valid || data.is_empty(), "args accepted that validate refuses");
    }
    if let Ok(json) = value::msgpack_to_json(data) {
        assert!(valid, "converted bytes that validate refuses");
        let back = value::json_to_msgpack(&json).expect("a JSON value always encodes");
        value::validate(&back).expect("MessagePack written from JSON validates");
    }
    if let Ok(packed) = value::json_text_to_msgpack(data) {
        value::validate(&packed).expect("MessagePack written from JSON text validates");
        value::msgpack_to_json(&packed).expect("and converts back");
    }
});
