// What every host import shares (docs/ABI.md §1, §3): strings handed over as
// raw UTF-8, packed answers read back into a Value or an error value.

import { decodeRaw } from "./msgpack";
import { Value } from "./value";

/** Bit 31 of a packed length: the bytes are an error value. */
export const ERROR_BIT: u32 = 0x80000000;

/**
 * Reads the packed answer of an import: nil for 0, the decoded value, or an
 * error value with the host's code and message (kept as they are, so a 403
 * or 404 can be passed on to the caller unchanged). `what` names the call
 * in the SDK's own messages ("stores.cache.Get").
 */
export function unpack(packed: i64, what: string): Value {
  const bits = <u64>packed;
  const ptr = <usize>(bits >> 32);
  const raw = <u32>bits;
  const isError = (raw & ERROR_BIT) != 0;
  const len = <i32>(raw & 0x7fffffff);
  if (len == 0) return isError ? Value.error(500, what + ": empty error from the host") : Value.nil();
  const decoded = decodeRaw(ptr, len);
  heap.free(ptr); // written through yao_alloc, now decoded
  if (!decoded.ok) return Value.error(500, what + ": unreadable answer: " + (decoded.error as string));
  if (!isError) return decoded.value;
  const e = decoded.value;
  const code = e.get("code");
  return Value.error(code.isInt() ? <i32>code.asInt() : 500, e.get("message").asString());
}

/** The first error value among `args`, or null. An argument that is an
 *  error (a failed yao.process, say) is passed on instead of being sent. */
export function firstError(args: Value[]): Value | null {
  for (let k = 0; k < args.length; k++) {
    if (args[k].isError()) return args[k];
  }
  return null;
}

/** A string as raw UTF-8 bytes, for the (ptr, len) pairs of the imports. */
export class Utf8 {
  readonly buf: ArrayBuffer;
  constructor(s: string) { this.buf = String.UTF8.encode(s); }
  get ptr(): usize { return changetype<usize>(this.buf); }
  get len(): i32 { return this.buf.byteLength; }
}
