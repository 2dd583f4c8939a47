//! Arguments and results of the host API methods (docs/ABI.md §5–§8): the
//! MessagePack args array as positional values, checked one by one, and
//! results encoded back to MessagePack.

use crate::error::{Error, Result};
use rmpv::Value;

/// The longest ttl a store takes, in seconds (about 317 years): the same
/// cap for `Set`/`GetSet` and `store_set`, so every backend answers alike
/// (Redis refuses an expiry past `i64::MAX` milliseconds from now).
pub const MAX_TTL_SECONDS: u64 = 10_000_000_000;

/// `store_set`'s integer ttl: 0 or less is no expiry, past
/// [`MAX_TTL_SECONDS`] a 400 (the cap `Set` applies to its ttl argument).
pub fn ttl_of_seconds(ttl_seconds: i64) -> Result<Option<std::time::Duration>> {
    if ttl_seconds > MAX_TTL_SECONDS as i64 {
        return Err(Error::bad_request(format!("store_set: ttl_seconds must be at most {MAX_TTL_SECONDS}, got {ttl_seconds}")));
    }
    Ok((ttl_seconds > 0).then(|| std::time::Duration::from_secs(ttl_seconds as u64)))
}

/// The positional args of one method call, for error messages that name the
/// method and the position.
pub struct Args {
    what: String,
    values: Vec<Value>,
}

impl Args {
    /// Decodes a checked MessagePack args array (empty bytes mean `[]`).
    pub fn decode(what: impl Into<String>, msgpack: &[u8]) -> Result<Args> {
        let what = what.into();
        if msgpack.is_empty() {
            return Ok(Args { what, values: Vec::new() });
        }
        match rmpv::decode::read_value(&mut &msgpack[..]) {
            Ok(Value::Array(values)) => Ok(Args { what, values }),
            Ok(_) => Err(Error::bad_request(format!("{what}: args must be an array"))),
            Err(e) => Err(Error::bad_request(format!("{what}: args are not valid MessagePack: {e}"))),
        }
    }

    /// Refuses more than `max` args.
    pub fn at_most(&self, max: usize) -> Result<()> {
        if self.values.len() > max {
            return Err(Error::bad_request(format!("{}: takes at most {max} args, got {}", self.what, self.values.len())));
        }
        Ok(())
    }

    /// The value at `i`; nil when left out.
    pub fn get(&self, i: usize) -> &Value {
        static NIL: Value = Value::Nil;
        self.values.get(i).unwrap_or(&NIL)
    }

    pub fn bad(&self, i: usize, expected: &str) -> Error {
        Error::bad_request(format!("{}: arg {} must be {expected}", self.what, i + 1))
    }

    /// A required string.
    pub fn string(&self, i: usize, name: &str) -> Result<&str> {
        self.get(i).as_str().ok_or_else(|| self.bad(i, &format!("the {name} (a string)")))
    }

    /// An optional bool (nil or absent: false).
    pub fn flag(&self, i: usize, name: &str) -> Result<bool> {
        match self.get(i) {
            Value::Nil => Ok(false),
            Value::Boolean(b) => Ok(*b),
            _ => Err(self.bad(i, &format!("{name} (a bool) or nil"))),
        }
    }

    /// An optional non-negative integer.
    pub fn opt_u64(&self, i: usize, name: &str) -> Result<Option<u64>> {
        match self.get(i) {
            Value::Nil => Ok(None),
            Value::Integer(n) => n.as_u64().map(Some).ok_or_else(|| self.bad(i, &format!("{name} (a non-negative integer)"))),
            _ => Err(self.bad(i, &format!("{name} (an integer) or nil"))),
        }
    }

    /// An optional number of seconds (integer or float, ≥ 0); 0 means None.
    pub fn opt_seconds(&self, i: usize, name: &str) -> Result<Option<std::time::Duration>> {
        let seconds = match self.get(i) {
            Value::Nil => return Ok(None),
            Value::Integer(n) => n.as_f64().unwrap_or(-1.0),
            Value::F32(f) => f64::from(*f),
            Value::F64(f) => *f,
            _ => return Err(self.bad(i, &format!("{name} in seconds (a number) or nil"))),
        };
        if !seconds.is_finite() || seconds < 0.0 || seconds > MAX_TTL_SECONDS as f64 {
            return Err(self.bad(i, &format!("{name} in seconds, 0 to {MAX_TTL_SECONDS}")));
        }
        Ok(if seconds == 0.0 { None } else { Some(std::time::Duration::from_secs_f64(seconds)) })
    }

    /// A required integer; a float with no fraction counts (JS numbers).
    pub fn int(&self, i: usize, name: &str) -> Result<i64> {
        match self.get(i) {
            Value::Integer(n) => Ok(n.as_i64().unwrap_or(i64::MAX)),
            Value::F64(f) if f.is_finite() && f.fract() == 0.0 => Ok(f.clamp(i64::MIN as f64, i64::MAX as f64) as i64),
            Value::F32(f) if f.is_finite() && f.fract() == 0.0 => Ok(f64::from(*f) as i64),
            _ => Err(self.bad(i, &format!("the {name} (an integer)"))),
        }
    }

    /// How many args there are.
    pub fn count(&self) -> usize {
        self.values.len()
    }

    /// Takes the args from `i` on out.
    pub fn take_rest(&mut self, i: usize) -> Vec<Value> {
        if i >= self.values.len() {
            return Vec::new();
        }
        self.values.split_off(i)
    }

    /// Takes the value at `i` out (nil when absent).
    pub fn take(&mut self, i: usize) -> Value {
        self.values.get_mut(i).map(|v| std::mem::replace(v, Value::Nil)).unwrap_or(Value::Nil)
    }
}

/// The methods a `yao.query` call may name (gou's share.DSL): `Run` lets
/// the DSL choose (page → Paginate, first → First, else Get).
pub const QUERY_METHODS: [&str; 4] = ["Run", "Get", "First", "Paginate"];

/// Checks a `yao.query` args array, `[dsl, bindings?, engine?, method?]`,
/// so every host sees the same shape and a bad call is a 400 here rather
/// than whatever the host's QueryDSL makes of it.
pub fn check_query(msgpack: &[u8]) -> Result<()> {
    let args = Args::decode("query", msgpack)?;
    args.at_most(4)?;
    match args.get(0) {
        Value::Map(_) | Value::String(_) => {}
        _ => return Err(args.bad(0, "the QueryDSL (a map, or its JSON text)")),
    }
    if !matches!(args.get(1), Value::Nil | Value::Map(_)) {
        return Err(args.bad(1, "the bindings (a map) or nil"));
    }
    match args.get(2) {
        Value::Nil => {}
        Value::String(s) if s.as_str().is_some_and(|s| !s.is_empty()) => {}
        _ => return Err(args.bad(2, "the engine name (a non-empty string) or nil")),
    }
    match args.get(3) {
        Value::Nil => {}
        Value::String(s) if s.as_str().is_some_and(|m| QUERY_METHODS.contains(&m)) => {}
        _ => return Err(args.bad(3, &format!("the method ({}) or nil", QUERY_METHODS.join(", ")))),
    }
    Ok(())
}

/// Encodes a result value as MessagePack.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec never fails.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// MessagePack nil, the result of methods that answer nothing.
pub const NIL: &[u8] = &[0xc0];

/// Encodes one string as a MessagePack args array `[s]`.
pub fn one_string_array(s: &str) -> Vec<u8> {
    encode(&Value::Array(vec![Value::from(s)]))
}
