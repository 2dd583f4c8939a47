/// <reference path="../../../../sdk/typescript/types/yao.d.ts" />
// The example `user` script in TypeScript: `yaowasm build` turns it into
// user.wasm beside it (a small hook run by yaowasm's shared QuickJS engine).
// Every top-level function is callable as scripts.ts.user.<Function>,
// exported or not, as in Yao.

interface Verdict {
  valid: boolean;
  errors: string[];
}

type Payload = Record<string, unknown>;

export function Check(payload: Payload): Verdict {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new Exception("payload must be a map", 400);
  }
  const errors: string[] = [];
  const { name, email, age } = payload;
  if (typeof name !== "string" || name.length === 0) errors.push("name is required");
  if (typeof email !== "string" || !email.includes("@")) errors.push("email is invalid");
  if (age !== undefined && age !== null && !(Number.isInteger(age) && (age as number) >= 0 && (age as number) <= 150)) {
    errors.push("age is out of range");
  }
  return { valid: errors.length === 0, errors };
}

export function BeforeSave(payload: Payload): Payload {
  // A failed Process throws an Exception with the host's code and message;
  // it goes on to our caller unchanged.
  const found = Process("models.user.Find", payload.id) as Payload;
  return { ...found, ...payload };
}

export function Deny(): never {
  throw new Exception("denied", 403);
}

function Log(msg: string): null {
  log.Trace(msg);
  log.Debug(msg);
  log.Info(msg);
  log.Warn(msg);
  log.Error(msg);
  return null;
}

function Echo(...args: unknown[]): unknown[] {
  return args;
}

function Add(a: unknown, b: unknown): number {
  if (!Number.isInteger(a) || !Number.isInteger(b)) {
    throw new Exception("Add expects two integers", 400);
  }
  return (a as number) + (b as number);
}

function Nested(payload: Payload): boolean {
  return (Process("scripts.ts.user.Check", payload) as Verdict).valid;
}

// The host API cases: the same steps, in the same order, as the Rust example
// (examples/guests/rust/src/lib.rs), with Yao's Store, FS, http and Query.

/** StoreRoundTrip(store, key, value): every Store method, in order, on an emptied store. */
function StoreRoundTrip(name: string, key: string, value: unknown) {
  const store = new Store(name);
  store.Clear();
  store.Set(key, value, 60);
  const get = store.Get(key) ?? null;
  const has = store.Has(key);
  const kept = store.GetSet(key, "other");
  const fresh = store.GetSet("fresh", "new");
  const keys = store.Keys();
  const len = store.Len();
  const taken = store.GetDel(key) ?? null;
  const after = store.Get(key) ?? null;
  store.Del("fresh");
  const has_after = store.Has("fresh");
  return { get, has, kept, fresh, keys, len, taken, after, has_after };
}

/** FsRoundTrip(dir, text): every FS method under the root "data". */
function FsRoundTrip(dir: string, text: string) {
  const data = new FS("data");
  const file = `${dir}/note.txt`;
  data.MkdirAll(dir);
  const written = data.WriteFile(file, text);
  const appended = data.AppendFile(file, Uint8Array.of(0x21)); // "!"
  const read = data.ReadFile(file);
  const [exists, is_file, is_dir] = [data.Exists(file), data.IsFile(file), data.IsDir(dir)];
  const size = data.Size(file);
  data.Copy(file, `${dir}/copy.txt`);
  data.Move(`${dir}/copy.txt`, `${dir}/moved.txt`);
  const list = data.ReadDir(dir, false);
  data.Remove(`${dir}/moved.txt`);
  data.Mkdir(`${dir}/sub`);
  data.WriteFileBuffer(`${dir}/sub/raw.bin`, Uint8Array.of(0, 1, 2));
  const tree = data.ReadDir(dir, true);
  data.RemoveAll(dir);
  const gone = !data.Exists(dir);
  return { written, appended, read, exists, is_file, is_dir, size, list, tree, gone };
}

/** FsRead(path): the text of a file under "data" (errors pass on). */
function FsRead(path: string): string {
  return new FS("data").ReadFile(path);
}

// Not a script function (only top-level function declarations are).
const seen = (r: HttpResponse) => ({ status: r.status, content_type: r.headers["content-type"]?.[0] ?? null, data: r.data });

function HttpGet(url: string) {
  return seen(http.Get(url));
}

/** HttpPost(url, payload): a JSON body. */
function HttpPost(url: string, payload: unknown) {
  return seen(http.Post(url, payload));
}

// What HttpMethods keeps of an answer: the status, the X-Echo header, the body.
const echoed = (r: HttpResponse) => ({ status: r.status, echo: r.headers["x-echo"]?.[0] ?? null, data: r.data });

/** HttpMethods(base): Put (JSON), Patch (text), Delete, Head and
 * Send("OPTIONS", with a timeout), each with the query q=<step> and the
 * header X-Conformance: <step>. */
function HttpMethods(base: string) {
  const q = (step: string) => ({ q: step });
  const h = (step: string) => ({ "X-Conformance": step });
  const put = echoed(http.Put(base, { name: "Ada", tags: [1, 2] }, q("put"), h("put")));
  const patch = echoed(http.Patch(base, "patch text", q("patch"), h("patch")));
  const del = echoed(http.Delete(base, null, q("delete"), h("delete")));
  const head = echoed(http.Head(base, null, q("head"), h("head")));
  const options = echoed(http.Send("OPTIONS", base, null, q("options"), h("options"), 5000));
  return { put, patch, delete: del, head, options };
}

/** HttpUpload(base): writes conformance/upload/a.txt (text) and b.bin
 * (bytes 0 1 2 255) under "data", posts them as the form fields doc and raw
 * with the fields {user, n} to <base>/upload (multipart/form-data), removes
 * the folder, and answers {status, data}. */
function HttpUpload(base: string) {
  const data = new FS("data");
  const dir = "conformance/upload";
  data.MkdirAll(dir);
  data.WriteFile(`${dir}/a.txt`, "héllo, upload");
  data.WriteFileBuffer(`${dir}/b.bin`, Uint8Array.of(0, 1, 2, 255));
  try {
    const r = http.Post(`${base}/upload`, { user: "Ada", n: 3 }, { doc: `${dir}/a.txt`, raw: `${dir}/b.bin` });
    return { status: r.status, data: r.data };
  } finally {
    data.RemoveAll(dir);
  }
}

/** Query(dsl): what the host's QueryDSL answers for the DSL on the default
 * engine (Run, as every language's Query does: [dsl] goes to query.Run).
 * This function shadows the global Query inside the file, hence globalThis. */
function Query(dsl: Record<string, unknown>): unknown {
  return new globalThis.Query().Run(dsl);
}

/** Context(): the call context, as a V8 script reads it (gou's __yao_data
 * and Authorized()). */
function Context() {
  return { sid: __yao_data.SID, global: __yao_data.DATA, authorized: Authorized() };
}

/** Parallel(ms): sleeps ms, then finds users 1 and 2 in parallel (gou's All). */
function Parallel(ms: number) {
  time.Sleep(ms);
  return All([
    { process: "models.user.Find", args: [1] },
    { process: "models.user.Find", args: [2] },
  ]);
}
