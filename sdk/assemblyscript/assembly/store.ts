// Named key-value stores with TTL, as Yao's Store (docs/ABI.md §5):
//
//     const cache = new Store("cache");
//     const saved = cache.Set("user:1", user, 60);   // nil, or an error value
//     const user = cache.Get("user:1");              // nil when absent
//
// Which backend a name uses (memory, the host's stores, Redis) is the
// runtime's config; the script code is the same for all three. Every method
// returns a Value: the result, or an error value (isError(), errorCode())
// that can be returned as is to pass the failure on.

import * as env from "./env";
import { firstError, unpack, Utf8 } from "./hostcall";
import { encode, encodeArray } from "./msgpack";
import { Value } from "./value";

/** One named store. Cheap to make: it holds only the name. */
export class Store {
  /** The store called `name` (1-128 bytes). */
  constructor(public readonly name: string) {}

  /** Any method with positional args (Get, Set, ... or one the host's
   *  store adds), through the generic `store` import. */
  call(method: string, args: Value[] = []): Value {
    const bad = firstError(args);
    if (bad != null) return bad;
    const name = new Utf8(this.name);
    const m = new Utf8(method);
    const a = encodeArray(args);
    return unpack(env.store(name.ptr, name.len, m.ptr, m.len, a.dataStart, a.length), this.what(method));
  }

  /** The value of `key`, or nil when absent or expired (fast path). */
  Get(key: string): Value {
    const name = new Utf8(this.name);
    const k = new Utf8(key);
    return unpack(env.store_get(name.ptr, name.len, k.ptr, k.len), this.what("Get"));
  }

  /** Stores `value` under `key` for `ttlSeconds` (0: no expiry) through the
   *  fast path; nil, or an error value. A negative ttl goes to the generic
   *  Set, which refuses it (400). */
  Set(key: string, value: Value, ttlSeconds: i64 = 0): Value {
    if (ttlSeconds < 0) return this.call("Set", [Value.fromString(key), value, Value.fromInt(ttlSeconds)]);
    if (value.isError()) return value;
    const name = new Utf8(this.name);
    const k = new Utf8(key);
    const v = encode(value);
    return unpack(env.store_set(name.ptr, name.len, k.ptr, k.len, v.dataStart, v.length, ttlSeconds), this.what("Set"));
  }

  /** Whether `key` holds a live value: a bool. */
  Has(key: string): Value {
    return this.call("Has", [Value.fromString(key)]);
  }

  /** Removes `key` (fine when absent; fast path): nil. */
  Del(key: string): Value {
    const name = new Utf8(this.name);
    const k = new Utf8(key);
    return unpack(env.store_del(name.ptr, name.len, k.ptr, k.len), this.what("Del"));
  }

  /** Every live key, sorted: an array of strings. */
  Keys(): Value {
    return this.call("Keys");
  }

  /** How many live keys: an integer. */
  Len(): Value {
    return this.call("Len");
  }

  /** Removes every key of this store: nil. */
  Clear(): Value {
    return this.call("Clear");
  }

  /** Yao's get-or-set: the live value of `key`, or `value` stored with
   *  `ttlSeconds` (0: no expiry, and no ttl is sent) and returned. */
  GetSet(key: string, value: Value, ttlSeconds: i64 = 0): Value {
    const args = [Value.fromString(key), value];
    if (ttlSeconds != 0) args.push(Value.fromInt(ttlSeconds));
    return this.call("GetSet", args);
  }

  /** The value of `key` (nil when absent), removing it. */
  GetDel(key: string): Value {
    return this.call("GetDel", [Value.fromString(key)]);
  }

  private what(method: string): string {
    return "stores." + this.name + "." + method;
  }
}
