// The globals every Yao script sees, built once into the engine snapshot.
// Natives (installed by engine.c before this runs, removed from globalThis
// by this file): __yao_process_raw(name, argsJSON) -> [isError, text|null],
// __yao_log_raw(level, text), __yao_random() -> number in [0, 1).
(function (g) {
  "use strict";
  const processRaw = g.__yao_process_raw;
  const logRaw = g.__yao_log_raw;
  const random = g.__yao_random;
  delete g.__yao_process_raw;
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
    const [failed, value] = processRaw(String(name), args);
    if (failed) {
      const e = value !== null && typeof value === "object" ? value : {};
      throw new Exception(e.message, e.code);
    }
    return value;
  }
  define(g, "Process", Process);

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
  return { invoke, error };
})(globalThis);
