// The script-facing API: handle() behind each exported script function,
// process() to call Yao processes, fail() to raise errors, log.* to log.

import * as env from "./env";
import { ERROR_BIT, unpack, Utf8 } from "./hostcall";
import { decodeRaw, encode, encodeArray, encodeResult } from "./msgpack";
import { Value } from "./value";

/** A script function: the call's arguments in, a value (or an error value
 *  from fail()) out. */
export type ScriptFunction = (args: Value[]) => Value;

// The previous result stays referenced (so the collector leaves it alone)
// until the host has read it, that is until the next call starts.
let lastResult: Uint8Array | null = null;

function pack(bytes: Uint8Array, isError: bool): i64 {
  if (bytes.length == 0) return 0;
  lastResult = bytes;
  const len = <u64>bytes.length | (isError ? <u64>ERROR_BIT : 0);
  return <i64>((<u64>bytes.dataStart << 32) | len);
}

/**
 * Runs `fn` as a script function: decodes the arguments the host wrote at
 * (ptr, len), calls fn and returns its result packed for the host. Export one
 * small function per script function from your entry file:
 *
 *     export function Check(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, check); }
 *
 * Arguments that are not a MessagePack array are a 400 for the caller; an
 * error value returned by fn (see fail) is raised with its code.
 */
export function handle(ptr: i32, len: i32, fn: ScriptFunction): i64 {
  lastResult = null;
  let args: Value[];
  if (len <= 0) {
    args = [];
  } else {
    const decoded = decodeRaw(<usize>ptr, len);
    heap.free(<usize>ptr); // the host's buffer from yao_alloc: read, so ours to free
    if (!decoded.ok) return pack(encode(fail(400, "bad arguments: " + (decoded.error as string))), true);
    if (!decoded.value.isArray() && !decoded.value.isNil()) {
      return pack(encode(fail(400, "bad arguments: an array was expected, got " + decoded.value.kindName())), true);
    }
    args = decoded.value.asArray();
  }
  const result = fn(args);
  if (result.isNil()) return 0;
  const out = encodeResult(result);
  return pack(out.bytes, out.isError);
}

/**
 * An error value with a Yao code (400 bad input, 403 forbidden, 404 not
 * found, 500 internal, ...). Return it from a script function to raise it:
 *
 *     if (!payload.isMap()) return yao.fail(400, "payload must be a map");
 */
export function fail(code: i32, message: string): Value {
  return Value.error(code, message);
}

/**
 * Calls the Yao process `name` with `args` and returns its result, or an
 * error value (check isError()) carrying the process's code and message:
 *
 *     const user = yao.process("models.user.Find", [id]);
 *     if (user.isError()) return user; // passes the failure on
 */
export function process(name: string, args: Value[] = []): Value {
  const nameBytes = new Utf8(name);
  const argBytes = encodeArray(args);
  return unpack(env.process(nameBytes.ptr, nameBytes.len, argBytes.dataStart, argBytes.length), name);
}

function write(level: i32, message: string): void {
  const bytes = new Utf8(message);
  env.log(level, bytes.ptr, bytes.len);
}

/** Yao's log: `yao.log.info("saved " + id.toString())`. */
export namespace log {
  export function trace(message: string): void { write(0, message); }
  export function debug(message: string): void { write(1, message); }
  export function info(message: string): void { write(2, message); }
  export function warn(message: string): void { write(3, message); }
  export function error(message: string): void { write(4, message); }
}
