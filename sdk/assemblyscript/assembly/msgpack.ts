// A small MessagePack codec for Value (SPEC §2's wire format). Written for
// this SDK because the AssemblyScript MessagePack package on npm
// (@wapc/as-msgpack 0.1.15) no longer compiles with AssemblyScript 0.28.
//
// Neither direction aborts: encode cannot fail, decode reports problems
// through DecodeResult.

import { Kind, Value } from "./value";

// ---- encoding

/** A growable byte buffer. */
class Writer {
  buf: Uint8Array = new Uint8Array(64);
  pos: i32 = 0;
  /** Set when an error value is found nested inside the value. */
  nestedError: Value | null = null;

  private reserve(n: i32): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length << 1;
    while (size < this.pos + n) size <<= 1;
    const grown = new Uint8Array(size);
    grown.set(this.buf);
    this.buf = grown;
  }
  u8(v: u32): void {
    this.reserve(1);
    this.buf[this.pos++] = <u8>v;
  }
  u16(v: u32): void {
    this.reserve(2);
    store<u16>(this.buf.dataStart + this.pos, bswap<u16>(<u16>v));
    this.pos += 2;
  }
  u32(v: u32): void {
    this.reserve(4);
    store<u32>(this.buf.dataStart + this.pos, bswap<u32>(v));
    this.pos += 4;
  }
  u64(v: u64): void {
    this.reserve(8);
    store<u64>(this.buf.dataStart + this.pos, bswap<u64>(v));
    this.pos += 8;
  }
  raw(src: usize, n: i32): void {
    this.reserve(n);
    memory.copy(this.buf.dataStart + this.pos, src, n);
    this.pos += n;
  }
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function writeInt(w: Writer, n: i64): void {
  if (n >= 0) {
    if (n < 128) w.u8(<u32>n);
    else if (n <= 0xff) { w.u8(0xcc); w.u8(<u32>n); }
    else if (n <= 0xffff) { w.u8(0xcd); w.u16(<u32>n); }
    else if (n <= 0xffffffff) { w.u8(0xce); w.u32(<u32>n); }
    else { w.u8(0xcf); w.u64(<u64>n); }
  } else {
    if (n >= -32) w.u8(<u32>(<i32>n & 0xff));
    else if (n >= -128) { w.u8(0xd0); w.u8(<u32>(<i32>n & 0xff)); }
    else if (n >= -32768) { w.u8(0xd1); w.u16(<u32>(<i32>n & 0xffff)); }
    else if (n >= -2147483648) { w.u8(0xd2); w.u32(<u32><i32>n); }
    else { w.u8(0xd3); w.u64(<u64>n); }
  }
}

function writeHeader(w: Writer, n: i32, fix: u32, fixMax: i32, c16: u32, c32: u32, c8: u32 = 0): void {
  if (n <= fixMax && fix != 0) w.u8(fix | <u32>n);
  else if (c8 != 0 && n <= 0xff) { w.u8(c8); w.u8(<u32>n); }
  else if (n <= 0xffff) { w.u8(c16); w.u16(<u32>n); }
  else { w.u8(c32); w.u32(<u32>n); }
}

function writeString(w: Writer, s: string): void {
  const utf8 = String.UTF8.encode(s);
  const n = utf8.byteLength;
  writeHeader(w, n, 0xa0, 31, 0xda, 0xdb, 0xd9);
  w.raw(changetype<usize>(utf8), n);
}

function writeValue(w: Writer, v: Value): void {
  switch (v.kind) {
    case Kind.Nil: w.u8(0xc0); break;
    case Kind.Bool: w.u8(v.asBool() ? 0xc3 : 0xc2); break;
    case Kind.Int: writeInt(w, v.asInt()); break;
    case Kind.Float: w.u8(0xcb); w.u64(reinterpret<u64>(v.asFloat())); break;
    case Kind.String: writeString(w, v.asString()); break;
    case Kind.Bytes: {
      const b = v.asBytes();
      writeHeader(w, b.length, 0, 0, 0xc5, 0xc6, 0xc4);
      w.raw(b.dataStart, b.length);
      break;
    }
    case Kind.Array: {
      const items = v.asArray();
      writeHeader(w, items.length, 0x90, 15, 0xdc, 0xdd);
      for (let k = 0; k < items.length; k++) writeValue(w, items[k]);
      break;
    }
    case Kind.Map: {
      const keys = v.keys();
      const entries = v.asMap();
      writeHeader(w, keys.length, 0x80, 15, 0xde, 0xdf);
      for (let k = 0; k < keys.length; k++) {
        writeString(w, keys[k]);
        writeValue(w, entries.get(keys[k]));
      }
      break;
    }
    default: {
      // An error value is not data: remember it, write nil in its place.
      if (w.nestedError == null) w.nestedError = v;
      w.u8(0xc0);
    }
  }
}

/** Encoded bytes, and whether they are an error value {code, message}. */
export class Encoded {
  constructor(public bytes: Uint8Array, public isError: bool) {}
}

/** Encodes what a script function returned: an error value becomes the map
 *  {code, message} flagged as an error; so does a value with an error value
 *  nested inside it (a 500: only a returned error value is raised). */
export function encodeResult(v: Value): Encoded {
  const w = new Writer();
  if (!v.isError()) {
    writeValue(w, v);
    const nested = w.nestedError;
    if (nested == null) return new Encoded(w.bytes(), false);
    v = Value.error(500, "an error value (" + nested.errorCode().toString() + " " + nested.errorMessage() +
      ") is nested inside the result; return it on its own to raise it");
    w.pos = 0;
  }
  writeValue(w, Value.map().set("code", Value.fromInt(v.errorCode())).set("message", Value.fromString(v.errorMessage())));
  return new Encoded(w.bytes(), true);
}

/** Encodes a value as MessagePack (an error value as its {code, message} map). */
export function encode(v: Value): Uint8Array {
  return encodeResult(v).bytes;
}

/** Encodes an array of values (process arguments). */
export function encodeArray(items: Value[]): Uint8Array {
  return encode(Value.fromArray(items));
}

// ---- decoding

/** What decode() gives: a value, or an error describing bad input. */
export class DecodeResult {
  constructor(public value: Value, public error: string | null) {}
  get ok(): bool { return this.error == null; }
}

/** Deeper nesting than this is refused rather than risking the stack. */
const MAX_DEPTH: i32 = 512;

class Reader {
  error: string | null = null;
  constructor(public ptr: usize, public end: usize) {}

  fail(why: string): Value {
    if (this.error == null) this.error = why;
    return Value.nil();
  }
  need(n: usize): bool {
    if (this.error != null) return false;
    if (this.end - this.ptr < n) {
      this.fail("truncated MessagePack");
      return false;
    }
    return true;
  }
  u8(): u32 { if (!this.need(1)) return 0; const v = load<u8>(this.ptr); this.ptr += 1; return v; }
  u16(): u32 { if (!this.need(2)) return 0; const v = bswap<u16>(load<u16>(this.ptr)); this.ptr += 2; return v; }
  u32(): u32 { if (!this.need(4)) return 0; const v = bswap<u32>(load<u32>(this.ptr)); this.ptr += 4; return v; }
  u64(): u64 { if (!this.need(8)) return 0; const v = bswap<u64>(load<u64>(this.ptr)); this.ptr += 8; return v; }

  str(n: u32): Value {
    if (!this.need(n)) return Value.nil();
    const s = String.UTF8.decodeUnsafe(this.ptr, n);
    this.ptr += n;
    return Value.fromString(s);
  }
  bin(n: u32): Value {
    if (!this.need(n)) return Value.nil();
    const b = new Uint8Array(n);
    memory.copy(b.dataStart, this.ptr, n);
    this.ptr += n;
    return Value.fromBytes(b);
  }
  array(n: u32, depth: i32): Value {
    // Each item takes at least one byte: a larger count is a lie.
    if (!this.need(n)) return Value.nil();
    const items = new Array<Value>(n);
    for (let k: u32 = 0; k < n; k++) {
      items[k] = this.value(depth + 1);
      if (this.error != null) return Value.nil();
    }
    return Value.fromArray(items);
  }
  map(n: u32, depth: i32): Value {
    if (!this.need(<usize>n * 2)) return Value.nil();
    const m = Value.map();
    for (let k: u32 = 0; k < n; k++) {
      const key = this.value(depth + 1);
      if (this.error != null) return Value.nil();
      if (!key.isString()) return this.fail("map key is a " + key.kindName() + ": Yao map keys are strings");
      const v = this.value(depth + 1);
      if (this.error != null) return Value.nil();
      m.set(key.asString(), v);
    }
    return m;
  }

  value(depth: i32): Value {
    if (depth > MAX_DEPTH) return this.fail("MessagePack nested deeper than " + MAX_DEPTH.toString());
    const c = this.u8();
    if (this.error != null) return Value.nil();
    if (c < 0x80) return Value.fromInt(<i64>c);
    if (c >= 0xe0) return Value.fromInt(<i64><i8><u8>c);
    if ((c & 0xf0) == 0x80) return this.map(c & 0x0f, depth);
    if ((c & 0xf0) == 0x90) return this.array(c & 0x0f, depth);
    if ((c & 0xe0) == 0xa0) return this.str(c & 0x1f);
    switch (c) {
      case 0xc0: return Value.nil();
      case 0xc2: return Value.fromBool(false);
      case 0xc3: return Value.fromBool(true);
      case 0xc4: return this.bin(this.u8());
      case 0xc5: return this.bin(this.u16());
      case 0xc6: return this.bin(this.u32());
      case 0xca: return Value.fromFloat(<f64>reinterpret<f32>(this.u32()));
      case 0xcb: return Value.fromFloat(reinterpret<f64>(this.u64()));
      case 0xcc: return Value.fromInt(<i64>this.u8());
      case 0xcd: return Value.fromInt(<i64>this.u16());
      case 0xce: return Value.fromInt(<i64>this.u32());
      case 0xcf: {
        const n = this.u64();
        // Above i64's range an integer cannot be an i64: it becomes a float.
        return n > <u64>i64.MAX_VALUE ? Value.fromFloat(<f64>n) : Value.fromInt(<i64>n);
      }
      case 0xd0: return Value.fromInt(<i64><i8><u8>this.u8());
      case 0xd1: return Value.fromInt(<i64><i16><u16>this.u16());
      case 0xd2: return Value.fromInt(<i64><i32>this.u32());
      case 0xd3: return Value.fromInt(<i64>this.u64());
      case 0xd9: return this.str(this.u8());
      case 0xda: return this.str(this.u16());
      case 0xdb: return this.str(this.u32());
      case 0xdc: return this.array(this.u16(), depth);
      case 0xdd: return this.array(this.u32(), depth);
      case 0xde: return this.map(this.u16(), depth);
      case 0xdf: return this.map(this.u32(), depth);
    }
    if (c == 0xc1) return this.fail("invalid MessagePack byte 0xc1");
    return this.fail("MessagePack ext values are not Yao values");
  }
}

/** Decodes `len` bytes of MessagePack at `ptr` into one value. Trailing
 *  bytes are an error. */
export function decodeRaw(ptr: usize, len: i32): DecodeResult {
  const r = new Reader(ptr, ptr + <usize>len);
  const v = r.value(0);
  if (r.error == null && r.ptr != r.end) r.fail("trailing bytes after the MessagePack value");
  return new DecodeResult(r.error == null ? v : Value.nil(), r.error);
}

/** Decodes MessagePack bytes into one value. */
export function decode(bytes: Uint8Array): DecodeResult {
  return decodeRaw(bytes.dataStart, bytes.length);
}
