//! Yao values on the wire: MessagePack checks and MessagePack ⇄ JSON.
//!
//! The hot path only *validates* MessagePack (no allocation unless containers
//! nest); conversion happens only for JSON guests and the JSON entry points.

use crate::error::{Error, Result};
use base64::Engine as _;
use rmp::Marker;
use serde_json::Value as Json;

/// Deeper nesting than this is refused: conversions recurse, and no Yao value
/// needs more.
pub const MAX_NESTING: usize = 256;

/// The MessagePack encoding of an empty array: the args of a call without any.
pub const EMPTY_ARRAY: &[u8] = &[0x90];

/// Checks that `bytes` is exactly one well-formed MessagePack value made only
/// of Yao values (no ext types, strings in UTF-8), and returns its first
/// marker.
pub fn validate(bytes: &[u8]) -> Result<Marker, String> {
    let mut rest = bytes;
    let first = *rest.first().ok_or("empty input")?;
    // Containers still to close: how many values each one still holds.
    let mut open: Vec<u64> = Vec::new();
    let mut pending: u64 = 1;
    loop {
        while pending == 0 {
            match open.pop() {
                Some(n) => pending = n,
                None => {
                    return if rest.is_empty() {
                        Ok(Marker::from_u8(first))
                    } else {
                        Err(format!("{} trailing bytes after the value", rest.len()))
                    };
                }
            }
        }
        pending -= 1;
        let (&byte, tail) = rest.split_first().ok_or("truncated value")?;
        rest = tail;
        let marker = Marker::from_u8(byte);
        let (skip, children): (u64, u64) = match marker {
            Marker::FixPos(_) | Marker::FixNeg(_) | Marker::Null | Marker::True | Marker::False => (0, 0),
            Marker::U8 | Marker::I8 => (1, 0),
            Marker::U16 | Marker::I16 => (2, 0),
            Marker::U32 | Marker::I32 | Marker::F32 => (4, 0),
            Marker::U64 | Marker::I64 | Marker::F64 => (8, 0),
            Marker::FixStr(n) => (u64::from(n), 0),
            Marker::Str8 | Marker::Bin8 => (read_len(&mut rest, 1)?, 0),
            Marker::Str16 | Marker::Bin16 => (read_len(&mut rest, 2)?, 0),
            Marker::Str32 | Marker::Bin32 => (read_len(&mut rest, 4)?, 0),
            Marker::FixArray(n) => (0, u64::from(n)),
            Marker::Array16 => (0, read_len(&mut rest, 2)?),
            Marker::Array32 => (0, read_len(&mut rest, 4)?),
            Marker::FixMap(n) => (0, 2 * u64::from(n)),
            Marker::Map16 => (0, 2 * read_len(&mut rest, 2)?),
            Marker::Map32 => (0, 2 * read_len(&mut rest, 4)?),
            Marker::Reserved => return Err("reserved byte 0xc1".into()),
            _ => return Err("MessagePack ext values are not Yao values".into()),
        };
        if skip > rest.len() as u64 {
            return Err("truncated value".into());
        }
        let (body, tail) = rest.split_at(skip as usize);
        // Yao strings are text: a host in Go, Python or JS decodes them as
        // such, and would fail (or silently mangle them) later.
        if matches!(marker, Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32) && std::str::from_utf8(body).is_err() {
            return Err("a string is not UTF-8 (bytes belong in bin)".into());
        }
        rest = tail;
        if children > 0 {
            // Every value takes at least one byte: a count larger than what is
            // left is a lie, refused before it can drive a long loop.
            if children > rest.len() as u64 {
                return Err("container claims more values than bytes left".into());
            }
            if open.len() >= MAX_NESTING {
                return Err(format!("nested deeper than {MAX_NESTING}"));
            }
            open.push(pending);
            pending = children;
        }
    }
}

fn read_len(rest: &mut &[u8], width: usize) -> Result<u64, String> {
    if rest.len() < width {
        return Err("truncated length".into());
    }
    let (head, tail) = rest.split_at(width);
    *rest = tail;
    Ok(head.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Validates process args: one MessagePack array. Empty input means `[]`.
pub fn validate_args(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    match validate(bytes) {
        Ok(Marker::FixArray(_) | Marker::Array16 | Marker::Array32) => Ok(()),
        Ok(_) => Err(Error::bad_request("args must be a MessagePack array of values")),
        Err(why) => Err(Error::bad_request(format!("args are not valid MessagePack: {why}"))),
    }
}

/// MessagePack → JSON value. Bytes become base64 strings; non-string map keys
/// are written as strings.
pub fn msgpack_to_json(bytes: &[u8]) -> Result<Json, String> {
    validate(bytes)?;
    let value = rmpv::decode::read_value(&mut &bytes[..]).map_err(|e| e.to_string())?;
    rmpv_to_json(value)
}

fn rmpv_to_json(value: rmpv::Value) -> Result<Json, String> {
    use rmpv::Value as V;
    Ok(match value {
        V::Nil => Json::Null,
        V::Boolean(b) => Json::Bool(b),
        V::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => Json::from(n),
            (_, Some(n)) => Json::from(n),
            _ => return Err("integer out of range".into()),
        },
        V::F32(f) => float(f64::from(f)),
        V::F64(f) => float(f),
        V::String(s) => Json::String(s.into_str().ok_or("string is not UTF-8")?),
        V::Binary(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        V::Array(items) => Json::Array(items.into_iter().map(rmpv_to_json).collect::<Result<_, _>>()?),
        V::Map(pairs) => {
            let mut map = serde_json::Map::with_capacity(pairs.len());
            for (k, v) in pairs {
                let key = match k {
                    V::String(s) => s.into_str().ok_or("map key is not UTF-8")?,
                    other => match rmpv_to_json(other)? {
                        Json::String(s) => s,
                        j => j.to_string(),
                    },
                };
                map.insert(key, rmpv_to_json(v)?);
            }
            Json::Object(map)
        }
        V::Ext(..) => return Err("MessagePack ext values are not Yao values".into()),
    })
}

/// JSON has no NaN or infinity; they become null as in most JSON encoders.
fn float(f: f64) -> Json {
    serde_json::Number::from_f64(f).map(Json::Number).unwrap_or(Json::Null)
}

/// JSON value → MessagePack bytes.
pub fn json_to_msgpack(value: &Json) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec(value).map_err(|e| e.to_string())
}

/// JSON text → MessagePack bytes (serde_json refuses nesting past 128).
pub fn json_text_to_msgpack(text: &[u8]) -> Result<Vec<u8>, String> {
    let value: Json = serde_json::from_slice(text).map_err(|e| e.to_string())?;
    json_to_msgpack(&value)
}

/// MessagePack bytes → JSON text.
pub fn msgpack_to_json_text(bytes: &[u8]) -> Result<String, String> {
    Ok(msgpack_to_json(bytes)?.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mp(v: &Json) -> Vec<u8> {
        json_to_msgpack(v).unwrap()
    }

    #[test]
    fn validates_well_formed_values() {
        let v = json!([1, -3, 2.5, "s", null, true, {"a": [1, {"b": "c"}]}, u64::MAX]);
        assert!(matches!(validate(&mp(&v)), Ok(Marker::FixArray(8))));
        validate_args(&mp(&v)).unwrap();
        validate_args(&[]).unwrap();
    }

    #[test]
    fn refuses_bad_values() {
        assert!(validate(&[]).is_err());
        assert!(validate(&[0x92, 0x01]).is_err(), "truncated array");
        assert!(validate(&[0x01, 0x02]).is_err(), "trailing bytes");
        assert!(validate(&[0xc1]).is_err(), "reserved");
        assert!(validate(&[0xd4, 0x01, 0x02]).is_err(), "ext");
        assert!(validate(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err(), "huge array count");
        assert!(validate(&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']).is_err(), "huge string");
        assert!(validate(&[0xa2, 0xff, 0xfe]).is_err(), "fixstr not UTF-8");
        assert!(validate(&[0x81, 0xd9, 0x01, 0xc3, 0x01]).is_err(), "str8 map key cut inside a character");
        assert!(validate(&[0xc4, 0x02, 0xff, 0xfe]).is_ok(), "the same bytes as bin");
        assert!(validate(&[0xa3, 0xe2, 0x82, 0xac]).is_ok(), "a 3-byte character");
        let deep = vec![0x91u8; MAX_NESTING + 2];
        assert!(validate(&deep).is_err(), "too deep");
        assert_eq!(validate_args(&mp(&json!({"a": 1}))).unwrap_err().code(), 400);
        assert_eq!(validate_args(&[0x93, 0x01]).unwrap_err().code(), 400);
    }

    #[test]
    fn converts_to_json_like_go() {
        let mut buf = Vec::new();
        rmp::encode::write_map_len(&mut buf, 2).unwrap();
        rmp::encode::write_uint(&mut buf, 7).unwrap();
        rmp::encode::write_bin(&mut buf, b"hi").unwrap();
        rmp::encode::write_str(&mut buf, "k").unwrap();
        rmp::encode::write_f64(&mut buf, 1.5).unwrap();
        assert_eq!(msgpack_to_json(&buf).unwrap(), json!({"7": "aGk=", "k": 1.5}));
    }

    #[test]
    fn round_trips_json() {
        let v = json!({"id": 1, "tags": ["a", "b"], "ok": false, "n": null, "big": -9007199254740993i64});
        assert_eq!(msgpack_to_json(&json_text_to_msgpack(v.to_string().as_bytes()).unwrap()).unwrap(), v);
    }
}
