// A script module that uses the SDK the way a user does, compiled by the
// tests and driven from Node.js (sdk.test.mjs) through a stand-in host.
import * as yao from "../index";
import { Value, yao_alloc, yao_free } from "../index";

export { yao_alloc, yao_free };

export function Echo(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, echo); }
export function Build(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, build); }
export function Describe(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, describe); }
export function Fail(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, failing); }
export function NestedError(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nestedError); }
export function Call(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, call); }
export function Logs(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, logs); }
export function Nothing(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nothing); }
export function Roundtrip(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, roundtrip); }

function echo(args: Value[]): Value { return Value.fromArray(args); }

function ints(): Value {
  const out = Value.array();
  const xs: i64[] = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, i64.MAX_VALUE,
    -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, i64.MIN_VALUE];
  for (let k = 0; k < xs.length; k++) out.push(Value.fromInt(xs[k]));
  return out;
}

/** Every kind, built with the constructors; the test compares the bytes. */
function build(args: Value[]): Value {
  const bytes = new Uint8Array(3);
  bytes[0] = 1; bytes[1] = 2; bytes[2] = 255;
  return Value.map()
    .set("ints", ints())
    .set("floats", Value.fromArray([Value.fromFloat(3.0), Value.fromFloat(-0.5), Value.fromFloat(1e300)]))
    .set("nil", Value.nil())
    .set("t", Value.fromBool(true))
    .set("f", Value.fromBool(false))
    .set("s", Value.fromString("héllo ✓ 😀"))
    .set("s31", Value.fromString("x".repeat(31)))
    .set("s32", Value.fromString("x".repeat(32)))
    .set("s256", Value.fromString("x".repeat(256)))
    .set("s65536", Value.fromString("x".repeat(65536)))
    .set("bytes", Value.fromBytes(bytes))
    .set("a16", Value.from<i32[]>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]))
    .set("from", Value.from<string[]>(["a", "b"]))
    .set("fromScalars", Value.fromArray([Value.from<bool>(true), Value.from<u8>(200), Value.from<f64>(0.25), Value.from<string>("z")]))
    .set("m16", map16())
    .set("empty", Value.fromArray([Value.array(), Value.map()]));
}

function map16(): Value {
  const m = Value.map();
  for (let k = 0; k < 16; k++) m.set("k" + k.toString(), Value.fromInt(k));
  return m;
}

/** What the accessors say about each argument. */
function describe(args: Value[]): Value {
  const out = Value.array();
  for (let k = 0; k < args.length; k++) {
    const v = args[k];
    out.push(Value.map()
      .set("kind", Value.fromString(v.kindName()))
      .set("bool", Value.fromBool(v.asBool()))
      .set("int", Value.fromInt(v.asInt()))
      .set("float", Value.fromFloat(v.asFloat()))
      .set("string", Value.fromString(v.asString()))
      .set("length", Value.fromInt(v.length))
      .set("keys", Value.from<string[]>(v.keys()))
      .set("first", v.at(0))
      .set("a", v.get("a"))
      .set("hasA", Value.fromBool(v.has("a"))));
  }
  return out;
}

function failing(args: Value[]): Value {
  return yao.fail(<i32>args[0].asInt(), args[1].asString());
}

function nestedError(args: Value[]): Value {
  return Value.array().push(Value.fromInt(1)).push(yao.fail(409, "inner"));
}

/** Call(name, ...args): runs a process and returns what it answers. */
function call(args: Value[]): Value {
  return yao.process(args[0].asString(), args.slice(1));
}

function logs(args: Value[]): Value {
  const msg = args[0].asString();
  yao.log.trace(msg);
  yao.log.debug(msg);
  yao.log.info(msg);
  yao.log.warn(msg);
  yao.log.error(msg);
  return Value.nil();
}

function nothing(args: Value[]): Value { return Value.nil(); }

/** Encodes its arguments with the SDK's codec and decodes them again. */
function roundtrip(args: Value[]): Value {
  const bytes = yao.encode(Value.fromArray(args));
  const back = yao.decode(bytes);
  if (!back.ok) return yao.fail(500, back.error as string);
  return back.value;
}
