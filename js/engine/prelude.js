// The globals every Yao script sees, built once into the engine snapshot.
// Natives (installed by engine.c before this runs, removed from globalThis
// by this file): __yao_host, one function per `yao` import (docs/ABI.md):
// process(name, args), store(name, method, args), store_get(name, key),
// store_set(name, key, value, ttlSeconds), store_del(name, key),
// fs(root, method, args), http(method, args), query(args), context(),
// tasks(method, args), sleep(ms); each returns the
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
  // gou's instance methods: e.Code(), e.Message().
  define(Exception.prototype, "Code", function () { return this.code; });
  define(Exception.prototype, "Message", function () { return this.message; });
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
  // Incr(key, by = 1): adds atomically (every runtime sharing a Redis store
  // sees each increment) and answers the new value (docs/ABI.md §5).
  define(Store.prototype, "Incr", function (key, by) { return host.store(this.name, "Incr", trim([String(key), by])); });
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
  // Stream(method, url, callback, payload?, query?, headers?), as gou's: the
  // callback gets the body line by line (a string each) and answers 1 to go
  // on, 0 to stop there, -1 to abort. The host reads the body (under the
  // same allow-list, limits and deadline as Send) and hands over its lines,
  // so lines arrive once the response is complete, not as they are sent.
  // The answer is {status, code, message, headers, data: null}; a callback
  // that is not a function, throws or aborts gives a 400 answer, as gou.
  const streamFailed = (message) => ({ status: 400, code: 400, message, headers: {}, data: null });
  define(http, "Stream", function (method, url, callback, ...rest) {
    if (typeof callback !== "function") return streamFailed("http.Stream: the callback (argument 3) must be a function");
    const res = host.http("Stream", trim([method, url, ...rest]));
    for (const line of res.lines) {
      let ret;
      try {
        ret = callback(line);
      } catch (e) {
        logRaw(4, "[http.Stream] " + method + " " + url + ": " + (e && e.message !== undefined ? e.message : String(e)));
        return streamFailed("http.Stream: the callback threw: " + (e && e.message !== undefined ? e.message : String(e)));
      }
      if (ret === -1) return streamFailed("http.Stream: the callback aborted");
      if (ret === 0) break;
    }
    return { status: res.status, code: res.status, message: "ok", headers: res.headers, data: null };
  });
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
  // Lint(source), Schema(format?), Validate(data): gou's QueryDSL linter and
  // JSON Schema, engine-independent, served by the host as the processes
  // query.Lint / query.Schema / query.Validate (js/README.md).
  define(Query.prototype, "Lint", function (source) {
    if (source === undefined) throw new Exception("Query.Lint: Missing DSL parameter", 400);
    return host.process("query.Lint", [typeof source === "string" ? source : encode(source)]);
  });
  define(Query.prototype, "Schema", function (format) { return host.process("query.Schema", trim([format])); });
  define(Query.prototype, "Validate", function (data) {
    if (data === undefined) throw new Exception("Query.Validate: Missing parameters", 400);
    return host.process("query.Validate", [data]);
  });
  define(g, "Query", Query);

  // ---- the call context, as gou's V8 runtime gives it (bridge.SetShareData):
  // __yao_data = {SID, DATA (the globals), ROOT, AUTHORIZED (only when the
  // call has authorization info)}. The snapshot is shared by every call, so
  // it is a getter: the host is asked (yao.context) on first read in a call,
  // and a call that never reads it never asks. A script may assign it, as on
  // V8. ROOT is false: gou sets it for scripts loaded with root privileges
  // (studio.*), which yaowasm does not serve.
  const shareData = () => {
    const c = host.context();
    const data = { SID: c.sid, ROOT: false, DATA: c.global };
    if (c.authorized != null) data.AUTHORIZED = c.authorized;
    return data;
  };
  Object.defineProperty(g, "__yao_data", {
    configurable: true,
    enumerable: false,
    get() {
      const data = shareData();
      define(g, "__yao_data", data);
      return data;
    },
    set(value) { define(g, "__yao_data", value); },
  });
  // Authorized(): the call's authorization info, or null (gou's
  // functions/authorized: read from __yao_data, a fresh copy each time).
  function Authorized() {
    const data = g.__yao_data;
    const info = data == null ? undefined : data.AUTHORIZED;
    return info == null ? null : parse(stringify(info));
  }
  define(g, "Authorized", Authorized);

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
  // gou's Fatal exits the process and Panic panics it; here both log at the
  // error level and end the call (500), never the host.
  for (const name of ["Fatal", "Panic"]) {
    define(log, name, (fmt, ...args) => {
      const text = format(fmt, args);
      logRaw(4, text);
      throw new Exception(text, 500);
    });
  }
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

  // ---- functions of gou's V8 runtime (js/README.md, "The script API").

  // Use(Constructor, ...args, callback): new Constructor(...args), handed to
  // callback; its __release() runs afterwards, even when callback throws
  // (whose exception then reaches the caller unchanged).
  function Use(Ctor, ...rest) {
    if (arguments.length < 2) throw new Exception("Use() requires at least 2 arguments: Constructor and callback", 400);
    if (typeof Ctor !== "function") throw new Exception("Use() requires a constructor function as the first argument", 400);
    const callback = rest.pop();
    if (typeof callback !== "function") throw new Exception("Use() requires a callback function as the last argument", 400);
    const instance = new Ctor(...rest);
    try {
      return callback(instance);
    } finally {
      if (instance !== null && typeof instance === "object" && typeof instance.__release === "function") {
        try { instance.__release(); } catch (_) { /* as gou: release errors are ignored */ }
      }
    }
  }
  define(g, "Use", Use);

  // Eval(source, ...args): source is a function's text; as gou, a named
  // `function f(a) {` head becomes `(a) => {`, the text is evaluated in the
  // global scope and its value called with args. Not a function, or a
  // syntax error: 400.
  const indirectEval = eval;
  function Eval(source, ...args) {
    if (typeof source !== "string") throw new Exception("Eval: the first parameter should be a string", 400);
    source = source.replace(/\s*function\s+(\w+)\s*\(([^)]*)\)\s*\{/g, "($2) => {");
    let fn;
    try {
      fn = indirectEval(source);
    } catch (e) {
      if (e instanceof SyntaxError) throw new Exception("Eval: " + e.message, 400);
      throw e;
    }
    if (typeof fn !== "function") throw new Exception("Eval: the source is not a function", 400);
    return fn(...args);
  }
  define(g, "Eval", Eval);

  // $L(message): the host's language pack, as the process lang.Replace with
  // [message] (a leading "::" stripped first, as gou); with no pack (the
  // process is not found: 404) the message comes back unchanged, as Yao's.
  function L(message) {
    if (arguments.length === 0) return undefined;
    if (typeof message !== "string") return message;
    const text = message.startsWith("::") ? message.slice(2) : message;
    try {
      const out = host.process("lang.Replace", [text]);
      return typeof out === "string" ? out : text;
    } catch (e) {
      if (e instanceof Exception && e.code === 404) return text;
      throw e;
    }
  }
  define(g, "$L", L);

  // All/Any/Race(tasks): tasks [{process, args?, timeout? (seconds)}] run in
  // parallel on the host (yao.tasks); the answer is gou's
  // [{data, index, error?}] in task order, plus `code` beside `error`.
  const taskList = (name, tasks) => {
    if (!Array.isArray(tasks)) throw new Exception(name + ": the first parameter should be an array of tasks", 400);
    return tasks.map((t, i) => {
      if (t === null || typeof t !== "object" || typeof t.process !== "string" || t.process === "") {
        throw new Exception(name + ": task[" + i + "]: 'process' field is required and must be a string", 400);
      }
      const task = { process: t.process, args: Array.isArray(t.args) ? t.args : [] };
      if (typeof t.timeout === "number" && t.timeout > 0) task.timeout = t.timeout;
      return task;
    });
  };
  for (const name of ["All", "Any", "Race"]) {
    define(g, name, function (tasks) {
      if (arguments.length < 1) throw new Exception(name + ": missing parameters: expected an array of tasks", 400);
      const list = taskList(name, tasks);
      return list.length === 0 ? [] : host.tasks(name, [list]);
    });
  }

  // time.Sleep(ms): blocks, never past the call's deadline (408 there).
  // time.After(ms, process, ...args): runs the process later, in the
  // background; nothing comes back.
  const time = {};
  define(time, "Sleep", (ms) => {
    if (ms === undefined) throw new Exception("time.Sleep: Missing parameters", 400);
    host.sleep(Math.trunc(Number(ms)) || 0);
    return null;
  });
  define(time, "After", (ms, process, ...args) => {
    if (process === undefined) throw new Exception("time.After: Missing parameters", 400);
    host.tasks("After", [Math.trunc(Number(ms)) || 0, String(process), args]);
    return null;
  });
  Object.freeze(time);
  define(g, "time", time);

  // new Job(process, ...args): the process runs in the background.
  // Pending(fn) calls fn while it runs (fn returning false stops waiting);
  // Data() answers its result (null while running or failed) and forgets
  // it; Cancel() stops it and forgets it.
  class Job {
    constructor(process, ...args) {
      if (typeof process !== "string") throw new Exception("Job: the first parameter should be a string", 400);
      this.id = host.tasks("Job", [process, args]);
    }
    Pending(callback) {
      if (typeof callback !== "function") throw new Exception("Job.Pending: the first parameter should be a function", 400);
      while (host.tasks("Running", [this.id, 10])) {
        if (callback() === false) break;
      }
    }
    Data() { return host.tasks("Data", [this.id]); }
    Cancel() { host.tasks("Cancel", [this.id]); }
  }
  define(g, "Job", Job);

  // new Plan(id): gou's execution plan (runtime/v8/objects/plan), in the
  // engine over yao.tasks. Tasks are added with an order; Run() runs the
  // orders 0, 1, 2, ... one after another (negative orders never run, as
  // gou), the process tasks of one order in parallel on host threads
  // (tasks "All"), a function task in the engine after them (the engine has
  // one thread). A process task is called as gou's default task function
  // calls it: (planId, taskId, ...args); a function task the same way. A
  // task's result is kept in the shared space under "__result.<taskId>",
  // and the events TaskStarted / TaskCompleted / TaskError are set there,
  // so subscribers see them. Subscribers run synchronously, in the engine
  // (a function) or as Process(name, planId, key, value, ...args); their
  // errors are logged and ignored (gou ignores them). Plans live in the
  // call: `new Plan(id)` twice in one call is the same plan; nothing
  // survives the call (gou keeps plans until Release, process-wide).
  const plans = new Map();
  const reserved = new Set(["TaskCompleted", "TaskError", "TaskStarted", "Released"]);
  const statusNames = ["created", "running", "paused", "completed", "failed", "destroyed", "unknown"];
  // Values in the shared space are copies, as gou's (converted to Go).
  const copy = (v) => {
    if (v === null || typeof v !== "object") return typeof v === "function" || typeof v === "symbol" ? undefined : v;
    if (v instanceof Uint8Array) return v.slice();
    if (typeof v.toJSON === "function") return v.toJSON();
    if (Array.isArray(v)) return v.map((x) => { const c = copy(x); return c === undefined ? null : c; });
    const out = {};
    for (const k of Object.keys(v)) { const c = copy(v[k]); if (c !== undefined) out[k] = c; }
    return out;
  };
  const planOf = (p, m) => {
    const state = plans.get(p.id);
    if (state === undefined) throw new Exception("Plan." + m + ": plan " + p.id + " not found", 404);
    return state;
  };
  const needString = (m, what, v) => {
    if (typeof v !== "string") throw new Exception("Plan." + m + ": the " + what + " should be a string", 400);
  };
  const notify = (state, key, value) => {
    for (const sub of state.subs.get(key) || []) {
      try {
        if (typeof sub.handler === "function") sub.handler(state.id, key, copy(value), ...sub.args);
        else host.process(sub.handler, [state.id, key, value, ...sub.args]);
      } catch (e) {
        logRaw(3, "Plan " + state.id + ": subscriber of " + key + ": " + (e instanceof Error ? e.message : show(e, "v")));
      }
    }
  };
  const setShared = (state, key, value) => {
    state.shared.set(key, copy(value));
    notify(state, key, value);
  };
  class Plan {
    constructor(id) {
      if (typeof id !== "string") throw new Exception("Plan: the first parameter should be a string", 400);
      this.id = id;
      if (!plans.has(id)) plans.set(id, { id, status: 0, tasks: new Map(), shared: new Map(), subs: new Map() });
    }
    Add(taskId, order, handler, ...args) {
      if (arguments.length < 3) throw new Exception("Plan.Add: missing parameters", 400);
      needString("Add", "task id", taskId);
      if (typeof order !== "number") throw new Exception("Plan.Add: the order should be a number", 400);
      if (typeof handler !== "function" && (typeof handler !== "string" || handler === "")) {
        throw new Exception("Plan.Add: the task function should be a string (a process name) or a function", 400);
      }
      const state = planOf(this, "Add");
      // gou keeps the first task of an id and ignores the next (AddTask's error is dropped).
      if (!state.tasks.has(taskId)) {
        state.tasks.set(taskId, { id: taskId, order: Math.trunc(order) | 0, handler, args, status: 0, data: null });
      }
      return this;
    }
    Run() {
      const state = planOf(this, "Run");
      if (state.status === 1) throw new Exception("Plan.Run: plan " + state.id + " is already running", 409);
      state.status = 1;
      const orders = [...new Set([...state.tasks.values()].map((t) => t.order))].filter((o) => o >= 0).sort((a, b) => a - b);
      for (const order of orders) {
        const batch = [...state.tasks.values()].filter((t) => t.order === order);
        const procs = batch.filter((t) => typeof t.handler === "string");
        const fns = batch.filter((t) => typeof t.handler === "function");
        let failed = null;
        const done = (t, ok, value, code) => {
          if (ok) {
            t.status = 3;
            setShared(state, "__result." + t.id, value);
            setShared(state, "TaskCompleted", { task: t.id, result: value });
          } else {
            t.status = 4;
            t.data = value;
            setShared(state, "TaskError", { message: value, task: t.id });
            if (failed === null) failed = { task: t.id, message: value, code };
          }
        };
        for (const t of procs) { t.status = 1; setShared(state, "TaskStarted", { task: t.id }); }
        if (procs.length > 0) {
          const out = host.tasks("All", [procs.map((t) => ({ process: t.handler, args: [state.id, t.id, ...t.args] }))]);
          procs.forEach((t, i) => {
            const r = out[i];
            if (r.error === undefined || r.error === null) done(t, true, r.data);
            else done(t, false, r.error, r.code);
          });
        }
        for (const t of fns) {
          t.status = 1;
          setShared(state, "TaskStarted", { task: t.id });
          let value;
          try {
            value = t.handler(state.id, t.id, ...t.args);
          } catch (e) {
            done(t, false, e instanceof Error ? e.message : show(e, "v"), e instanceof Exception ? e.code : 500);
            continue;
          }
          done(t, true, value === undefined ? null : value);
        }
        if (failed !== null) {
          state.status = 4;
          const code = Number.isInteger(failed.code) && failed.code >= 400 && failed.code <= 599 ? failed.code : 500;
          throw new Exception("Plan.Run: task " + failed.task + ": " + failed.message, code);
        }
      }
      state.status = 3;
      return this;
    }
    Status() {
      const state = planOf(this, "Status");
      const tasks = {};
      for (const t of state.tasks.values()) tasks[t.id] = statusNames[t.status];
      return { plan: statusNames[state.status], tasks };
    }
    Release() {
      const state = planOf(this, "Release");
      // gou's Release clears the shared space, which tells every subscriber (value null).
      state.shared.clear();
      for (const key of state.subs.keys()) notify(state, key, null);
      plans.delete(state.id);
      return null;
    }
    Results() {
      const state = planOf(this, "Results");
      const out = {};
      for (const id of state.tasks.keys()) {
        const key = "__result." + id;
        if (state.shared.has(key)) out[id] = copy(state.shared.get(key));
      }
      return out;
    }
    TaskStatus(taskId) {
      if (arguments.length < 1) throw new Exception("Plan.TaskStatus: missing parameters", 400);
      needString("TaskStatus", "task id", taskId);
      const t = planOf(this, "TaskStatus").tasks.get(taskId);
      if (t === undefined) throw new Exception("Plan.TaskStatus: task with ID " + taskId + " not found", 404);
      return statusNames[t.status];
    }
    TaskData(taskId, data) {
      if (arguments.length < 1) throw new Exception("Plan.TaskData: missing parameters", 400);
      needString("TaskData", "task id", taskId);
      const t = planOf(this, "TaskData").tasks.get(taskId);
      if (t === undefined) throw new Exception("Plan.TaskData: the task " + taskId + " does not exist", 404);
      if (arguments.length < 2) return copy(t.data);
      t.data = copy(data);
      return null;
    }
    Subscribe(key, handler, ...args) {
      if (arguments.length < 2) throw new Exception("Plan.Subscribe: missing parameters", 400);
      needString("Subscribe", "key", key);
      if (typeof handler !== "function" && (typeof handler !== "string" || handler === "")) {
        throw new Exception("Plan.Subscribe: the callback should be a string (a process name) or a function", 400);
      }
      const state = planOf(this, "Subscribe");
      if (!state.subs.has(key)) state.subs.set(key, []);
      state.subs.get(key).push({ handler, args: copy(args) });
      return null;
    }
    Set(key, value) {
      if (arguments.length < 2) throw new Exception("Plan.Set: missing parameters", 400);
      needString("Set", "key", key);
      if (reserved.has(key)) throw new Exception("Plan.Set: the key should not be a reserved key", 400);
      setShared(planOf(this, "Set"), key, value);
      return null;
    }
    Get(key) {
      if (arguments.length < 1) throw new Exception("Plan.Get: missing parameters", 400);
      needString("Get", "key", key);
      const state = planOf(this, "Get");
      return state.shared.has(key) ? copy(state.shared.get(key)) : null;
    }
    Del(key) {
      if (arguments.length < 1) throw new Exception("Plan.Del: missing parameters", 400);
      needString("Del", "key", key);
      const state = planOf(this, "Del");
      state.shared.delete(key);
      notify(state, key, null);
      return null;
    }
    Clear() {
      const state = planOf(this, "Clear");
      state.shared.clear();
      for (const key of state.subs.keys()) notify(state, key, null);
      return null;
    }
  }
  define(g, "Plan", Plan);

  // new WebSocket(url, ...protocols).push(message): gou's one-shot client:
  // connect (ws:// or wss://, hosts in http_allow only), send one text
  // message, close. The host does it: http("WebSocket", [url, message,
  // protocols]).
  class WebSocket {
    constructor(url, ...protocols) {
      if (arguments.length < 1) throw new Exception("WebSocket: Missing parameters", 400);
      this.url = String(url);
      this.protocols = protocols.map(String);
    }
    push(message) {
      if (arguments.length < 1) throw new Exception("WebSocket.push: Missing parameters", 400);
      if (typeof message !== "string") throw new Exception("WebSocket.push: the message is not a string", 400);
      host.http("WebSocket", [this.url, message, this.protocols]);
      return undefined;
    }
  }
  define(g, "WebSocket", WebSocket);

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
    // The raw stack (bundle positions) for the host, which maps it to the
    // .ts sources only now, on the error path (src/js/mod.rs).
    if (e instanceof Error && typeof e.stack === "string") {
      return { code, message, stack: e.stack, exception: e instanceof Exception };
    }
    return { code, message };
  }
  return { invoke, error, Exception };
})(globalThis);
