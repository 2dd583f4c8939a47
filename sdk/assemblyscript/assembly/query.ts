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
