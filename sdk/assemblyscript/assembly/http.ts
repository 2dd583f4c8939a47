// HTTP requests to the hosts the runtime allows, as Yao's http processes
// (docs/ABI.md §7):
//
//     const res = http.Get("http://api.internal:8080/users");
//     if (res.isError()) return res.error;          // 403, 408, 413, 502 ...
//     if (res.status == 200) use(res.data);
//
// Every status (4xx and 5xx too) is a Response; an error is for a refused
// host (403), a timeout (408), a body over the size cap (413) or a failed
// connection (502).

import * as env from "./env";
import { firstError, unpack, Utf8 } from "./hostcall";
import { encodeArray } from "./msgpack";
import { Value } from "./value";

/** Yao's {status, headers, data}, or the error the request ended with. */
export class Response {
  /** The HTTP status (0 for an error). */
  status: i32 = 0;
  /** Lowercased header names -> arrays of their values (a map). */
  headers: Value = Value.map();
  /** The body: decoded JSON for JSON content types, a string for text,
   *  bytes otherwise, nil when empty. */
  data: Value = Value.nil();
  /** nil, or the error value of a request that got no response. */
  error: Value = Value.nil();

  /** Whether the request failed (see `error`). */
  isError(): bool { return this.error.isError(); }

  /** The first value of header `name` (any case), or null. */
  header(name: string): string | null {
    const v = this.headers.get(asciiLower(name));
    if (v.isString()) return v.asString();
    const first = v.at(0);
    return first.isString() ? first.asString() : null;
  }

  /** The map {status, headers, data}, or the error value. */
  toValue(): Value {
    if (this.isError()) return this.error;
    return Value.map().set("status", Value.fromInt(this.status)).set("headers", this.headers).set("data", this.data);
  }

  /** Reads what the http import answered for `what` ("http.Get"). */
  static from(answer: Value, what: string): Response {
    const res = new Response();
    if (answer.isError()) {
      res.error = answer;
      return res;
    }
    const status = answer.get("status");
    if (!answer.isMap() || !status.isInt()) {
      res.error = Value.error(500, what + " returned an unexpected value: a " + answer.kindName() + " without an integer status");
      return res;
    }
    res.status = <i32>status.asInt();
    const headers = answer.get("headers");
    if (headers.isMap()) res.headers = headers;
    res.data = answer.get("data");
    return res;
  }
}

/** Lowercases A-Z only: header names are ASCII, and String#toLowerCase
 *  would add Unicode case tables (~10 KB) to every module that uses http. */
function asciiLower(s: string): string {
  const units = new Uint16Array(s.length);
  for (let k = 0; k < s.length; k++) {
    const c = <u16>s.charCodeAt(k);
    units[k] = c >= 65 && c <= 90 ? c + 32 : c;
  }
  return String.UTF16.decodeUnsafe(units.dataStart, <usize>s.length << 1);
}

/** args with the trailing nils left out (they are optional). */
function trimmed(args: Value[]): Value[] {
  let n = args.length;
  while (n > 1 && args[n - 1].isNil()) n--;
  return args.slice(0, n);
}

/** A timeout in milliseconds; 0 means none (the runtime's http_timeout_ms). */
function timeout(ms: i64): Value {
  return ms == 0 ? Value.nil() : Value.fromInt(ms);
}

/**
 * Yao's http processes. `query` is a map of string -> string (or array of
 * strings) appended to the URL; `headers` a map of string -> string;
 * `payload` nil for no body, a string or bytes sent as they are, anything
 * else as JSON; `timeoutMs` 0 for the runtime's cap. Leave the trailing
 * options out when they are not needed: `http.Get(url)`.
 */
export namespace http {
  /** Any method of the http import with its args array. */
  export function call(method: string, args: Value[]): Response {
    const what = "http." + method;
    const bad = firstError(args);
    if (bad != null) return Response.from(bad, what);
    const m = new Utf8(method);
    const a = encodeArray(args);
    return Response.from(unpack(env.http(m.ptr, m.len, a.dataStart, a.length), what), what);
  }

  /** Put, Patch, Delete and Head: [url, payload?, query?, headers?, timeout_ms?]. */
  function withBody(method: string, url: string, payload: Value, query: Value, headers: Value, timeoutMs: i64): Response {
    return call(method, trimmed([Value.fromString(url), payload, query, headers, timeout(timeoutMs)]));
  }

  /** GET `url`. */
  export function Get(url: string, query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0): Response {
    return call("Get", trimmed([Value.fromString(url), query, headers, timeout(timeoutMs)]));
  }

  /** POST `url` with `payload` (no uploads: see PostFiles). */
  export function Post(
    url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0,
  ): Response {
    // The nil is Yao's `files`, which PostFiles sends.
    return call("Post", trimmed([Value.fromString(url), payload, Value.nil(), query, headers, timeout(timeoutMs)]));
  }

  /**
   * POST `url` uploading files, Yao's http.Post with its `files` arg:
   * `files` is a map of form field -> path of a file under the runtime's fs
   * root "data" (`Value.map().set("avatar", Value.fromString("uploads/ada.png"))`).
   * The request goes as multipart/form-data (the runtime sets its
   * Content-Type): one part per file, then, when `fields` is a map, one text
   * field per entry (strings as they are, numbers and bools as text, nil
   * empty, arrays and maps as JSON); `fields` must be a map or nil (400).
   * An empty `files` map sends a plain POST. The runtime refuses a path
   * outside the root (403), a missing file (404) and more than 256 MiB in
   * all (413), before any connection (docs/ABI.md §7).
   */
  export function PostFiles(
    url: string, files: Value, fields: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(),
    timeoutMs: i64 = 0,
  ): Response {
    return call("Post", trimmed([Value.fromString(url), fields, files, query, headers, timeout(timeoutMs)]));
  }

  /** PUT `url` with `payload`. */
  export function Put(
    url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0,
  ): Response {
    return withBody("Put", url, payload, query, headers, timeoutMs);
  }

  /** PATCH `url` with `payload`. */
  export function Patch(
    url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0,
  ): Response {
    return withBody("Patch", url, payload, query, headers, timeoutMs);
  }

  /** DELETE `url` (a payload is allowed). */
  export function Delete(
    url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0,
  ): Response {
    return withBody("Delete", url, payload, query, headers, timeoutMs);
  }

  /** HEAD `url`. */
  export function Head(
    url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(), timeoutMs: i64 = 0,
  ): Response {
    return withBody("Head", url, payload, query, headers, timeoutMs);
  }

  /** Any `method` (GET POST PUT PATCH DELETE HEAD OPTIONS, any case). */
  export function Send(
    method: string, url: string, payload: Value = Value.nil(), query: Value = Value.nil(), headers: Value = Value.nil(),
    timeoutMs: i64 = 0,
  ): Response {
    return call("Send", trimmed([Value.fromString(method), Value.fromString(url), payload, query, headers, timeout(timeoutMs)]));
  }
}
