//! The example app's `user` script, as every SDK writes it (see
//! tests/conformance/cases.json for the exact behaviour).

use serde::Serialize;
use yao_guest::{export, log, process, Error, Value, Variadic};

/// What `Check` answers.
#[derive(Serialize)]
struct Verdict {
    valid: bool,
    errors: Vec<String>,
}

/// Validates a user payload; rules apply in order and every broken one is
/// reported.
fn check(payload: Value) -> Result<Verdict, Error> {
    let Value::Map(fields) = &payload else {
        return Err(Error::bad_request("payload must be a map"));
    };
    let field = |key: &str| fields.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v);
    let mut errors = Vec::new();
    if !matches!(field("name").and_then(Value::as_str), Some(name) if !name.is_empty()) {
        errors.push("name is required".to_owned());
    }
    if !matches!(field("email").and_then(Value::as_str), Some(email) if email.contains('@')) {
        errors.push("email is invalid".to_owned());
    }
    match field("age") {
        None | Some(Value::Nil) => {}
        Some(Value::Integer(age)) if age.as_u64().is_some_and(|age| age <= 150) => {}
        Some(_) => errors.push("age is out of range".to_owned()),
    }
    Ok(Verdict { valid: errors.is_empty(), errors })
}

/// Loads the stored user and lays the payload over it (payload wins).
fn before_save(payload: Value) -> Result<Value, Error> {
    let Value::Map(changes) = payload else {
        return Err(Error::bad_request("payload must be a map"));
    };
    let id = changes.iter().find(|(k, _)| k.as_str() == Some("id")).map_or(Value::Nil, |(_, v)| v.clone());
    let found: Value = process("models.user.Find", (id,))?;
    let Value::Map(mut merged) = found else {
        return Err(Error::internal("models.user.Find did not return a map"));
    };
    for (key, value) in changes {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    Ok(Value::Map(merged))
}

fn deny() -> Result<(), Error> {
    Err(Error::forbidden("denied"))
}

/// Logs `msg` once at every level.
fn log_all(msg: String) -> Result<(), Error> {
    log::trace(&msg);
    log::debug(&msg);
    log::info(&msg);
    log::warn(&msg);
    log::error(&msg);
    Ok(())
}

fn echo(args: Variadic<Vec<Value>>) -> Result<Vec<Value>, Error> {
    Ok(args.0)
}

fn add(a: Value, b: Value) -> Result<i64, Error> {
    let bad = || Error::bad_request("Add expects two integers");
    let (a, b) = (a.as_i64().ok_or_else(bad)?, b.as_i64().ok_or_else(bad)?);
    a.checked_add(b).ok_or_else(bad)
}

/// Runs this language's own Check through the runtime.
fn nested(payload: Value) -> Result<bool, Error> {
    #[derive(serde::Deserialize)]
    struct Answer {
        valid: bool,
    }
    let answer: Answer = process("scripts.rust.user.Check", (payload,))?;
    Ok(answer.valid)
}

export!(
    Check => check,
    BeforeSave => before_save,
    Deny => deny,
    Log => log_all,
    Echo => echo,
    Add => add,
    Nested => nested,
);
