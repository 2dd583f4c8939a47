// The globals every Yao script sees, built once into the engine snapshot.
// Natives (installed by engine.c before this runs, removed from globalThis
// by this file): __yao_host, one function per `yao` import (docs/ABI.md):
// process(name, args), store(name, method, args), store_get(name, key),
// store_set(name, key, value, ttlSeconds), store_del(name, key),
// fs(root, method, args), http(method, args), query(args); each returns the
// result (nil is null) or throws new Exception(message, code) with the
// host's error. __yao_log_raw(level, text), __yao_random() -> [0, 1).
(function (g) {
  "use strict";
  const host = g.__yao_host;
  const logRaw = g.__yao_log_raw;
  const random = g.__yao_random;
  delete g.__yao_host;
  delete g.__yao_log_raw;
  delete g.__yao_random;
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const define = (obj, name, value) =>
    Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: false });

  // Yao's `new Exception(message, code)`: its code reaches the caller.
  class Exception extends Error {
    constructor(message, code) {
      super(message === undefined ? "" : String(message));
      this.name = "Exception";
      this.code = Number.isInteger(code) ? code : 500;
    }
  }
  define(g, "Exception", Exception);

  const encode = (value) => stringify(value);

  // Process(name, ...args): a failure throws an Exception with the host's
  // code and message.
  function Process(name, ...args) {
    return host.process(name, args);
  }
  define(g, "Process", Process);

  // ---- the host API, with Yao's object and method names (docs/ABI.md §5-§8).
  // Trailing undefined args are left out ("optional" in the ABI); an
  // undefined inside the list is sent as nil.
  const trim = (args) => {
    let n = args.length;
    while (n > 0 && args[n - 1] === undefined) n--;
    return n === args.length ? args : args.slice(0, n);
  };
  const methods = (proto, names, call) => {
    for (const m of names) define(proto, m, function (...args) { return call(this, m, trim(args)); });
  };
  const absent = (v) => (v === null ? undefined : v);

  // new Store(name): Get, Set and Del take the store_get/store_set/store_del
  // fast paths; Get and GetDel answer undefined for an absent key, as Yao's.
  class Store {
    constructor(name) {
      if (name === undefined || name === null || name === "") throw new Exception("Store: a store name is required", 400);
      this.name = String(name);
    }
    Get(key) { return absent(host.store_get(this.name, key)); }
    // ttl: seconds; whole seconds take the fast path (0 or none: no expiry),
    // anything else (a fraction, a negative: 400) goes as Store's Set.
    Set(key, value, ttl) {
      if (ttl === undefined || ttl === null) host.store_set(this.name, key, value, 0);
      else if (Number.isSafeInteger(ttl) && ttl >= 0) host.store_set(this.name, key, value, ttl);
      else host.store(this.name, "Set", [String(key), value, ttl]);
    }
    Del(key) { host.store_del(this.name, key); }
    Has(key) { return host.store(this.name, "Has", [String(key)]); }
    Keys() { return host.store(this.name, "Keys", []); }
    Len() { return host.store(this.name, "Len", []); }
    Clear() { host.store(this.name, "Clear", []); }
    GetDel(key) { return absent(host.store(this.name, "GetDel", [String(key)])); }
    // Yao's GetSet(key, fn(key) -> value, ttl?) computes the value only when
    // the key is absent; a plain value works too. The store keeps whichever
    // value got there first.
    GetSet(key, value, ttl) {
      key = String(key);
      if (typeof value === "function") {
        const live = host.store_get(this.name, key);
        if (live !== null) return live;
        value = value(key);
      }
      return host.store(this.name, "GetSet", trim([key, value, ttl]));
    }
  }
  // The list methods (docs/ABI.md §5), gou's argument order: Push/AddToSet/
  // PullAll(key, ...values), Pop(key, position: 1 last, -1 first),
  // Pull(key, value), ArrayLen/ArrayAll(key), ArrayGet(key, index),
  // ArraySet(key, index, value), ArraySlice(key, skip, limit),
  // ArrayPage(key, page, pageSize). Pop, ArrayGet, ArrayLen and the
  // Array{Slice,Page,All} reads answer a value; the others undefined.
  for (const m of ["Push", "Pop", "Pull", "PullAll", "AddToSet", "ArrayLen", "ArrayGet", "ArraySet", "ArraySlice", "ArrayPage", "ArrayAll"]) {
    const answers = m === "Pop" || m.startsWith("Array") && m !== "ArraySet";
    define(Store.prototype, m, function (key, ...args) {
      const r = host.store(this.name, m, [String(key), ...args]);
      return answers ? r : undefined;
    });
  }
  define(g, "Store", Store);

  // new FS(root): files under a root of the config ("system" when not named).
  class FS {
    constructor(root) { this.name = root === undefined || root === null ? "system" : String(root); }
  }
  methods(FS.prototype, ["ReadFile", "ReadFileBuffer", "WriteFile", "WriteFileBuffer", "AppendFile", "Exists", "IsDir", "IsFile",
    "ReadDir", "Mkdir", "MkdirAll", "Remove", "RemoveAll", "Size", "Move", "Copy",
    "IsLink", "ReadFileBase64", "WriteFileBase64", "AppendBuffer", "AppendBase64", "InsertFile", "InsertBuffer", "InsertBase64",
    "MkdirTemp", "Chmod", "MimeType", "Mode", "ModTime", "MoveAppend", "MoveInsert", "Abs", "Zip", "Unzip", "Glob",
    "Download", "ReadCloser"], (fs, m, args) => host.fs(fs.name, m, args));
  // The path functions are pure (Go's filepath.Base, Dir and Ext, as gou;
  // ExtName without its dot, as gou answers: "txt").
  const cleanPath = (p) => {
    const rooted = p.startsWith("/");
    const out = [];
    for (const part of p.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === ".." && out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (part === ".." && rooted) continue;
      else out.push(part);
    }
    const joined = out.join("/");
    return rooted ? "/" + joined : joined === "" ? "." : joined;
  };
  const baseName = (p) => {
    p = String(p);
    if (p === "") return ".";
    p = p.replace(/\/+$/, "");
    if (p === "") return "/";
    return p.slice(p.lastIndexOf("/") + 1);
  };
  define(FS.prototype, "BaseName", function (p) { return baseName(p); });
  define(FS.prototype, "DirName", function (p) { p = String(p); return cleanPath(p.slice(0, p.lastIndexOf("/") + 1)); });
  define(FS.prototype, "ExtName", function (p) {
    p = String(p);
    for (let i = p.length - 1; i >= 0 && p[i] !== "/"; i--) if (p[i] === ".") return p.slice(i + 1);
    return "";
  });
  define(g, "FS", FS);

  // http.Get(url, query?, headers?), http.Post(url, payload?, files?, query?,
  // headers?), Put/Patch/Delete/Head(url, payload?, query?, headers?),
  // Send(method, url, payload?, query?, headers?): {status, headers, data}.
  const http = {};
  methods(http, ["Get", "Post", "Put", "Patch", "Delete", "Head", "Send"], (_, m, args) => host.http(m, args));
  define(g, "http", Object.freeze(http));

  // new Query(engine?).Get/First/Paginate/Run(dsl, bindings?): the host's
  // QueryDSL, as the process query.Run with [dsl, bindings?, engine?,
  // method?]; the default engine and Run are left out, so a host that only
  // knows [dsl, bindings?] still serves them.
  class Query {
    constructor(engine) { this.name = engine === undefined || engine === null ? "default" : String(engine); }
  }
  for (const m of ["Get", "First", "Paginate", "Run"]) {
    define(Query.prototype, m, function (dsl, bindings) {
      const engine = this.name === "default" ? undefined : this.name;
      return host.query(trim([dsl, absent(bindings), engine, m === "Run" ? undefined : m]));
    });
  }
  define(g, "Query", Query);

  // Go's fmt verbs, as Yao's log.* (format, ...args) uses them.
  function show(v, verb) {
    if (v === null || v === undefined) return "<nil>";
    if (typeof v === "string") return verb === "q" ? stringify(v) : v;
    if (typeof v === "object") {
      if (v instanceof Error) return v.message;
      if (Array.isArray(v)) return "[" + v.map((x) => show(x, "v")).join(" ") + "]";
      try { return encode(v); } catch (_) { return String(v); }
    }
    return String(v);
  }
  function format(fmt, args) {
    if (typeof fmt !== "string") return [fmt, ...args].map((x) => show(x, "v")).join(" ");
    // No arguments: the text as it is (a stray % stays a %).
    if (args.length === 0) return fmt;
    let i = 0;
    let out = fmt.replace(/%([-+# 0]*)(\d*)(?:\.(\d+))?([%vsdqfgtxXjTeb])/g, (m, flags, width, prec, verb) => {
      if (verb === "%") return "%";
      if (i >= args.length) return "%!" + verb + "(MISSING)";
      const v = args[i++];
      let s;
      switch (verb) {
        case "d": s = typeof v === "number" || typeof v === "bigint" ? String(typeof v === "number" ? Math.trunc(v) : v) : "%!d(" + show(v, "v") + ")"; break;
        case "f": case "e": case "g": s = typeof v === "number" ? (prec !== undefined ? v.toFixed(Number(prec)) : verb === "f" ? v.toFixed(6) : String(v)) : "%!" + verb + "(" + show(v, "v") + ")"; break;
        case "t": s = String(!!v); break;
        case "x": case "X": s = typeof v === "number" ? v.toString(16) : Array.from(String(v), (c) => c.charCodeAt(0).toString(16)).join(""); if (verb === "X") s = s.toUpperCase(); break;
        case "b": s = typeof v === "number" ? v.toString(2) : show(v, "v"); break;
        case "T": s = v === null ? "<nil>" : Array.isArray(v) ? "[]interface {}" : typeof v === "object" ? "map[string]interface {}" : typeof v; break;
        default: s = show(v, verb);
      }
      if (width && s.length < Number(width)) s = flags.includes("-") ? s.padEnd(Number(width)) : s.padStart(Number(width), flags.includes("0") ? "0" : " ");
      return s;
    });
    if (i < args.length) out += "%!(EXTRA " + args.slice(i).map((x) => show(x, "v")).join(", ") + ")";
    return out;
  }
  const log = {};
  ["Trace", "Debug", "Info", "Warn", "Error"].forEach((name, level) => {
    define(log, name, (fmt, ...args) => { logRaw(level, format(fmt, args)); });
  });
  Object.freeze(log);
  define(g, "log", log);

  const line = (args) => args.map((x) => show(x, "v")).join(" ");
  define(g, "console", {
    log: (...a) => logRaw(2, line(a)),
    info: (...a) => logRaw(2, line(a)),
    debug: (...a) => logRaw(1, line(a)),
    warn: (...a) => logRaw(3, line(a)),
    error: (...a) => logRaw(4, line(a)),
  });

  // Seeded per instance from WASI random_get, never from the snapshot.
  Math.random = random;

  // engine.c calls these two; a script never sees them.
  function invoke(name, args) {
    const exports = g.__yao_exports;
    const f = exports == null ? undefined : exports[name];
    if (typeof f !== "function") throw new Exception("no function " + name + " in this script", 404);
    return f.apply(undefined, args);
  }
  function error(e) {
    let code = 500;
    let message;
    if (e instanceof Exception) {
      code = e.code;
      message = e.message;
    } else if (e instanceof Error) {
      code = Number.isInteger(e.code) ? e.code : 500;
      message = String(e);
    } else {
      message = "uncaught " + show(e, "v");
    }
    if (!(code >= 100 && code <= 599)) code = 500;
    return { code, message };
  }
  return { invoke, error, Exception };
})(globalThis);
