// `npm test`: runs the module `yaowasm build` wrote, in Node, with a
// stand-in for the two memory exports the host uses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

test("Total takes the coupon off", async () => {
  const { instance } = await WebAssembly.instantiate(readFileSync(new URL("{{out}}", import.meta.url)), {});
  const { memory, yao_alloc, Total } = instance.exports;
  // [{"items": [{"price": 10, "qty": 2}], "coupon": 5}] in MessagePack
  const args = Uint8Array.from([0x91, 0x82, 0xa5, ...Buffer.from("items"), 0x91, 0x82, 0xa5, ...Buffer.from("price"), 10,
    0xa3, ...Buffer.from("qty"), 2, 0xa6, ...Buffer.from("coupon"), 5]);
  const ptr = yao_alloc(args.length);
  new Uint8Array(memory.buffer, ptr, args.length).set(args);
  const packed = Total(ptr, args.length);
  const at = Number(packed >> 32n), n = Number(packed & 0x7fffffffn);
  const view = new DataView(memory.buffer, at, n);
  assert.equal(view.getUint8(0), 0xcb); // a float 64
  assert.equal(view.getFloat64(1), 15);
});
