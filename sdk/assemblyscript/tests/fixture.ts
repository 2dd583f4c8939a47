// A script module that uses the SDK the way a user does, compiled by the
// tests and driven from Node.js (sdk.test.mjs) through a stand-in host.
import * as yao from "../index";
import { FS, http, Job, Query, Response, Store, Task, Value, yao_alloc, yao_free } from "../index";

export { yao_alloc, yao_free };

export function Echo(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, echo); }
export function Build(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, build); }
export function Describe(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, describe); }
export function Fail(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, failing); }
export function NestedError(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nestedError); }
export function Call(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, call); }
export function Logs(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, logs); }
export function Nothing(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nothing); }
export function Roundtrip(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, roundtrip); }
export function StoreCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, storeCall); }
export function FsCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, fsCall); }
export function HttpCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, httpCall); }
export function QueryCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, queryCall); }
export function QueryEngineCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, queryEngineCall); }
export function Context(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, readContext); }
export function TasksCall(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, tasksCall); }

/** TasksCall(): every tasks/sleep wrapper once, their answers in an array
 *  (the first error value ends it). */
function tasksCall(args: Value[]): Value {
  const out = Value.array();
  const all = yao.all([new Task("scripts.a.Slow", Value.from<i32[]>([10])), new Task("models.user.Find", Value.array(), 0.5)]);
  if (all.isError()) return all;
  out.push(all);
  if (yao.race([]).length != 0) return yao.fail(500, "race of no tasks");
  const job = Job.start("scripts.report.Build", Value.from<i32[]>([42]));
  if (job == null) return Job.lastError;
  out.push(Value.fromInt(job.id)).push(job.running(10)).push(job.data()).push(job.cancel());
  out.push(yao.after(20, "scripts.a.Mark"));
  const slept = yao.sleep(arg(args, 0).asInt());
  if (slept.isError()) return slept;
  out.push(slept);
  return out;
}

/** Context(): the call context, and its sid read on its own. */
function readContext(args: Value[]): Value {
  const ctx = yao.context();
  if (ctx.isError()) return ctx;
  return Value.array().push(ctx).push(ctx.get("sid"));
}

function echo(args: Value[]): Value { return Value.fromArray(args); }

function ints(): Value {
  const out = Value.array();
  const xs: i64[] = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, i64.MAX_VALUE,
    -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, i64.MIN_VALUE];
  for (let k = 0; k < xs.length; k++) out.push(Value.fromInt(xs[k]));
  return out;
}

/** Every kind, built with the constructors; the test compares the bytes. */
function build(args: Value[]): Value {
  const bytes = new Uint8Array(3);
  bytes[0] = 1; bytes[1] = 2; bytes[2] = 255;
  return Value.map()
    .set("ints", ints())
    .set("floats", Value.fromArray([Value.fromFloat(3.0), Value.fromFloat(-0.5), Value.fromFloat(1e300)]))
    .set("nil", Value.nil())
    .set("t", Value.fromBool(true))
    .set("f", Value.fromBool(false))
    .set("s", Value.fromString("héllo ✓ 😀"))
    .set("s31", Value.fromString("x".repeat(31)))
    .set("s32", Value.fromString("x".repeat(32)))
    .set("s256", Value.fromString("x".repeat(256)))
    .set("s65536", Value.fromString("x".repeat(65536)))
    .set("bytes", Value.fromBytes(bytes))
    .set("a16", Value.from<i32[]>([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]))
    .set("from", Value.from<string[]>(["a", "b"]))
    .set("fromScalars", Value.fromArray([Value.from<bool>(true), Value.from<u8>(200), Value.from<f64>(0.25), Value.from<string>("z")]))
    .set("m16", map16())
    .set("empty", Value.fromArray([Value.array(), Value.map()]));
}

function map16(): Value {
  const m = Value.map();
  for (let k = 0; k < 16; k++) m.set("k" + k.toString(), Value.fromInt(k));
  return m;
}

/** What the accessors say about each argument. */
function describe(args: Value[]): Value {
  const out = Value.array();
  for (let k = 0; k < args.length; k++) {
    const v = args[k];
    out.push(Value.map()
      .set("kind", Value.fromString(v.kindName()))
      .set("bool", Value.fromBool(v.asBool()))
      .set("int", Value.fromInt(v.asInt()))
      .set("float", Value.fromFloat(v.asFloat()))
      .set("string", Value.fromString(v.asString()))
      .set("length", Value.fromInt(v.length))
      .set("keys", Value.from<string[]>(v.keys()))
      .set("first", v.at(0))
      .set("a", v.get("a"))
      .set("hasA", Value.fromBool(v.has("a"))));
  }
  return out;
}

function failing(args: Value[]): Value {
  return yao.fail(<i32>args[0].asInt(), args[1].asString());
}

function nestedError(args: Value[]): Value {
  return Value.array().push(Value.fromInt(1)).push(yao.fail(409, "inner"));
}

/** Call(name, ...args): runs a process and returns what it answers. */
function call(args: Value[]): Value {
  return yao.process(args[0].asString(), args.slice(1));
}

function logs(args: Value[]): Value {
  const msg = args[0].asString();
  yao.log.trace(msg);
  yao.log.debug(msg);
  yao.log.info(msg);
  yao.log.warn(msg);
  yao.log.error(msg);
  return Value.nil();
}

function nothing(args: Value[]): Value { return Value.nil(); }

/** Encodes its arguments with the SDK's codec and decodes them again. */
function roundtrip(args: Value[]): Value {
  const bytes = yao.encode(Value.fromArray(args));
  const back = yao.decode(bytes);
  if (!back.ok) return yao.fail(500, back.error as string);
  return back.value;
}

function arg(args: Value[], k: i32): Value { return k < args.length ? args[k] : Value.nil(); }

/** StoreCall(store, method, key?, value?, ttl?): one Store method; a ttl of
 *  nil leaves the argument out (the default). For the list methods `value`
 *  is the values array, the position, index, skip or page, and `ttl` the
 *  ArraySet value, the limit or the page size; for Incr `ttl` is `by`. */
function storeCall(args: Value[]): Value {
  const store = new Store(args[0].asString());
  const method = args[1].asString();
  const key = arg(args, 2).asString();
  const value = arg(args, 3);
  const ttl = arg(args, 4);
  if (method == "Get") return store.Get(key);
  if (method == "Set") return ttl.isNil() ? store.Set(key, value) : store.Set(key, value, ttl.asInt());
  if (method == "Has") return store.Has(key);
  if (method == "Del") return store.Del(key);
  if (method == "Keys") return store.Keys();
  if (method == "Len") return store.Len();
  if (method == "Clear") return store.Clear();
  if (method == "GetSet") return ttl.isNil() ? store.GetSet(key, value) : store.GetSet(key, value, ttl.asInt());
  if (method == "GetDel") return store.GetDel(key);
  if (method == "Incr") return ttl.isNil() ? store.Incr(key) : store.Incr(key, ttl.asInt());
  if (method == "IncrFloat") return store.IncrFloat(key, value.asFloat());
  if (method == "Push") return store.Push(key, value.asArray());
  if (method == "Pop") return store.Pop(key, value.asInt());
  if (method == "Pull") return store.Pull(key, value);
  if (method == "PullAll") return store.PullAll(key, value.asArray());
  if (method == "PullAllFailed") return store.PullAll(key, [Value.fromInt(1), yao.process("utils.fails")]);
  if (method == "AddToSet") return store.AddToSet(key, value.asArray());
  if (method == "ArrayLen") return store.ArrayLen(key);
  if (method == "ArrayGet") return store.ArrayGet(key, value.asInt());
  if (method == "ArraySet") return store.ArraySet(key, value.asInt(), ttl);
  if (method == "ArraySlice") return store.ArraySlice(key, value.asInt(), ttl.asInt());
  if (method == "ArrayPage") return store.ArrayPage(key, value.asInt(), ttl.asInt());
  if (method == "ArrayAll") return store.ArrayAll(key);
  if (method == "SetFailed") return store.Set(key, yao.process("utils.fails"));
  if (method == "call") return store.call(key, value.asArray());
  return yao.fail(400, "no such Store method " + method);
}

/** FsCall(root, method, path?, other?, perm?): one FS method. `other` is
 *  the data, the destination or the recursive flag. */
function fsCall(args: Value[]): Value {
  const fs = new FS(args[0].asString());
  const method = args[1].asString();
  const path = arg(args, 2).asString();
  const other = arg(args, 3);
  const perm = arg(args, 4);
  const p = perm.isNil() ? -1 : <i32>perm.asInt();
  if (method == "ReadFile") return fs.ReadFile(path);
  if (method == "ReadFileBuffer") return fs.ReadFileBuffer(path);
  if (method == "WriteFile") return perm.isNil() ? fs.WriteFile(path, other.asString()) : fs.WriteFile(path, other.asString(), p);
  if (method == "WriteFileBuffer") return fs.WriteFileBuffer(path, other.asBytes(), p);
  if (method == "AppendFile") return other.isBytes() ? fs.AppendFile(path, other.asBytes(), p) : fs.AppendFile(path, other.asString(), p);
  if (method == "Exists") return fs.Exists(path);
  if (method == "IsDir") return fs.IsDir(path);
  if (method == "IsFile") return fs.IsFile(path);
  if (method == "ReadDir") return other.isNil() ? fs.ReadDir(path) : fs.ReadDir(path, other.asBool());
  if (method == "Mkdir") return perm.isNil() ? fs.Mkdir(path) : fs.Mkdir(path, p);
  if (method == "MkdirAll") return fs.MkdirAll(path, p);
  if (method == "Remove") return fs.Remove(path);
  if (method == "RemoveAll") return fs.RemoveAll(path);
  if (method == "Size") return fs.Size(path);
  if (method == "Move") return fs.Move(path, other.asString());
  if (method == "Copy") return fs.Copy(path, other.asString());
  return yao.fail(400, "no such FS method " + method);
}

/** HttpCall(method, url, payload?, query?, headers?, timeoutMs?): one http
 *  function (PostFiles: method, url, files, fields?, query?, headers?,
 *  timeoutMs?), answered as {status, headers, data, type} (type: the
 *  Content-Type header through header()) or the error. */
function httpCall(args: Value[]): Value {
  const method = args[0].asString();
  const url = args[1].asString();
  const n = args.length;
  let res: Response;
  if (method == "Get") {
    res = n <= 2 ? http.Get(url) : http.Get(url, arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  } else if (method == "Post") {
    res = n <= 2 ? http.Post(url) : http.Post(url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  } else if (method == "PostFiles") { // (method, url, files, fields?, query?, headers?, timeoutMs?)
    res = n <= 3 ? http.PostFiles(url, arg(args, 2))
      : http.PostFiles(url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5), arg(args, 6).asInt());
  } else if (method == "Put") {
    res = http.Put(url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  } else if (method == "Patch") {
    res = http.Patch(url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  } else if (method == "Delete") {
    res = http.Delete(url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  } else if (method == "Head") {
    res = http.Head(url);
  } else {
    res = http.Send(method, url, arg(args, 2), arg(args, 3), arg(args, 4), arg(args, 5).asInt());
  }
  if (res.isError()) return res.error;
  const type = res.header("Content-Type");
  return res.toValue().set("type", type == null ? Value.nil() : Value.fromString(type));
}

/** QueryCall(dsl, ...bindings) */
function queryCall(args: Value[]): Value {
  return yao.query(arg(args, 0), args.slice(1));
}

/** QueryEngineCall(engine, method, dsl, bindings?): new Query(engine).<method>(dsl, bindings). */
function queryEngineCall(args: Value[]): Value {
  const q = new Query(arg(args, 0).asString());
  const method = arg(args, 1).asString();
  const dsl = arg(args, 2);
  const bindings = arg(args, 3);
  if (method == "Get") return q.Get(dsl, bindings);
  if (method == "First") return q.First(dsl, bindings);
  if (method == "Paginate") return q.Paginate(dsl, bindings);
  return q.Run(dsl, bindings);
}
