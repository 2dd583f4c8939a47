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

  /** Adds `by` to the number at `key` (an absent or expired key counts as
   *  0) atomically, keeping the key's TTL: the new number (an integer, or a
   *  float when the stored value is one). Of concurrent Incrs, on one
   *  runtime or many sharing a Redis store, none is lost. A value that is
   *  not a number is a 400 (and stays as it was). */
  Incr(key: string, by: i64 = 1): Value {
    return this.call("Incr", [Value.fromString(key), Value.fromInt(by)]);
  }

  /** Incr with a float step: the new number, a float. */
  IncrFloat(key: string, by: f64): Value {
    return this.call("Incr", [Value.fromString(key), Value.fromFloat(by)]);
  }

  // The list methods: gou's array operations on the value at a key
  // (docs/ABI.md §5). An absent key is an empty list to the readers and the
  // removers; the writers make the list; a list emptied by Pop, Pull or
  // PullAll is deleted. A key that holds something other than a list is a
  // 400 for all but ArrayLen. Elements are equal when they are the same
  // value (1 and 1.0 differ).

  /** Appends `values` in order, making the list when `key` is absent (at
   *  least one value: none is a 400): nil. */
  Push(key: string, values: Value[]): Value {
    return this.call("Push", keyed(key, values));
  }

  /** Removes and returns an element: the last for `position` 1, the first
   *  for any other (gou uses -1). 404 when the list is empty or absent. */
  Pop(key: string, position: i64): Value {
    return this.call("Pop", [Value.fromString(key), Value.fromInt(position)]);
  }

  /** Removes every element equal to `value`: nil (fine when absent). */
  Pull(key: string, value: Value): Value {
    return this.call("Pull", [Value.fromString(key), value]);
  }

  /** Removes every element equal to any of `values` (none: nothing): nil,
   *  also when absent. */
  PullAll(key: string, values: Value[]): Value {
    // Always the one-array form [key, [values]]: sent flat, a single value
    // that is itself an array would be read as the list of values. The
    // values are checked here since call() sees only the outer array.
    const bad = firstError(values);
    if (bad != null) return bad;
    return this.call("PullAll", [Value.fromString(key), Value.fromArray(values)]);
  }

  /** Appends, in order, each of `values` not already in the list (nor
   *  earlier among `values`), making the list when `key` is absent; at
   *  least one value: nil. */
  AddToSet(key: string, values: Value[]): Value {
    return this.call("AddToSet", keyed(key, values));
  }

  /** The number of elements, an integer: 0 for an absent key or a value
   *  that is not a list. */
  ArrayLen(key: string): Value {
    return this.call("ArrayLen", [Value.fromString(key)]);
  }

  /** The element at `index` (from 0): 404 past the end or on an absent key,
   *  400 for a negative index. */
  ArrayGet(key: string, index: i64): Value {
    return this.call("ArrayGet", [Value.fromString(key), Value.fromInt(index)]);
  }

  /** Replaces the element at `index`: nil; 404 past the end or on an absent
   *  key, 400 for a negative index. */
  ArraySet(key: string, index: i64, value: Value): Value {
    return this.call("ArraySet", [Value.fromString(key), Value.fromInt(index), value]);
  }

  /** An array of up to `limit` elements after the first `skip`: empty for a
   *  negative skip, a limit under 1, past the end, or an absent key. */
  ArraySlice(key: string, skip: i64, limit: i64): Value {
    return this.call("ArraySlice", [Value.fromString(key), Value.fromInt(skip), Value.fromInt(limit)]);
  }

  /** Page `page` (from 1) of `pageSize` elements, an array: empty for a
   *  page or size under 1, past the end, or an absent key. */
  ArrayPage(key: string, page: i64, pageSize: i64): Value {
    return this.call("ArrayPage", [Value.fromString(key), Value.fromInt(page), Value.fromInt(pageSize)]);
  }

  /** Every element, an array: empty for an absent key. */
  ArrayAll(key: string): Value {
    return this.call("ArrayAll", [Value.fromString(key)]);
  }

  private what(method: string): string {
    return "stores." + this.name + "." + method;
  }
}

/** [key, ...values]: the args of the variadic list methods. */
function keyed(key: string, values: Value[]): Value[] {
  const args = new Array<Value>(values.length + 1);
  args[0] = Value.fromString(key);
  for (let k = 0; k < values.length; k++) args[k + 1] = values[k];
  return args;
}
