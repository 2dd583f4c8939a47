// Value: one Yao value (SPEC §2), or an error raised by a script or a process.

/** What a Value holds. */
export enum Kind {
  Nil,
  Bool,
  Int,
  Float,
  String,
  Bytes,
  Array,
  Map,
  /** Not data: an error {code, message}, from yao.fail or a failed process. */
  Error,
}

const KIND_NAMES: string[] = ["nil", "bool", "int", "float", "string", "bytes", "array", "map", "error"];

/**
 * A Yao value: nil, bool, integer (i64), float (f64), string, bytes, array or
 * map with string keys (insertion order kept), or an error.
 *
 * Build values with the static constructors (`Value.fromInt(1)`,
 * `Value.map().set("ok", Value.fromBool(true))`) and read them with the
 * accessors, which never abort: reading the wrong kind gives the zero value
 * (`asInt()` of a string is 0, `get("x")` of a non-map is nil), so check
 * `kind` or `isInt()` first where it matters.
 */
export class Value {
  private constructor(
    public readonly kind: Kind,
    private b: bool = false,
    private i: i64 = 0,
    private f: f64 = 0,
    private s: string | null = null,
    private bin: Uint8Array | null = null,
    private items: Value[] | null = null,
    private entries: Map<string, Value> | null = null,
  ) {}

  // ---- constructors

  static nil(): Value { return new Value(Kind.Nil); }
  static fromBool(b: bool): Value { return new Value(Kind.Bool, b); }
  static fromInt(i: i64): Value { return new Value(Kind.Int, false, i); }
  static fromFloat(f: f64): Value { return new Value(Kind.Float, false, 0, f); }
  static fromString(s: string): Value { return new Value(Kind.String, false, 0, 0, s); }
  static fromBytes(b: Uint8Array): Value { return new Value(Kind.Bytes, false, 0, 0, null, b); }
  static fromArray(items: Value[]): Value { return new Value(Kind.Array, false, 0, 0, null, null, items); }
  static fromMap(entries: Map<string, Value>): Value {
    return new Value(Kind.Map, false, 0, 0, null, null, null, entries);
  }
  /** An empty array, to fill with push(). */
  static array(): Value { return Value.fromArray([]); }
  /** An empty map, to fill with set(). */
  static map(): Value { return Value.fromMap(new Map<string, Value>()); }
  /** An error value: return it from a script function to raise it. */
  static error(code: i32, message: string): Value {
    return new Value(Kind.Error, false, code, 0, message);
  }

  /** Value.from(x) for any bool, integer, float, string, Uint8Array,
   *  Value or array of these. */
  static from<T>(x: T): Value {
    if (isBoolean<T>()) return Value.fromBool(<bool>x);
    if (isInteger<T>()) return Value.fromInt(<i64>x);
    if (isFloat<T>()) return Value.fromFloat(<f64>x);
    if (isNullable<T>()) {
      if (changetype<usize>(x) == 0) return Value.nil();
    }
    if (isString<T>()) return Value.fromString(changetype<string>(x));
    if (x instanceof Value) return changetype<Value>(x);
    if (x instanceof Uint8Array) return Value.fromBytes(changetype<Uint8Array>(x));
    if (isArray<T>()) {
      // @ts-ignore: T is an array here
      const src = x as valueof<T>[];
      const out = new Array<Value>(src.length);
      for (let k = 0; k < src.length; k++) out[k] = Value.from<valueof<T>>(src[k]);
      return Value.fromArray(out);
    }
    ERROR("Value.from: unsupported type");
    return Value.nil();
  }

  // ---- kinds

  isNil(): bool { return this.kind == Kind.Nil; }
  isBool(): bool { return this.kind == Kind.Bool; }
  isInt(): bool { return this.kind == Kind.Int; }
  isFloat(): bool { return this.kind == Kind.Float; }
  /** An integer or a float. */
  isNumber(): bool { return this.kind == Kind.Int || this.kind == Kind.Float; }
  isString(): bool { return this.kind == Kind.String; }
  isBytes(): bool { return this.kind == Kind.Bytes; }
  isArray(): bool { return this.kind == Kind.Array; }
  isMap(): bool { return this.kind == Kind.Map; }
  isError(): bool { return this.kind == Kind.Error; }
  /** "nil", "bool", "int", "float", "string", "bytes", "array", "map" or "error". */
  kindName(): string { return KIND_NAMES[<i32>this.kind]; }

  // ---- scalars

  asBool(): bool { return this.kind == Kind.Bool && this.b; }
  /** The integer; a float is truncated; anything else is 0. */
  asInt(): i64 {
    if (this.kind == Kind.Int) return this.i;
    if (this.kind == Kind.Float) return <i64>this.f;
    return 0;
  }
  /** The float; an integer is converted; anything else is 0. */
  asFloat(): f64 {
    if (this.kind == Kind.Float) return this.f;
    if (this.kind == Kind.Int) return <f64>this.i;
    return 0;
  }
  /** The string (for an error, its message); anything else is "". */
  asString(): string {
    const s = this.s;
    return (this.kind == Kind.String || this.kind == Kind.Error) && s != null ? s : "";
  }
  /** The bytes; anything else is empty. */
  asBytes(): Uint8Array {
    const b = this.bin;
    return this.kind == Kind.Bytes && b != null ? b : new Uint8Array(0);
  }

  // ---- arrays

  /** The items (the live array: changes show); anything else is []. */
  asArray(): Value[] {
    const items = this.items;
    return this.kind == Kind.Array && items != null ? items : [];
  }
  /** Item `index` of an array; nil when out of range or not an array. */
  at(index: i32): Value {
    const items = this.items;
    if (this.kind != Kind.Array || items == null || index < 0 || index >= items.length) return Value.nil();
    return items[index];
  }
  /** Appends to an array (nothing for other kinds); returns this, to chain. */
  push(item: Value): Value {
    const items = this.items;
    if (this.kind == Kind.Array && items != null) items.push(item);
    return this;
  }
  /** Items of an array, entries of a map, bytes of bytes, else 0. */
  get length(): i32 {
    const items = this.items, entries = this.entries, bin = this.bin;
    if (this.kind == Kind.Array && items != null) return items.length;
    if (this.kind == Kind.Map && entries != null) return entries.size;
    if (this.kind == Kind.Bytes && bin != null) return bin.length;
    return 0;
  }

  // ---- maps

  /** The entries (the live map: changes show); anything else is empty. */
  asMap(): Map<string, Value> {
    const entries = this.entries;
    return this.kind == Kind.Map && entries != null ? entries : new Map<string, Value>();
  }
  /** The keys of a map, in insertion order. */
  keys(): string[] { return this.asMap().keys(); }
  has(key: string): bool {
    const entries = this.entries;
    return this.kind == Kind.Map && entries != null && entries.has(key);
  }
  /** Entry `key` of a map; nil when absent or not a map. */
  get(key: string): Value {
    const entries = this.entries;
    if (this.kind != Kind.Map || entries == null || !entries.has(key)) return Value.nil();
    return entries.get(key);
  }
  /** Sets an entry of a map (nothing for other kinds); returns this, to chain. */
  set(key: string, value: Value): Value {
    const entries = this.entries;
    if (this.kind == Kind.Map && entries != null) entries.set(key, value);
    return this;
  }

  // ---- errors

  /** The code of an error value (0 for anything else). */
  errorCode(): i32 { return this.kind == Kind.Error ? <i32>this.i : 0; }
  /** The message of an error value ("" for anything else). */
  errorMessage(): string { return this.kind == Kind.Error ? this.asString() : ""; }
}
