// scripts.{{name}}: built by `yaowasm build` (esbuild, then QuickJS
// bytecode) into {{out}}. The globals Yao gives a script (Process, log,
// Store, FS, http, Exception...) are typed in ./types/yao.d.ts.

interface Item {
  price: number;
  qty: number;
}

interface Order {
  items: Item[];
  coupon?: number;
}

/** scripts.{{name}}.Total: what the order costs after its coupon. */
export function Total(order: Order): number {
  if (!order || !Array.isArray(order.items) || order.items.length === 0) {
    throw new Exception("an order needs items", 400);
  }
  const sum = order.items.reduce((acc, item) => acc + item.price * item.qty, 0);
  return Math.max(sum - (order.coupon ?? 0), 0);
}
