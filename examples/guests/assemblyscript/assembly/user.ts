// The example app's user script in AssemblyScript: built to
// examples/app/scripts/assemblyscript/user.wasm, it serves
// scripts.assemblyscript.user.<Fn>. The same functions, with the same
// behaviour, exist in every guest language.
import * as yao from "@yaoapp/yaowasm-as";
import { Value, yao_alloc, yao_free } from "@yaoapp/yaowasm-as";

// The host writes arguments through these: every script module exports them.
export { yao_alloc, yao_free };

export function Check(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, check); }
export function BeforeSave(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, beforeSave); }
export function Deny(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, deny); }
export function Log(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, logAll); }
export function Echo(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, echo); }
export function Add(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, add); }
export function Nested(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nested); }

/** The first argument, nil when there is none. */
function first(args: Value[]): Value {
  return args.length > 0 ? args[0] : Value.nil();
}

/** Validates a user payload: {"valid": bool, "errors": [string]}. */
function check(args: Value[]): Value {
  const user = first(args);
  if (!user.isMap()) return yao.fail(400, "payload must be a map");
  const errors = Value.array();
  const name = user.get("name");
  if (!name.isString() || name.asString().length == 0) errors.push(Value.fromString("name is required"));
  const email = user.get("email");
  if (!email.isString() || !email.asString().includes("@")) errors.push(Value.fromString("email is invalid"));
  const age = user.get("age");
  if (!age.isNil() && (!age.isInt() || age.asInt() < 0 || age.asInt() > 150)) {
    errors.push(Value.fromString("age is out of range"));
  }
  return Value.map().set("valid", Value.fromBool(errors.length == 0)).set("errors", errors);
}

/** Loads the stored user and merges the payload over it. */
function beforeSave(args: Value[]): Value {
  const user = first(args);
  if (!user.isMap()) return yao.fail(400, "payload must be a map");
  const found = yao.process("models.user.Find", [user.get("id")]);
  if (found.isError()) return found; // keeps the process's code and message
  const merged = Value.map();
  const stored = found.keys();
  for (let k = 0; k < stored.length; k++) merged.set(stored[k], found.get(stored[k]));
  const keys = user.keys();
  for (let k = 0; k < keys.length; k++) merged.set(keys[k], user.get(keys[k]));
  return merged;
}

/** Always refuses. */
function deny(args: Value[]): Value {
  return yao.fail(403, "denied");
}

/** Writes its message once at every level. */
function logAll(args: Value[]): Value {
  const msg = first(args).asString();
  yao.log.trace(msg);
  yao.log.debug(msg);
  yao.log.info(msg);
  yao.log.warn(msg);
  yao.log.error(msg);
  return Value.nil();
}

/** Returns its arguments unchanged. */
function echo(args: Value[]): Value {
  return Value.fromArray(args);
}

/** Sums two integers. */
function add(args: Value[]): Value {
  if (args.length != 2 || !args[0].isInt() || !args[1].isInt()) return yao.fail(400, "Add expects two integers");
  return Value.fromInt(args[0].asInt() + args[1].asInt());
}

/** Runs this script's own Check through the process table. */
function nested(args: Value[]): Value {
  const verdict = yao.process("scripts.assemblyscript.user.Check", [first(args)]);
  if (verdict.isError()) return verdict;
  const valid = verdict.get("valid");
  if (!valid.isBool()) return yao.fail(500, "scripts.assemblyscript.user.Check returned no verdict");
  return valid;
}
