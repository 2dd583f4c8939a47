// Tests of the AssemblyScript SDK: fixture.ts is compiled with asc and driven
// through the stand-in host, with @msgpack/msgpack as the reference codec.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode, decode } from '@msgpack/msgpack';
import { Host } from './host.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const sdk = dirname(here);
const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

/** @type {Record<string, WebAssembly.Module>} */
const modules = {};

before(() => {
  const out = mkdtempSync(join(tmpdir(), 'yaowasm-as-'));
  // Both runtimes the README recommends must work.
  for (const runtime of ['stub', 'incremental']) {
    const file = join(out, `fixture-${runtime}.wasm`);
    execFileSync(join(sdk, 'node_modules/.bin/asc'),
      ['tests/fixture.ts', '-O3', '--runtime', runtime, '--use', 'abort=', '-o', file],
      { cwd: sdk, stdio: 'inherit' });
    modules[runtime] = new WebAssembly.Module(readFileSync(file));
  }
});

for (const runtime of ['stub', 'incremental']) {
  const host = () => new Host(modules[runtime]);

  test(`${runtime}: the module imports only yao.process and yao.log`, () => {
    const imports = WebAssembly.Module.imports(modules[runtime]).map((i) => `${i.module}.${i.name}`);
    assert.deepEqual(imports.sort(), ['yao.log', 'yao.process']);
    const exports = WebAssembly.Module.exports(modules[runtime]).map((e) => e.name);
    for (const name of ['memory', 'yao_alloc', 'yao_free', 'Echo']) assert.ok(exports.includes(name), name);
  });

  test(`${runtime}: Echo returns every kind of value unchanged, integers as integers`, () => {
    const h = host();
    const values = [
      null, true, false, 0, 1, -1, 127, 128, -33, 65536, -70000, 2 ** 40, -(2 ** 40),
      9223372036854775807n, -9223372036854775808n, 2.5, -0.125, 1e-300,
      '', 'abc', 'ünïcødé ✓ 😀', 'y'.repeat(40), 'z'.repeat(70000),
      new Uint8Array([]), new Uint8Array([0, 1, 254, 255]), new Uint8Array(300).fill(7),
      [], [1, [2, [3, [4]]]], Array.from({ length: 20 }, (_, k) => k),
      {}, { a: 1, b: { c: [null, 'd'] } }, Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`k${k}`, k])),
    ];
    const sent = encode(values, { useBigInt64: true });
    const r = h.callRaw('Echo', sent);
    assert.ok(r.ok, 'Echo answered with an error');
    assert.deepEqual(decode(r.ok, { useBigInt64: true }), decode(sent, { useBigInt64: true }));
  });

  test(`${runtime}: integers are written in their smallest MessagePack form`, () => {
    const result = host().call('Build');
    // The fixture builds these i64 values; each must come back as an integer
    // of the same value (BigInt for the 64-bit forms).
    assert.deepEqual(result.ints, [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296n,
      9223372036854775807n, -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649n,
      -9223372036854775808n]);
  });

  test(`${runtime}: Build writes the exact bytes of each kind`, () => {
    const r = host().callRaw('Build', new Uint8Array());
    const m = decode(r.ok, { useBigInt64: true });
    // Exact encodings, from the MessagePack spec.
    const exact = (v, want) => assert.equal(toHex(encodeSdk(r.ok, v)), want.replace(/\s+/g, ''));
    exact('ints', 'dc0015' +
      '00 01 7f cc80 ccff cd0100 cdffff ce00010000 ceffffffff cf0000000100000000 cf7fffffffffffffff' +
      'ff e0 d0df d080 d1ff7f d18000 d2ffff7fff d280000000 d3ffffffff7fffffff d38000000000000000');
    exact('floats', '93 cb4008000000000000 cbbfe0000000000000 cb7e37e43c8800759c');
    exact('t', 'c3'); exact('f', 'c2'); exact('nil', 'c0');
    exact('bytes', 'c403 0102ff');
    exact('s31', 'bf' + '78'.repeat(31));
    exact('s32', 'd920' + '78'.repeat(32));
    exact('s256', 'da0100' + '78'.repeat(256));
    exact('s65536', 'db00010000' + '78'.repeat(65536));
    exact('a16', 'dc0010' + '000102030405060708090a0b0c0d0e0f');
    exact('empty', '92 90 80');
    assert.equal(m.s, 'héllo ✓ 😀');
    assert.deepEqual(m.from, ['a', 'b']);
    assert.deepEqual(m.fromScalars, [true, 200, 0.25, 'z']);
    assert.equal(Object.keys(m.m16).length, 16);
    assert.deepEqual(Object.keys(m.m16), Array.from({ length: 16 }, (_, k) => `k${k}`), 'map keys keep insertion order');
    assert.ok(toHex(r.ok).includes('de0010'), 'a 16-entry map uses map16');
    assert.ok(toHex(r.ok).startsWith('de0010'), 'Build returns a 16-entry map');
  });

  test(`${runtime}: accessors read each kind and never abort on the wrong one`, () => {
    const got = host().call('Describe', 7, 2.75, 'hi', [1, 2], { a: 'x', b: 2 }, null, true, new Uint8Array([1, 2, 3]));
    const pick = (d) => [d.kind, d.bool, d.int, d.float, d.string, d.length, d.keys, d.first, d.a, d.hasA];
    assert.deepEqual(got.map(pick), [
      ['int', false, 7, 7, '', 0, [], null, null, false],
      ['float', false, 2, 2.75, '', 0, [], null, null, false],
      ['string', false, 0, 0, 'hi', 0, [], null, null, false],
      ['array', false, 0, 0, '', 2, [], 1, null, false],
      ['map', false, 0, 0, '', 2, ['a', 'b'], null, 'x', true],
      ['nil', false, 0, 0, '', 0, [], null, null, false],
      ['bool', true, 0, 0, '', 0, [], null, null, false],
      ['bytes', false, 0, 0, '', 3, [], null, null, false],
    ]);
  });

  test(`${runtime}: fail() raises an error value with its code`, () => {
    const r = host().callRaw('Fail', encode([418, 'teapot']));
    assert.ok(r.error);
    assert.deepEqual(decode(r.error), { code: 418, message: 'teapot' });
  });

  test(`${runtime}: an error value nested in a result is a 500`, () => {
    const r = host().callRaw('NestedError', new Uint8Array());
    assert.ok(r.error);
    const e = decode(r.error);
    assert.equal(e.code, 500);
    assert.match(e.message, /409 inner/);
  });

  test(`${runtime}: a nil result is packed as 0`, () => {
    assert.deepEqual(host().callRaw('Nothing', encode([])), { nil: true });
  });

  test(`${runtime}: arguments that are not a MessagePack array are a 400, never a trap`, () => {
    const cases = {
      'a string': 'a178',
      'truncated array': '9201',
      'truncated string': 'a5616263',
      'ext value': '91d40102',
      'reserved byte': '91c1',
      'non-string map key': '918101 02',
      'trailing bytes': '9090',
      'a lying array length': 'dd7fffffff',
      'too deep': '91'.repeat(600) + 'c0',
      'a lying string length': 'db ffffffff',
    };
    for (const [what, bytes] of Object.entries(cases)) {
      const r = host().callRaw('Echo', hex(bytes));
      assert.ok(r.error, `${what}: expected an error`);
      const e = decode(r.error);
      assert.equal(e.code, 400, `${what}: ${e.message}`);
      assert.match(e.message, /^bad arguments: /, what);
    }
    // No arguments at all (NULL / 0 length) means [].
    assert.deepEqual(decode(host().callRaw('Echo', new Uint8Array()).ok), []);
    // Deep but within the limit is fine.
    assert.ok(host().callRaw('Echo', hex('91'.repeat(300) + 'c0')).ok);
  });

  test(`${runtime}: process() sends its args and returns the answer`, () => {
    const h = host();
    h.process = (name, args) => ({ name, args, big: 2n ** 60n, f: 0.5 });
    const got = h.call('Call', 'models.user.Find', 7, 'x', [true]);
    assert.deepEqual(h.calls, [['models.user.Find', [7, 'x', [true]]]]);
    assert.deepEqual(got, { name: 'models.user.Find', args: [7, 'x', [true]], big: 2n ** 60n, f: 0.5 });
  });

  test(`${runtime}: process() errors come back with their code and can be passed on`, () => {
    const h = host();
    h.process = () => { throw { code: 404, message: 'no such user' }; };
    assert.throws(() => h.call('Call', 'models.user.Find', 1), { code: 404, message: 'no such user' });
    h.process = () => null;
    assert.equal(h.call('Call', 'utils.nothing'), null);
  });

  test(`${runtime}: process() calls, each with answers allocated in guest memory, do not leak`, () => {
    const h = host();
    h.process = (name, args) => 'x'.repeat(100000);
    const instance = h.instantiate();
    // Many calls in one instance: memory must stay bounded with incremental,
    // and just work with stub.
    const arg = encode(['utils.big']);
    for (let k = 0; k < 50; k++) {
      const ptr = instance.exports.yao_alloc(arg.length) >>> 0;
      new Uint8Array(instance.exports.memory.buffer, ptr, arg.length).set(arg);
      const packed = BigInt.asUintN(64, instance.exports.Call(ptr, arg.length));
      assert.equal(Number(packed & 0x7fffffffn) > 100000, true);
      assert.equal(Number(packed & 0x80000000n), 0);
    }
  });

  test(`${runtime}: log writes each level with the message unchanged`, () => {
    const h = host();
    assert.equal(h.call('Logs', 'héllo %s'), null);
    assert.deepEqual(h.logs, [0, 1, 2, 3, 4].map((l) => [l, 'héllo %s']));
  });

  test(`${runtime}: the SDK's own encode/decode round-trip`, () => {
    const values = [1, -1, 2 ** 53, 2.5, 'ü', new Uint8Array([9]), [null, [true]], { k: { j: [] } }];
    assert.deepEqual(host().call('Roundtrip', ...values), values);
  });
}

/** The bytes of map entry `key` in the encoded map `bytes` (re-encoded by the
 *  reference codec only for the lookup; compared as the SDK wrote them). */
function encodeSdk(bytes, key) {
  const m = decode(bytes, { useBigInt64: true });
  const slices = mapEntrySlices(bytes);
  assert.ok(key in m, key);
  return slices[key];
}

/** Splits a MessagePack map into its raw entry values, by key. */
function mapEntrySlices(bytes) {
  let pos = 0;
  const skip = () => {
    const c = bytes[pos++];
    const be = (n) => { let v = 0; for (let k = 0; k < n; k++) v = v * 256 + bytes[pos++]; return v; };
    const items = (n) => { for (let k = 0; k < n; k++) skip(); };
    if (c < 0x80 || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) return;
    if ((c & 0xf0) === 0x80) return items(2 * (c & 0x0f));
    if ((c & 0xf0) === 0x90) return items(c & 0x0f);
    if ((c & 0xe0) === 0xa0) { pos += c & 0x1f; return; }
    switch (c) {
      // (`pos += be(n)` would read pos before be() moves it.)
      case 0xc4: case 0xd9: { const n = be(1); pos += n; return; }
      case 0xc5: case 0xda: { const n = be(2); pos += n; return; }
      case 0xc6: case 0xdb: { const n = be(4); pos += n; return; }
      case 0xca: pos += 4; return; case 0xcb: pos += 8; return;
      case 0xcc: case 0xd0: pos += 1; return; case 0xcd: case 0xd1: pos += 2; return;
      case 0xce: case 0xd2: pos += 4; return; case 0xcf: case 0xd3: pos += 8; return;
      case 0xdc: return items(be(2)); case 0xdd: return items(be(4));
      case 0xde: return items(2 * be(2)); case 0xdf: return items(2 * be(4));
    }
    throw new Error(`unexpected byte ${c.toString(16)}`);
  };
  const c = bytes[pos++];
  const n = (c & 0xf0) === 0x80 ? c & 0x0f : c === 0xde ? (pos += 2, bytes[pos - 2] * 256 + bytes[pos - 1]) : -1;
  assert.ok(n >= 0, 'not a map');
  const out = {};
  for (let k = 0; k < n; k++) {
    const keyStart = pos; skip();
    const key = decode(bytes.slice(keyStart, pos));
    const start = pos; skip();
    out[key] = bytes.slice(start, pos);
  }
  return out;
}
