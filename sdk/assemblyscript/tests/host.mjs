// A stand-in for the yaowasm host (SPEC §3), in Node.js: enough of the guest
// ABI to drive a script module in tests. Values cross as MessagePack encoded
// and decoded by @msgpack/msgpack, an implementation independent of the SDK.
import { encode, decode } from '@msgpack/msgpack';

export const ERROR_BIT = 0x80000000;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** An answer given as exact MessagePack bytes. */
export class Raw {
  constructor(bytes) { this.bytes = bytes; }
}

export class Host {
  /** @param {WebAssembly.Module} module */
  constructor(module) {
    this.module = module;
    this.logs = [];
    this.calls = [];
    /** Answers yao.process: returns a value, or throws {code, message}. */
    this.process = () => { throw { code: 404, message: 'no process handler' }; };
    /** Every call of the host-API imports (store, store_get, store_set,
     *  store_del, fs, http, query, context, tasks, sleep), as a plain object: {import, name, key,
     *  value, ttl, root, method, args}, whichever the import takes. */
    this.apiCalls = [];
    /** Answers them: returns a value (new Raw(bytes) for exact bytes), or
     *  throws {code, message}. */
    this.api = () => { throw { code: 404, message: 'no host API handler' }; };
  }

  /** Records `call`, answers it through this.api and packs the answer; a
   *  nil answer is 0 on the fast paths (as yaowasm does), 0xc0 otherwise. */
  answer(instance, call, fastPath) {
    this.apiCalls.push(call);
    let bytes, isError = false;
    try {
      const value = this.api(call);
      if (value instanceof Raw) bytes = value.bytes;
      else if (value === null && fastPath) return 0n;
      else bytes = encode(value, { useBigInt64: true });
    } catch (e) {
      bytes = encode({ code: e.code ?? 500, message: String(e.message) });
      isError = true;
    }
    return this.pack(instance, bytes, isError);
  }

  /** A fresh instance, as yaowasm makes one per call. */
  instantiate() {
    let instance;
    const read = (ptr, len) => new Uint8Array(instance.exports.memory.buffer, ptr >>> 0, len).slice();
    const str = (ptr, len) => utf8.decode(read(ptr, len));
    const args = (ptr, len) => (len ? decode(read(ptr, len), { useBigInt64: true }) : []);
    const yao = {
      process: (namePtr, nameLen, argsPtr, argsLen) => {
        const name = utf8.decode(read(namePtr, nameLen));
        const args = argsLen ? decode(read(argsPtr, argsLen), { useBigInt64: true }) : [];
        this.calls.push([name, args]);
        let bytes, isError = false;
        try {
          bytes = encode(this.process(name, args), { useBigInt64: true });
        } catch (e) {
          bytes = encode({ code: e.code ?? 500, message: String(e.message) });
          isError = true;
        }
        return this.pack(instance, bytes, isError);
      },
      log: (level, ptr, len) => { this.logs.push([level, utf8.decode(read(ptr, len))]); },
      store: (np, nl, mp, ml, ap, al) =>
        this.answer(instance, { import: 'store', name: str(np, nl), method: str(mp, ml), args: args(ap, al) }),
      store_get: (np, nl, kp, kl) =>
        this.answer(instance, { import: 'store_get', name: str(np, nl), key: str(kp, kl) }, true),
      store_set: (np, nl, kp, kl, vp, vl, ttl) => this.answer(instance, {
        import: 'store_set', name: str(np, nl), key: str(kp, kl),
        value: decode(read(vp, vl), { useBigInt64: true }), valueBytes: read(vp, vl), ttl,
      }, true),
      store_del: (np, nl, kp, kl) =>
        this.answer(instance, { import: 'store_del', name: str(np, nl), key: str(kp, kl) }, true),
      fs: (rp, rl, mp, ml, ap, al) =>
        this.answer(instance, { import: 'fs', root: str(rp, rl), method: str(mp, ml), args: args(ap, al) }),
      http: (mp, ml, ap, al) => this.answer(instance, { import: 'http', method: str(mp, ml), args: args(ap, al) }),
      query: (ap, al) => this.answer(instance, { import: 'query', args: args(ap, al) }),
      context: () => this.answer(instance, { import: 'context' }),
      tasks: (mp, ml, ap, al) => this.answer(instance, { import: 'tasks', method: str(mp, ml), args: args(ap, al) }),
      sleep: (ms) => this.answer(instance, { import: 'sleep', ms }),
    };
    instance = new WebAssembly.Instance(this.module, { yao });
    return instance;
  }

  /** Writes bytes through yao_alloc and returns the packed i64. */
  pack(instance, bytes, isError) {
    const ptr = instance.exports.yao_alloc(bytes.length) >>> 0;
    if (ptr === 0) throw new Error('yao_alloc returned 0');
    new Uint8Array(instance.exports.memory.buffer, ptr, bytes.length).set(bytes);
    return BigInt.asIntN(64, (BigInt(ptr) << 32n) | BigInt(isError ? (bytes.length | ERROR_BIT) >>> 0 : bytes.length));
  }

  /** Calls fn with raw argument bytes: {ok: bytes} | {error: bytes} | {nil: true}. */
  callRaw(fn, argBytes) {
    const instance = this.instantiate();
    const ptr = argBytes.length ? instance.exports.yao_alloc(argBytes.length) >>> 0 : 0;
    if (argBytes.length) new Uint8Array(instance.exports.memory.buffer, ptr, argBytes.length).set(argBytes);
    const packed = BigInt.asUintN(64, instance.exports[fn](ptr, argBytes.length));
    if (packed === 0n) return { nil: true };
    const rptr = Number(packed >> 32n);
    const rlen = Number(packed & 0xffffffffn);
    const len = rlen & 0x7fffffff;
    const bytes = new Uint8Array(instance.exports.memory.buffer, rptr, len).slice();
    return (rlen & ERROR_BIT) ? { error: bytes } : { ok: bytes };
  }

  /** Calls fn with args; returns the decoded result, or throws the decoded error value. */
  call(fn, ...args) {
    const r = this.callRaw(fn, encode(args, { useBigInt64: true }));
    if (r.nil) return null;
    if (r.error) {
      const e = decode(r.error);
      throw Object.assign(new Error(`${e.code} ${e.message}`), e);
    }
    return decode(r.ok, { useBigInt64: true });
  }
}
