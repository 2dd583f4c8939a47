// The call context (docs/ABI.md `context`): who the running call runs for.

import * as env from "./env";
import { unpack } from "./hostcall";
import { Value } from "./value";

/**
 * The context of the running call: the map {sid (string, "" when none),
 * global (map, {} when none), authorized (map, or nil when none)}, as the
 * host gave it to the top-level call (nested calls inherit it). The host
 * reads nothing for calls that never ask.
 *
 *     const ctx = yao.context();
 *     const tenant = ctx.get("global").get("tenant");
 *     if (ctx.get("authorized").isNil()) return yao.fail(403, "sign in first");
 */
export function context(): Value {
  return unpack(env.context(), "yao.context");
}
