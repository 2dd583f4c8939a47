// QueryDSL queries (docs/ABI.md §8): the host runs them (gou owns QueryDSL)
// as the process query.Run.

import * as env from "./env";
import { firstError, unpack } from "./hostcall";
import { encodeArray } from "./msgpack";
import { Value } from "./value";

/**
 * Runs the QueryDSL `dsl` (a map) and returns what the host answers (the
 * rows), or an error value. `rest` follows the DSL in the args array:
 * bindings (a map, or nil), the engine (default "default"), the method (Run,
 * the default, lets the DSL decide; Get, First, Paginate), docs/ABI.md §8:
 *
 *     const rows = yao.query(Value.map().set("select", Value.from<string[]>(["id"])).set("from", Value.fromString("user")));
 *     if (rows.isError()) return rows;
 */
export function query(dsl: Value, rest: Value[] = []): Value {
  const args = [dsl].concat(rest);
  const bad = firstError(args);
  if (bad != null) return bad;
  const a = encodeArray(args);
  return unpack(env.query(a.dataStart, a.length), "query.Run");
}

/**
 * Yao's `new Query(engine)`: Get (the rows), First (a row or nil), Paginate
 * (a page map) and Run (what the DSL asks for), each sending
 * `[dsl, bindings, engine, method]` with the defaults (no bindings, the
 * "default" engine, Run) left off the end, as the Rust, Go and JS SDKs do:
 *
 *     const page = new Query("stats").Paginate(dsl, Value.map().set("status", Value.fromString("on")));
 */
export class Query {
  /** The engine `engine` of the host ("" or "default": its default one). */
  constructor(public readonly engine: string = "default") {}

  Get(dsl: Value, bindings: Value = Value.nil()): Value { return this.send(dsl, bindings, "Get"); }
  First(dsl: Value, bindings: Value = Value.nil()): Value { return this.send(dsl, bindings, "First"); }
  Paginate(dsl: Value, bindings: Value = Value.nil()): Value { return this.send(dsl, bindings, "Paginate"); }
  Run(dsl: Value, bindings: Value = Value.nil()): Value { return this.send(dsl, bindings, ""); }

  private send(dsl: Value, bindings: Value, method: string): Value {
    const named = this.engine != "" && this.engine != "default";
    const rest: Value[] = [
      bindings,
      named ? Value.fromString(this.engine) : Value.nil(),
      method != "" ? Value.fromString(method) : Value.nil(),
    ];
    while (rest.length > 0 && rest[rest.length - 1].isNil()) rest.pop();
    return query(dsl, rest);
  }
}
