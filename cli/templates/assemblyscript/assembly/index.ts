// scripts.{{name}}: built by `yaowasm build` (asc with the SDK's
// yaowasm.asconfig.json) into {{out}}.
import { handle, fail, Value } from "@yaoapp/yaowasm-as";

export function Total(ptr: i32, len: i32): i64 { return handle(ptr, len, total); }

/** Total(order): what the order costs after its coupon. */
export function total(args: Value[]): Value {
  if (args.length < 1) return fail(400, "an order needs items");
  const order = args[0];
  const items = order.get("items").asArray();
  if (items.length == 0) return fail(400, "an order needs items");
  let sum: f64 = 0;
  for (let i = 0; i < items.length; i++) sum += items[i].get("price").asFloat() * items[i].get("qty").asFloat();
  const rest = sum - order.get("coupon").asFloat();
  return Value.fromFloat(rest > 0 ? rest : 0);
}
