// The example app's user script in AssemblyScript: built to
// examples/app/scripts/assemblyscript/user.wasm, it serves
// scripts.assemblyscript.user.<Fn>. The same functions, with the same
// behaviour, exist in every guest language.
import * as yao from "@yaoapp/yaowasm-as";
import { FS, http, Response, Store, Task, Value, yao_alloc, yao_free } from "@yaoapp/yaowasm-as";

// The host writes arguments through these: every script module exports them.
export { yao_alloc, yao_free };

export function Check(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, check); }
export function BeforeSave(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, beforeSave); }
export function Deny(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, deny); }
export function Log(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, logAll); }
export function Echo(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, echo); }
export function Add(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, add); }
export function Nested(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, nested); }
export function StoreRoundTrip(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, storeRoundTrip); }
export function StoreLists(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, storeLists); }
export function FsRoundTrip(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, fsRoundTrip); }
export function FsRead(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, fsRead); }
export function HttpGet(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, httpGet); }
export function HttpPost(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, httpPost); }
export function HttpMethods(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, httpMethods); }
export function HttpUpload(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, httpUpload); }
export function Query(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, queryRows); }
export function Context(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, readContext); }
export function Parallel(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, parallel); }

/** The first argument, nil when there is none. */
function first(args: Value[]): Value {
  return args.length > 0 ? args[0] : Value.nil();
}

/** Validates a user payload: {"valid": bool, "errors": [string]}. */
function check(args: Value[]): Value {
  const user = first(args);
  if (!user.isMap()) return yao.fail(400, "payload must be a map");
  const errors = Value.array();
  const name = user.get("name");
  if (!name.isString() || name.asString().length == 0) errors.push(Value.fromString("name is required"));
  const email = user.get("email");
  if (!email.isString() || !email.asString().includes("@")) errors.push(Value.fromString("email is invalid"));
  const age = user.get("age");
  if (!age.isNil() && (!age.isInt() || age.asInt() < 0 || age.asInt() > 150)) {
    errors.push(Value.fromString("age is out of range"));
  }
  return Value.map().set("valid", Value.fromBool(errors.length == 0)).set("errors", errors);
}

/** Loads the stored user and merges the payload over it. */
function beforeSave(args: Value[]): Value {
  const user = first(args);
  if (!user.isMap()) return yao.fail(400, "payload must be a map");
  const found = yao.process("models.user.Find", [user.get("id")]);
  if (found.isError()) return found; // keeps the process's code and message
  const merged = Value.map();
  const stored = found.keys();
  for (let k = 0; k < stored.length; k++) merged.set(stored[k], found.get(stored[k]));
  const keys = user.keys();
  for (let k = 0; k < keys.length; k++) merged.set(keys[k], user.get(keys[k]));
  return merged;
}

/** Always refuses. */
function deny(args: Value[]): Value {
  return yao.fail(403, "denied");
}

/** Writes its message once at every level. */
function logAll(args: Value[]): Value {
  const msg = first(args).asString();
  yao.log.trace(msg);
  yao.log.debug(msg);
  yao.log.info(msg);
  yao.log.warn(msg);
  yao.log.error(msg);
  return Value.nil();
}

/** Returns its arguments unchanged. */
function echo(args: Value[]): Value {
  return Value.fromArray(args);
}

/** Sums two integers. */
function add(args: Value[]): Value {
  if (args.length != 2 || !args[0].isInt() || !args[1].isInt()) return yao.fail(400, "Add expects two integers");
  return Value.fromInt(args[0].asInt() + args[1].asInt());
}

/** Runs this script's own Check through the process table. */
function nested(args: Value[]): Value {
  const verdict = yao.process("scripts.assemblyscript.user.Check", [first(args)]);
  if (verdict.isError()) return verdict;
  const valid = verdict.get("valid");
  if (!valid.isBool()) return yao.fail(500, "scripts.assemblyscript.user.Check returned no verdict");
  return valid;
}

/** Argument `k`, nil when there is none. */
function arg(args: Value[], k: i32): Value {
  return k < args.length ? args[k] : Value.nil();
}

/** The string argument `k`, or null (the caller answers 400). */
function stringArg(args: Value[], k: i32): string | null {
  const v = arg(args, k);
  return v.isString() ? v.asString() : null;
}

/** Records `v` in `seen` and returns it (StoreLists checks them all at the end). */
function kept(seen: Value[], v: Value): Value {
  seen.push(v);
  return v;
}

/** StoreLists(store, key): the list methods and Incr, in order, on `key`
 *  and `<key>:n` (both removed first and left absent). past_end and
 *  empty_pop are the codes of the two errors the steps expect; any other
 *  error is passed on as it is. */
function storeLists(args: Value[]): Value {
  const name = stringArg(args, 0), key = stringArg(args, 1);
  if (name == null || key == null) return yao.fail(400, "StoreLists expects a store name and a key");
  const s = new Store(name);
  const k: string = key;
  const counter = k + ":n";
  const seen: Value[] = [];
  kept(seen, s.Del(k));
  kept(seen, s.Del(counter));
  kept(seen, s.Push(k, [Value.fromInt(1), Value.fromString("two")]));
  kept(seen, s.Push(k, [Value.fromInt(3)]));
  kept(seen, s.AddToSet(k, [Value.fromString("two"), Value.fromInt(4), Value.fromInt(4)]));
  const out = Value.map()
    .set("len", kept(seen, s.ArrayLen(k)))
    .set("all", kept(seen, s.ArrayAll(k)))
    .set("page", kept(seen, s.ArrayPage(k, 2, 3)))
    .set("slice", kept(seen, s.ArraySlice(k, 1, 2)))
    .set("get", kept(seen, s.ArrayGet(k, 1)))
    .set("past_end", Value.fromInt(s.ArrayGet(k, 9).errorCode()));
  kept(seen, s.ArraySet(k, 0, Value.fromString("one")));
  out.set("last", kept(seen, s.Pop(k, 1)));
  out.set("first", kept(seen, s.Pop(k, -1)));
  kept(seen, s.Pull(k, Value.fromInt(3)));
  kept(seen, s.PullAll(k, [Value.fromString("two")]));
  out.set("rest", kept(seen, s.ArrayAll(k)));
  out.set("len_after", kept(seen, s.ArrayLen(k)));
  out.set("empty_pop", Value.fromInt(s.Pop(k, 1).errorCode()));
  kept(seen, s.Incr(counter));
  out.set("count", kept(seen, s.Incr(counter, 4)));
  kept(seen, s.Del(counter));
  for (let i = 0; i < seen.length; i++) if (seen[i].isError()) return seen[i];
  return out;
}

/** StoreRoundTrip(store, key, value): every Store method, in order, on an
 *  emptied store; each failure is passed on as it is. */
function storeRoundTrip(args: Value[]): Value {
  const name = stringArg(args, 0), key = stringArg(args, 1);
  if (name == null || key == null) return yao.fail(400, "StoreRoundTrip expects a store name, a key and a value");
  const store = new Store(name);
  const value = arg(args, 2);
  const cleared = store.Clear();
  if (cleared.isError()) return cleared;
  const set = store.Set(key, value, 60);
  if (set.isError()) return set;
  const get = store.Get(key);
  if (get.isError()) return get;
  const has = store.Has(key);
  if (has.isError()) return has;
  const kept = store.GetSet(key, Value.fromString("other"));
  if (kept.isError()) return kept;
  const fresh = store.GetSet("fresh", Value.fromString("new"));
  if (fresh.isError()) return fresh;
  const keys = store.Keys();
  if (keys.isError()) return keys;
  const count = store.Len();
  if (count.isError()) return count;
  const taken = store.GetDel(key);
  if (taken.isError()) return taken;
  const after = store.Get(key);
  if (after.isError()) return after;
  const deleted = store.Del("fresh");
  if (deleted.isError()) return deleted;
  const hasAfter = store.Has("fresh");
  if (hasAfter.isError()) return hasAfter;
  return Value.map()
    .set("get", get)
    .set("has", has)
    .set("kept", kept)
    .set("fresh", fresh)
    .set("keys", keys)
    .set("len", count)
    .set("taken", taken)
    .set("after", after)
    .set("has_after", hasAfter);
}

/** FsRoundTrip(dir, text): every FS method under the root "data". */
function fsRoundTrip(args: Value[]): Value {
  const dir = stringArg(args, 0), text = stringArg(args, 1);
  if (dir == null || text == null) return yao.fail(400, "FsRoundTrip expects a directory and a text");
  const data = new FS("data");
  const file = dir + "/note.txt";
  const bang = new Uint8Array(1);
  bang[0] = 0x21; // "!"
  const raw = new Uint8Array(3);
  raw[1] = 1; raw[2] = 2;
  // Each step answers a value or an error value; the first error ends the trip.
  const made = data.MkdirAll(dir);
  if (made.isError()) return made;
  const written = data.WriteFile(file, text);
  if (written.isError()) return written;
  const appended = data.AppendFile(file, bang);
  if (appended.isError()) return appended;
  const read = data.ReadFile(file);
  if (read.isError()) return read;
  const exists = data.Exists(file);
  if (exists.isError()) return exists;
  const isFile = data.IsFile(file);
  if (isFile.isError()) return isFile;
  const isDir = data.IsDir(dir);
  if (isDir.isError()) return isDir;
  const size = data.Size(file);
  if (size.isError()) return size;
  const copied = data.Copy(file, dir + "/copy.txt");
  if (copied.isError()) return copied;
  const moved = data.Move(dir + "/copy.txt", dir + "/moved.txt");
  if (moved.isError()) return moved;
  const list = data.ReadDir(dir, false);
  if (list.isError()) return list;
  const removed = data.Remove(dir + "/moved.txt");
  if (removed.isError()) return removed;
  const sub = data.Mkdir(dir + "/sub");
  if (sub.isError()) return sub;
  const rawWritten = data.WriteFileBuffer(dir + "/sub/raw.bin", raw);
  if (rawWritten.isError()) return rawWritten;
  const tree = data.ReadDir(dir, true);
  if (tree.isError()) return tree;
  const removedAll = data.RemoveAll(dir);
  if (removedAll.isError()) return removedAll;
  const still = data.Exists(dir);
  if (still.isError()) return still;
  return Value.map()
    .set("written", written)
    .set("appended", appended)
    .set("read", read)
    .set("exists", exists)
    .set("is_file", isFile)
    .set("is_dir", isDir)
    .set("size", size)
    .set("list", list)
    .set("tree", tree)
    .set("gone", Value.fromBool(!still.asBool()));
}

/** FsRead(path): the text of a file under "data" (errors pass on). */
function fsRead(args: Value[]): Value {
  const path = stringArg(args, 0);
  if (path == null) return yao.fail(400, "FsRead expects a path");
  return new FS("data").ReadFile(path);
}

/** What the Http functions keep of an answer: {status, <key>: the first
 *  value of the response header `header` (nil when absent), data}; HttpGet
 *  and HttpPost keep content-type as content_type. */
function seen(res: Response, key: string = "content_type", header: string = "content-type"): Value {
  if (res.isError()) return res.error;
  const value = res.header(header);
  return Value.map()
    .set("status", Value.fromInt(res.status))
    .set(key, value == null ? Value.nil() : Value.fromString(value))
    .set("data", res.data);
}

/** HttpGet(url) */
function httpGet(args: Value[]): Value {
  const url = stringArg(args, 0);
  if (url == null) return yao.fail(400, "HttpGet expects a URL");
  return seen(http.Get(url));
}

/** HttpPost(url, payload): a JSON body. */
function httpPost(args: Value[]): Value {
  const url = stringArg(args, 0);
  if (url == null) return yao.fail(400, "HttpPost expects a URL and a payload");
  return seen(http.Post(url, arg(args, 1)));
}

/** What HttpMethods keeps of an answer: {status, echo (the X-Echo header),
 *  data}. */
function echoed(res: Response): Value {
  return seen(res, "echo", "x-echo");
}

/** The query {q: step}. */
function stepQuery(step: string): Value {
  return Value.map().set("q", Value.fromString(step));
}

/** The headers {X-Conformance: step}. */
function stepHeaders(step: string): Value {
  return Value.map().set("X-Conformance", Value.fromString(step));
}

/** HttpMethods(base): Put (JSON), Patch (text), Delete, Head and
 *  Send("OPTIONS", with a timeout), each with the query q=<step> and the
 *  header X-Conformance: <step>. */
function httpMethods(args: Value[]): Value {
  const url = stringArg(args, 0);
  if (url == null) return yao.fail(400, "HttpMethods expects a URL");
  const out = Value.map();
  const json = Value.map()
    .set("name", Value.fromString("Ada"))
    .set("tags", Value.fromArray([Value.fromInt(1), Value.fromInt(2)]));
  const put = echoed(http.Put(url, json, stepQuery("put"), stepHeaders("put")));
  if (put.isError()) return put;
  out.set("put", put);
  const patch = echoed(http.Patch(url, Value.fromString("patch text"), stepQuery("patch"), stepHeaders("patch")));
  if (patch.isError()) return patch;
  out.set("patch", patch);
  const del = echoed(http.Delete(url, Value.nil(), stepQuery("delete"), stepHeaders("delete")));
  if (del.isError()) return del;
  out.set("delete", del);
  const head = echoed(http.Head(url, Value.nil(), stepQuery("head"), stepHeaders("head")));
  if (head.isError()) return head;
  out.set("head", head);
  const options = echoed(http.Send("OPTIONS", url, Value.nil(), stepQuery("options"), stepHeaders("options"), 5000));
  if (options.isError()) return options;
  return out.set("options", options);
}

/** HttpUpload(base): writes conformance/upload/a.txt (text) and b.bin
 *  (bytes 0 1 2 255) under "data", posts them as the form fields doc and raw
 *  with the fields {user, n} to <base>/upload (multipart/form-data), removes
 *  the folder, and answers {status, data}. */
function httpUpload(args: Value[]): Value {
  const base = stringArg(args, 0);
  if (base == null) return yao.fail(400, "HttpUpload expects a base URL");
  const data = new FS("data");
  const dir = "conformance/upload";
  const bytes = new Uint8Array(4);
  bytes[1] = 1; bytes[2] = 2; bytes[3] = 255;
  const made = data.MkdirAll(dir);
  if (made.isError()) return made;
  const text = data.WriteFile(dir + "/a.txt", "héllo, upload");
  if (text.isError()) return text;
  const raw = data.WriteFileBuffer(dir + "/b.bin", bytes);
  if (raw.isError()) return raw;
  const files = Value.map()
    .set("doc", Value.fromString(dir + "/a.txt"))
    .set("raw", Value.fromString(dir + "/b.bin"));
  const fields = Value.map().set("user", Value.fromString("Ada")).set("n", Value.fromInt(3));
  const res = http.PostFiles(base + "/upload", files, fields);
  const removed = data.RemoveAll(dir);
  if (removed.isError()) return removed;
  if (res.isError()) return res.error;
  return Value.map().set("status", Value.fromInt(res.status)).set("data", res.data);
}

/** Query(dsl): the rows the host's QueryDSL answers. */
function queryRows(args: Value[]): Value {
  return yao.query(first(args));
}

/** Context(): the call context, as the SDK reads it. */
function readContext(args: Value[]): Value {
  return yao.context();
}

/** Parallel(ms): sleeps ms, then finds users 1 and 2 in parallel; gou's
 *  [{data, index}, {data, index, error, code}] as the host answers it. */
function parallel(args: Value[]): Value {
  const slept = yao.sleep(first(args).asInt());
  if (slept.isError()) return slept;
  return yao.all([
    new Task("models.user.Find", Value.from<i32[]>([1])),
    new Task("models.user.Find", Value.from<i32[]>([2])),
  ]);
}
