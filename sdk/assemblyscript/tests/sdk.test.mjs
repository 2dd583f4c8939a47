// Tests of the AssemblyScript SDK: fixture.ts is compiled with asc and driven
// through the stand-in host, with @msgpack/msgpack as the reference codec.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode, decode } from '@msgpack/msgpack';
import { Host, Raw } from './host.mjs';

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
  const minimal = join(out, 'minimal.wasm');
  execFileSync(join(sdk, 'node_modules/.bin/asc'),
    ['tests/minimal.ts', '-O3', '--runtime', 'stub', '--use', 'abort=', '-o', minimal], { cwd: sdk, stdio: 'inherit' });
  modules.minimal = new WebAssembly.Module(readFileSync(minimal));
});

test("the SDK's yaowasm.asconfig.json builds a module that exports yao_alloc and yao_free without the script saying so", () => {
  // A project as a user has it: the SDK and asc under node_modules.
  const project = mkdtempSync(join(tmpdir(), 'yaowasm-as-project-'));
  mkdirSync(join(project, 'node_modules/@yaoapp'), { recursive: true });
  mkdirSync(join(project, 'assembly'));
  symlinkSync(sdk, join(project, 'node_modules/@yaoapp/yaowasm-as'));
  symlinkSync(join(sdk, 'node_modules/assemblyscript'), join(project, 'node_modules/assemblyscript'));
  writeFileSync(join(project, 'assembly/hello.ts'), [
    'import { handle, Value } from "@yaoapp/yaowasm-as";',
    'export function Hello(ptr: i32, len: i32): i64 { return handle(ptr, len, (args: Value[]): Value => Value.fromString("hello")); }',
  ].join('\n'));
  execFileSync(join(sdk, 'node_modules/.bin/asc'),
    ['assembly/hello.ts', '--config', 'node_modules/@yaoapp/yaowasm-as/yaowasm.asconfig.json', '--target', 'release', '-o', 'hello.wasm'],
    { cwd: project, stdio: 'inherit' });
  const bytes = readFileSync(join(project, 'hello.wasm'));
  const module = new WebAssembly.Module(bytes);
  assert.deepEqual(WebAssembly.Module.exports(module).map((e) => e.name).sort(), ['Hello', 'memory', 'yao_alloc', 'yao_free']);
  assert.deepEqual(WebAssembly.Module.imports(module), [], 'no env.abort: the config sets --use abort=');
  assert.ok(bytes.includes(Buffer.from('yaowasm-sdk:assemblyscript ')), 'the SDK mark inspect reads');
  const h = new Host(module);
  assert.equal(h.call('Hello'), 'hello');
});

test('a module imports only the host functions it calls', () => {
  // minimal.ts uses handle() and Value only: none of yao.*.
  assert.deepEqual(WebAssembly.Module.imports(modules.minimal), []);
});

for (const runtime of ['stub', 'incremental']) {
  const host = () => new Host(modules[runtime]);

  test(`${runtime}: the module imports the yao functions it uses, with the ABI's signatures, and nothing else`, () => {
    const imports = WebAssembly.Module.imports(modules[runtime]).map((i) => `${i.module}.${i.name}`);
    assert.deepEqual(imports.sort(), ['yao.context', 'yao.fs', 'yao.http', 'yao.log', 'yao.process', 'yao.query', 'yao.sleep', 'yao.store',
      'yao.store_del', 'yao.store_get', 'yao.store_set', 'yao.tasks']);
    // Instantiating against a host whose functions have the ABI's exact
    // signatures (docs/ABI.md §4) checks the import types.
    const sigs = {
      process: [['i32', 'i32', 'i32', 'i32'], ['i64']],
      log: [['i32', 'i32', 'i32'], []],
      store: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i64']],
      store_get: [['i32', 'i32', 'i32', 'i32'], ['i64']],
      store_set: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i64'], ['i64']],
      store_del: [['i32', 'i32', 'i32', 'i32'], ['i64']],
      fs: [['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], ['i64']],
      http: [['i32', 'i32', 'i32', 'i32'], ['i64']],
      query: [['i32', 'i32'], ['i64']],
      context: [[], ['i64']],
      tasks: [['i32', 'i32', 'i32', 'i32'], ['i64']],
      sleep: [['i64'], ['i64']],
    };
    const yao = {};
    for (const [name, [params, results]] of Object.entries(sigs)) {
      yao[name] = wasmFunction(params, results);
    }
    assert.ok(new WebAssembly.Instance(modules[runtime], { yao }));
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
    callsInOneInstance(h, runtime, 'Call', ['utils.big']);
  });

  test(`${runtime}: log writes each level with the message unchanged`, () => {
    const h = host();
    assert.equal(h.call('Logs', 'héllo %s'), null);
    assert.deepEqual(h.logs, [0, 1, 2, 3, 4].map((l) => [l, 'héllo %s']));
  });

  // ---- host API: Store (docs/ABI.md §5)

  test(`${runtime}: Store.Get uses store_get with the raw name and key; nil comes as 0 or 0xc0`, () => {
    const h = host();
    const stored = { name: 'Ada', tags: [1, 2.5], raw: new Uint8Array([0, 1, 2, 255]) };
    h.api = (c) => (c.key === 'user' ? stored : null);
    assert.deepEqual(h.call('StoreCall', 'cache', 'Get', 'user'), stored);
    assert.equal(h.call('StoreCall', 'cache', 'Get', 'missing'), null);
    h.api = () => new Raw(hex('c0'));
    assert.equal(h.call('StoreCall', 'cäche', 'Get', 'ключ'), null);
    assert.deepEqual(h.apiCalls, [
      { import: 'store_get', name: 'cache', key: 'user' },
      { import: 'store_get', name: 'cache', key: 'missing' },
      { import: 'store_get', name: 'cäche', key: 'ключ' },
    ]);
  });

  test(`${runtime}: Store.Set sends one encoded value and the ttl in seconds through store_set`, () => {
    const h = host();
    h.api = () => null;
    const value = { name: 'Ada', n: [1, -2, 2.5, null, true], b: new Uint8Array([9]) };
    assert.equal(h.call('StoreCall', 'cache', 'Set', 'user', value, 60), null);
    assert.equal(h.call('StoreCall', 'cache', 'Set', 'plain', 'text'), null);
    const [withTtl, noTtl] = h.apiCalls;
    assert.equal(withTtl.import, 'store_set');
    assert.equal(withTtl.name, 'cache');
    assert.equal(withTtl.key, 'user');
    assert.deepEqual(withTtl.value, value);
    assert.equal(withTtl.ttl, 60n, 'the ttl is an i64 of whole seconds');
    assert.equal(toHex(noTtl.valueBytes), 'a474657874', 'ONE encoded value, not an array');
    assert.equal(noTtl.ttl, 0n, 'no ttl is 0: no expiry');
  });

  test(`${runtime}: Store.Set with a negative ttl goes to the generic Set, which refuses it`, () => {
    const h = host();
    h.api = (c) => { throw { code: 400, message: `bad ttl ${c.args[2]}` }; };
    assert.throws(() => h.call('StoreCall', 'cache', 'Set', 'k', 1, -5), { code: 400, message: 'bad ttl -5' });
    assert.deepEqual(h.apiCalls, [{ import: 'store', name: 'cache', method: 'Set', args: ['k', 1, -5] }]);
  });

  test(`${runtime}: Store.Set passes on an error value instead of storing it`, () => {
    const h = host();
    h.process = () => { throw { code: 404, message: 'no such process' }; };
    h.api = () => null;
    assert.throws(() => h.call('StoreCall', 'cache', 'SetFailed', 'k'), { code: 404, message: 'no such process' });
    assert.deepEqual(h.apiCalls, []);
  });

  test(`${runtime}: Store methods send Yao's args arrays through the store import`, () => {
    const h = host();
    const answers = { Has: true, Keys: ['a', 'b'], Len: 2, Clear: null, GetSet: 'kept', GetDel: { v: 1 } };
    h.api = (c) => answers[c.method];
    assert.equal(h.call('StoreCall', 's', 'Has', 'a'), true);
    assert.deepEqual(h.call('StoreCall', 's', 'Keys'), ['a', 'b']);
    assert.equal(h.call('StoreCall', 's', 'Len'), 2);
    assert.equal(h.call('StoreCall', 's', 'Clear'), null);
    assert.equal(h.call('StoreCall', 's', 'GetSet', 'user', 'other'), 'kept');
    assert.equal(h.call('StoreCall', 's', 'GetSet', 'user', 'other', 30), 'kept');
    assert.deepEqual(h.call('StoreCall', 's', 'GetDel', 'user'), { v: 1 });
    assert.deepEqual(h.apiCalls.map((c) => [c.import, c.name, c.method, c.args]), [
      ['store', 's', 'Has', ['a']],
      ['store', 's', 'Keys', []],
      ['store', 's', 'Len', []],
      ['store', 's', 'Clear', []],
      ['store', 's', 'GetSet', ['user', 'other']], // ttl 0: left out
      ['store', 's', 'GetSet', ['user', 'other', 30]],
      ['store', 's', 'GetDel', ['user']],
    ]);
  });

  test(`${runtime}: Store list methods and Incr send gou's args arrays through the store import`, () => {
    const h = host();
    const answers = {
      Incr: 5n, Pop: 'last', ArrayLen: 3, ArrayGet: { n: 1 }, ArraySlice: [2, 3], ArrayPage: [4], ArrayAll: [],
      Push: null, AddToSet: null, Pull: null, PullAll: null, ArraySet: null,
    };
    h.api = (c) => (c.method === 'Incr' && !Number.isInteger(c.args[1]) ? 5.5 : answers[c.method]); // a float step: a float
    assert.equal(h.call('StoreCall', 's', 'Incr', 'n'), 5);
    assert.equal(h.call('StoreCall', 's', 'Incr', 'n', null, 4), 5);
    assert.equal(h.call('StoreCall', 's', 'IncrFloat', 'n', 0.5), 5.5);
    assert.equal(h.call('StoreCall', 's', 'Push', 'l', ['a', 1]), null);
    assert.equal(h.call('StoreCall', 's', 'AddToSet', 'l', [4, 4]), null);
    assert.equal(h.call('StoreCall', 's', 'Pull', 'l', 1), null);
    assert.equal(h.call('StoreCall', 's', 'PullAll', 'l', [[1, 2]]), null);
    assert.equal(h.call('StoreCall', 's', 'PullAll', 'l', ['a', 'b']), null);
    assert.equal(h.call('StoreCall', 's', 'ArraySet', 'l', 0, 'first'), null);
    assert.equal(h.call('StoreCall', 's', 'Pop', 'l', 1), 'last');
    assert.equal(h.call('StoreCall', 's', 'ArrayLen', 'l'), 3);
    assert.deepEqual(h.call('StoreCall', 's', 'ArrayGet', 'l', 1), { n: 1 });
    assert.deepEqual(h.call('StoreCall', 's', 'ArraySlice', 'l', 1, 2), [2, 3]);
    assert.deepEqual(h.call('StoreCall', 's', 'ArrayPage', 'l', 2, 2), [4]);
    assert.deepEqual(h.call('StoreCall', 's', 'ArrayAll', 'absent'), []);
    assert.deepEqual(h.apiCalls.map((c) => [c.import, c.name, c.method, c.args]), [
      ['store', 's', 'Incr', ['n', 1]], // by defaults to 1
      ['store', 's', 'Incr', ['n', 4]],
      ['store', 's', 'Incr', ['n', 0.5]],
      ['store', 's', 'Push', ['l', 'a', 1]],
      ['store', 's', 'AddToSet', ['l', 4, 4]],
      ['store', 's', 'Pull', ['l', 1]],
      // Always [key, [values]]: one value that is an array stays one value.
      ['store', 's', 'PullAll', ['l', [[1, 2]]]],
      ['store', 's', 'PullAll', ['l', ['a', 'b']]],
      ['store', 's', 'ArraySet', ['l', 0, 'first']],
      ['store', 's', 'Pop', ['l', 1]],
      ['store', 's', 'ArrayLen', ['l']],
      ['store', 's', 'ArrayGet', ['l', 1]],
      ['store', 's', 'ArraySlice', ['l', 1, 2]],
      ['store', 's', 'ArrayPage', ['l', 2, 2]],
      ['store', 's', 'ArrayAll', ['absent']],
    ]);
  });

  test(`${runtime}: Store list errors keep their code; an error value among PullAll's values is passed on`, () => {
    const h = host();
    h.api = (c) => {
      if (c.method === 'Pop') throw { code: 404, message: 'Pop on an empty list' };
      if (c.args[1] < 0) throw { code: 400, message: `negative index ${c.args[1]}` };
      throw { code: 404, message: `index ${c.args[1]} past the end` };
    };
    assert.throws(() => h.call('StoreCall', 's', 'Pop', 'empty', 1), { code: 404, message: 'Pop on an empty list' });
    assert.throws(() => h.call('StoreCall', 's', 'ArrayGet', 'l', 9), { code: 404, message: 'index 9 past the end' });
    assert.throws(() => h.call('StoreCall', 's', 'ArrayGet', 'l', -1), { code: 400, message: 'negative index -1' });
    assert.throws(() => h.call('StoreCall', 's', 'ArraySet', 'l', 9, 1), { code: 404, message: 'index 9 past the end' });
    h.process = () => { throw { code: 418, message: 'teapot' }; };
    h.apiCalls.length = 0;
    assert.throws(() => h.call('StoreCall', 's', 'PullAllFailed', 'l'), { code: 418, message: 'teapot' });
    assert.deepEqual(h.apiCalls, [], 'nothing sent');
  });

  test(`${runtime}: Store.Del uses store_del; store errors keep their code`, () => {
    const h = host();
    h.api = () => null;
    assert.equal(h.call('StoreCall', 's', 'Del', 'gone'), null);
    assert.deepEqual(h.apiCalls, [{ import: 'store_del', name: 's', key: 'gone' }]);
    h.api = () => { throw { code: 502, message: 'redis unreachable' }; };
    for (const method of ['Get', 'Set', 'Del', 'Has', 'Keys', 'GetSet']) {
      assert.throws(() => h.call('StoreCall', 's', method, 'k', 1), { code: 502, message: 'redis unreachable' }, method);
    }
    h.api = () => { throw { code: 404, message: 'no method Nope' }; };
    assert.throws(() => h.call('StoreCall', 's', 'call', 'Nope', []), { code: 404, message: 'no method Nope' });
  });

  test(`${runtime}: an answer that does not decode is a 500 naming the call`, () => {
    const h = host();
    h.api = () => new Raw(hex('c1'));
    assert.throws(() => h.call('StoreCall', 'cache', 'Get', 'k'), (e) => e.code === 500 && /^stores\.cache\.Get: unreadable answer/.test(e.message));
    assert.throws(() => h.call('FsCall', 'data', 'Size', 'a'), (e) => e.code === 500 && /^fs\.data\.Size: unreadable answer/.test(e.message));
  });

  // ---- host API: FS (docs/ABI.md §6)

  test(`${runtime}: FS methods send their args arrays through the fs import`, () => {
    const h = host();
    const answers = {
      ReadFile: 'text', ReadFileBuffer: new Uint8Array([0, 255]), WriteFile: 4, WriteFileBuffer: 2, AppendFile: 1,
      Exists: true, IsDir: false, IsFile: true, ReadDir: ['d/a.txt'], Mkdir: null, MkdirAll: null, Remove: null,
      RemoveAll: null, Size: 7, Move: null, Copy: null,
    };
    h.api = (c) => answers[c.method];
    const bytes = new Uint8Array([1, 2, 3]);
    const calls = [
      [['ReadFile', 'a.txt'], 'text', ['a.txt']],
      [['ReadFileBuffer', 'a.bin'], new Uint8Array([0, 255]), ['a.bin']],
      [['WriteFile', 'a.txt', 'héllo'], 4, ['a.txt', 'héllo']],
      [['WriteFile', 'a.txt', 'x', 0o600], 4, ['a.txt', 'x', 0o600]],
      [['WriteFileBuffer', 'a.bin', bytes], 2, ['a.bin', bytes]],
      [['AppendFile', 'a.txt', '!'], 1, ['a.txt', '!']],
      [['AppendFile', 'a.bin', bytes], 1, ['a.bin', bytes]],
      [['Exists', 'a'], true, ['a']],
      [['IsDir', 'a'], false, ['a']],
      [['IsFile', 'a'], true, ['a']],
      [['ReadDir', 'd'], ['d/a.txt'], ['d', false]],
      [['ReadDir', 'd', true], ['d/a.txt'], ['d', true]],
      [['Mkdir', 'd'], null, ['d']],
      [['Mkdir', 'd', null, 0o700], null, ['d', 0o700]],
      [['MkdirAll', 'd/e/f'], null, ['d/e/f']],
      [['Remove', 'a'], null, ['a']],
      [['RemoveAll', 'd'], null, ['d']],
      [['Size', 'a'], 7, ['a']],
      [['Move', 'a', 'b'], null, ['a', 'b']],
      [['Copy', 'b', 'c'], null, ['b', 'c']],
    ];
    for (const [[method, ...rest], want, sent] of calls) {
      h.apiCalls = [];
      assert.deepEqual(h.call('FsCall', 'data', method, ...rest), want, method);
      assert.deepEqual(h.apiCalls, [{ import: 'fs', root: 'data', method, args: sent }], method);
    }
  });

  test(`${runtime}: FS errors come back with the host's code and message unchanged`, () => {
    const h = host();
    const errors = [
      [403, 'fs: "../secret.txt" has a \'..\' component'],
      [404, 'fs: missing.txt: No such file or directory (os error 2)'],
      [409, 'fs: d exists'],
      [413, 'fs: big.bin is larger than max_memory_mb'],
    ];
    for (const [code, message] of errors) {
      h.api = () => { throw { code, message }; };
      assert.throws(() => h.call('FsCall', 'data', 'ReadFile', 'x'), { code, message });
    }
    h.api = () => { throw { code: 403, message: 'fs: root "system" is not configured' }; };
    assert.throws(() => h.call('FsCall', 'system', 'Exists', ''), { code: 403 });
    assert.equal(h.apiCalls.at(-1).root, 'system');
  });

  // ---- host API: http (docs/ABI.md §7)

  test(`${runtime}: http functions send Yao's args, trailing options left out`, () => {
    const h = host();
    h.api = () => ({ status: 200, headers: {}, data: null });
    const url = 'http://127.0.0.1:8080/x';
    const q = { page: '2', tag: ['a', 'b'] };
    const hd = { 'X-Token': 't' };
    const files = { doc: 'up/a.txt', raw: 'up/b.bin' };
    const calls = [
      [['Get', url], 'Get', [url]],
      [['Get', url, null, q, hd, 1500], 'Get', [url, q, hd, 1500]],
      [['Get', url, null, null, hd, 0], 'Get', [url, null, hd]],
      [['Post', url], 'Post', [url]],
      [['Post', url, { a: 1 }], 'Post', [url, { a: 1 }]],
      [['Post', url, 'text', null, hd], 'Post', [url, 'text', null, null, hd]], // the nil is `files`
      [['PostFiles', url, files], 'Post', [url, null, files]],
      [['PostFiles', url, files, { user: 'ada', n: 3 }], 'Post', [url, { user: 'ada', n: 3 }, files]],
      [['PostFiles', url, files, null, q, hd, 2000], 'Post', [url, null, files, q, hd, 2000]],
      [['PostFiles', url, {}, null, null, hd], 'Post', [url, null, {}, null, hd]], // an empty map: a plain POST
      [['Put', url, new Uint8Array([1])], 'Put', [url, new Uint8Array([1])]],
      [['Patch', url, { p: true }, q], 'Patch', [url, { p: true }, q]],
      [['Delete', url], 'Delete', [url]],
      [['Head', url], 'Head', [url]],
      [['OPTIONS', url], 'Send', ['OPTIONS', url]],
      [['put', url, [1, 2], null, null, 10], 'Send', ['put', url, [1, 2], null, null, 10]],
    ];
    for (const [args, method, sent] of calls) {
      h.apiCalls = [];
      h.call('HttpCall', ...args);
      assert.deepEqual(h.apiCalls, [{ import: 'http', method, args: sent }], JSON.stringify(args.slice(0, 1)));
    }
  });

  test(`${runtime}: a Response keeps status, headers and data; header() ignores case`, () => {
    const h = host();
    const headers = { 'content-type': ['application/json'], 'set-cookie': ['a=1', 'b=2'] };
    h.api = () => ({ status: 404, headers, data: { hello: 'world', n: [1, 2.5] } });
    assert.deepEqual(h.call('HttpCall', 'Get', 'http://h/x'),
      { status: 404, headers, data: { hello: 'world', n: [1, 2.5] }, type: 'application/json' });
    h.api = () => ({ status: 200, headers: {}, data: new Uint8Array([0, 159]) });
    assert.deepEqual(h.call('HttpCall', 'Get', 'http://h/x'),
      { status: 200, headers: {}, data: new Uint8Array([0, 159]), type: null });
  });

  test(`${runtime}: http errors keep their code; an answer that is not a response is a 500`, () => {
    const h = host();
    h.api = () => { throw { code: 403, message: 'http: 127.0.0.1:1 is not in http_allow' }; };
    assert.throws(() => h.call('HttpCall', 'Get', 'http://127.0.0.1:1/x'),
      { code: 403, message: 'http: 127.0.0.1:1 is not in http_allow' });
    h.api = () => { throw { code: 408, message: 'http: timed out' }; };
    assert.throws(() => h.call('HttpCall', 'Post', 'http://h/', {}), { code: 408 });
    h.api = () => 'not a response';
    assert.throws(() => h.call('HttpCall', 'Get', 'http://h/'),
      { code: 500, message: 'http.Get returned an unexpected value: a string without an integer status' });
  });

  // ---- host API: query (docs/ABI.md §8)

  test(`${runtime}: query sends the DSL and its bindings and returns the rows`, () => {
    const h = host();
    h.api = () => [{ id: 1 }, { id: 2 }];
    const dsl = { select: ['id'], from: 'user', wheres: [{ field: 'id', '>': '?:min' }] };
    assert.deepEqual(h.call('QueryCall', dsl), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(h.call('QueryCall', dsl, { min: 0 }), [{ id: 1 }, { id: 2 }]);
    assert.deepEqual(h.apiCalls, [{ import: 'query', args: [dsl] }, { import: 'query', args: [dsl, { min: 0 }] }]);
    h.api = () => { throw { code: 404, message: 'no process handler for query.Run' }; };
    assert.throws(() => h.call('QueryCall', dsl), { code: 404, message: 'no process handler for query.Run' });
  });

  test(`${runtime}: Query sends its engine and method, leaving defaults off the end`, () => {
    const h = host();
    h.api = () => [{ id: 1 }];
    const dsl = { from: 'user' };
    for (const [engine, method, bindings] of [['', 'Run', null], ['default', 'Get', null], ['stats', 'Paginate', null], ['', 'First', { id: 7 }], ['stats', 'Run', { id: 8 }]]) {
      assert.deepEqual(h.call('QueryEngineCall', engine, method, dsl, bindings), [{ id: 1 }]);
    }
    assert.deepEqual(h.apiCalls.map((c) => c.args), [
      [dsl], [dsl, null, null, 'Get'], [dsl, null, 'stats', 'Paginate'], [dsl, { id: 7 }, null, 'First'], [dsl, { id: 8 }, 'stats'],
    ]);
  });

  test(`${runtime}: context() reads the call context through yao.context`, () => {
    const h = host();
    const ctx = { sid: 'SID-42', global: { tenant: 't1' }, authorized: { user_id: 7, constraints: { team_only: true } } };
    h.api = (call) => { assert.equal(call.import, 'context'); return ctx; };
    assert.deepEqual(h.call('Context'), [ctx, 'SID-42']);
    // The empty context as the runtime sends it.
    const empty = { sid: '', global: {}, authorized: null };
    h.api = () => empty;
    assert.deepEqual(h.call('Context'), [empty, '']);
    assert.deepEqual(h.apiCalls, [{ import: 'context' }, { import: 'context' }]);
    h.api = () => { throw { code: 500, message: 'boom' }; };
    assert.throws(() => h.call('Context'), (e) => e.code === 500 && e.message === 'boom');
  });

  test(`${runtime}: all/race/Job/after/sleep go through yao.tasks and yao.sleep`, () => {
    const h = host();
    const results = [{ data: 1, index: 0 }, { data: null, index: 1, error: 'boom', code: 409 }];
    h.api = (call) => {
      if (call.import === 'sleep') return null;
      return { All: results, Job: 7, Running: false, Data: 'done', Cancel: null, After: null }[call.method];
    };
    assert.deepEqual(h.call('TasksCall', 15), [results, 7, false, 'done', null, null, null]);
    assert.deepEqual(h.apiCalls, [
      { import: 'tasks', method: 'All', args: [[{ process: 'scripts.a.Slow', args: [10] }, { process: 'models.user.Find', args: [], timeout: 0.5 }]] },
      { import: 'tasks', method: 'Job', args: ['scripts.report.Build', [42]] },
      { import: 'tasks', method: 'Running', args: [7, 10] },
      { import: 'tasks', method: 'Data', args: [7] },
      { import: 'tasks', method: 'Cancel', args: [7] },
      { import: 'tasks', method: 'After', args: [20, 'scripts.a.Mark', []] },
      { import: 'sleep', ms: 15n },
    ]);
    // The deadline's 408 comes back as the call's error, code kept.
    h.api = (call) => { if (call.import === 'sleep') throw { code: 408, message: 'timeout' }; return call.method === 'Job' ? 1 : results; };
    assert.throws(() => h.call('TasksCall', 5000), (e) => e.code === 408 && e.message === 'timeout');
  });

  test(`${runtime}: host-API answers, allocated in guest memory, do not leak`, () => {
    const h = host();
    h.api = () => 'x'.repeat(100000);
    callsInOneInstance(h, runtime, 'StoreCall', ['cache', 'Get', 'k']);
  });

  test(`${runtime}: the SDK's own encode/decode round-trip`, () => {
    const values = [1, -1, 2 ** 53, 2.5, 'ü', new Uint8Array([9]), [null, [true]], { k: { j: [] } }];
    assert.deepEqual(host().call('Roundtrip', ...values), values);
  });
}

/** Calls fn 50 times in one instance, each answering 100000+ bytes written
 *  through yao_alloc: memory must stay bounded with the incremental runtime
 *  (the answers are freed once decoded), and the calls just work with stub. */
function callsInOneInstance(h, runtime, fn, args) {
  const instance = h.instantiate();
  const arg = encode(args);
  for (let k = 0; k < 50; k++) {
    const ptr = instance.exports.yao_alloc(arg.length) >>> 0;
    new Uint8Array(instance.exports.memory.buffer, ptr, arg.length).set(arg);
    const packed = BigInt.asUintN(64, instance.exports[fn](ptr, arg.length));
    assert.equal(Number(packed & 0x7fffffffn) > 100000, true);
    assert.equal(Number(packed & 0x80000000n), 0);
  }
  // 50 answers of 100 KB each would need over 10 MB if none were freed.
  if (runtime === 'incremental') assert.ok(instance.exports.memory.buffer.byteLength < 8 * 1024 * 1024);
}

/** A host function with exactly these wasm param and result types (a tiny
 *  module that re-exports an import, so the engine checks the signature). */
function wasmFunction(params, results) {
  const code = { i32: 0x7f, i64: 0x7e };
  const vec = (xs) => [xs.length, ...xs];
  const str = (s) => vec([...Buffer.from(s)]);
  const section = (id, body) => [id, body.length, ...body];
  const bytes = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // one type, one imported function m.f of it, exported as f
    ...section(1, [1, 0x60, ...vec(params.map((p) => code[p])), ...vec(results.map((r) => code[r]))]),
    ...section(2, [1, ...str('m'), ...str('f'), 0x00, 0x00]),
    ...section(7, [1, ...str('f'), 0x00, 0x00])];
  const f = () => (results.length ? 0n : undefined);
  return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes)), { m: { f } }).exports.f;
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
