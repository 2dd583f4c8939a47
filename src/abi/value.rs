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
    let mut open = OpenContainers::default();
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
            if open.depth >= MAX_NESTING {
                return Err(format!("nested deeper than {MAX_NESTING}"));
            }
            open.push(pending);
            pending = children;
        }
    }
}

/// The stack of [`validate`]: the first levels on the stack frame, so that
/// checking a call's args or result (an array holding a map, say) does not
/// allocate; deeper ones spill to the heap.
#[derive(Default)]
struct OpenContainers {
    inline: [u64; 16],
    spilled: Vec<u64>,
    depth: usize,
}

impl OpenContainers {
    fn push(&mut self, pending: u64) {
        match self.inline.get_mut(self.depth) {
            Some(slot) => *slot = pending,
            None => self.spilled.push(pending),
        }
        self.depth += 1;
    }

    fn pop(&mut self) -> Option<u64> {
        self.depth = self.depth.checked_sub(1)?;
        match self.inline.get(self.depth) {
            Some(&pending) => Some(pending),
            None => self.spilled.pop(),
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
        // As Go holds it: a float32 (Yao's msgpack decoder keeps one), so
        // its shortest digits are float32's: 0.1f32 is 0.1, not
        // 0.10000000149011612.
        V::F32(f) => float(if f.is_finite() { f.to_string().parse().unwrap_or(f64::from(f)) } else { f64::from(f) }),
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

/// MessagePack bytes → JSON text, numbers as Go's `encoding/json` prints
/// them (SPEC §2): the JSON every Yao host answers with.
pub fn msgpack_to_json_text(bytes: &[u8]) -> Result<String, String> {
    Ok(to_json_text(&msgpack_to_json(bytes)?))
}

/// A JSON value as compact text, numbers as Go's `encoding/json` prints
/// them: a float holding a whole number has no `.0` (`15`), and a float
/// below 1e-6 or from 1e21 on is in exponent form with a sign (`1e+21`,
/// `1e-7`); everything else as serde_json writes it.
pub fn to_json_text(value: &Json) -> String {
    let mut out = String::new();
    write_json(&mut out, value);
    out
}

fn write_json(out: &mut String, value: &Json) {
    match value {
        Json::Number(n) if n.is_f64() => out.push_str(&go_float(n.as_f64().unwrap_or(0.0))),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Json::String(k.clone()).to_string());
                out.push(':');
                write_json(out, v);
            }
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Go's `strconv.AppendFloat(f, 'f' or 'e', -1, 64)` as `encoding/json`
/// calls it (`e` below 1e-6 and from 1e21 on, `e-07` shortened to `e-7`).
/// Rust's `{}` and `{:e}` print the same shortest round-trip digits.
fn go_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        match text.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => text,
        }
    } else {
        // `{}` never uses an exponent; -0.0 prints as "-0", as Go.
        format!("{f}")
    }
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
        // [[[…, 1], 1], 1] 40 deep: a value follows every inner array, so
        // each level's count must come back right across the first 16
        // (kept inline) and the rest (spilled).
        let mut nested = vec![0xc0u8];
        for _ in 0..40 {
            nested = [vec![0x92], nested, vec![0x01]].concat();
        }
        assert!(validate(&nested).is_ok());
        assert!(validate(&nested[..nested.len() - 1]).is_err(), "the outermost second value cut");
        let mut one_short = nested.clone();
        one_short.remove(nested.len() / 2 + 1);
        assert!(validate(&one_short).is_err(), "a value missing in the middle");
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

    /// Go's `json.Marshal` of each float64 (by its bits) and float32, as
    /// printed by go1 on this machine.
    #[test]
    fn floats_print_as_go_prints_them() {
        let f64s: &[(u64, &str)] = &[
            (4624633867356078080, "15"),
            (13848005904210853888, "-15"),
            (0, "0"),
            (9223372036854775808, "-0"),
            (4609434218613702656, "1.5"),
            (4591870180066957722, "0.1"),
            (4906019910204099648, "100000000000000000000"),
            (4921056587992461136, "1e+21"),
            (4923652838987019132, "1.5e+21"),
            (4952310988906995821, "1.2345678901234569e+23"),
            (4517329193108106637, "0.000001"),
            (4502148214488346440, "1e-7"),
            (4503818394225995149, "1.25e-7"),
            (1, "5e-324"),
            (9218868437227405311, "1.7976931348623157e+308"),
            (13680665593942359483, "-1e-10"),
            (4845873199050653696, "9007199254740992"),
            (4831355200913801216, "1000000000000000"),
            (4846369599423283200, "10000000000000000"),
            (4638387860618067575, "123.456"),
            (4537999922764202797, "0.000025"),
            (4751297606876397568, "4294967296.5"),
            (6103021453049119613, "1e+100"),
            (18324545775884866307, "-2.5e+300"),
            (4518434226865098134, "0.000001234"),
        ];
        for &(bits, go) in f64s {
            let mut buf = Vec::new();
            rmp::encode::write_f64(&mut buf, f64::from_bits(bits)).unwrap();
            assert_eq!(msgpack_to_json_text(&buf).unwrap(), go, "f64 {}", f64::from_bits(bits));
        }
        let f32s: &[(u32, &str)] = &[
            (1097859072, "15"),
            (1036831949, "0.1"),
            (1069547520, "1.5"),
            (2139095039, "3.4028235e+38"),
            (1649989415, "1e+21"),
            (869711765, "1e-7"),
            (1266679808, "16777216"),
            (1050253722, "0.3"),
        ];
        for &(bits, go) in f32s {
            let mut buf = Vec::new();
            rmp::encode::write_f32(&mut buf, f32::from_bits(bits)).unwrap();
            assert_eq!(msgpack_to_json_text(&buf).unwrap(), go, "f32 {}", f32::from_bits(bits));
        }
        // Inside containers too; integers, strings and keys untouched.
        let v = json!({"b": [15.0, 2, "x\"y", null], "a": {"n": -0.0, "t": true}, "big": u64::MAX});
        assert_eq!(to_json_text(&v), r#"{"a":{"n":-0,"t":true},"b":[15,2,"x\"y",null],"big":18446744073709551615}"#);
        assert_eq!(msgpack_to_json_text(&mp(&v)).unwrap(), to_json_text(&v));
    }

    #[test]
    fn round_trips_json() {
        let v = json!({"id": 1, "tags": ["a", "b"], "ok": false, "n": null, "big": -9007199254740993i64});
        assert_eq!(msgpack_to_json(&json_text_to_msgpack(v.to_string().as_bytes()).unwrap()).unwrap(), v);
    }
}
