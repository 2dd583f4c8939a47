// Files under the roots the runtime's config names, as Yao's FS
// (docs/ABI.md §6):
//
//     const data = new FS("data");
//     const text = data.ReadFile("notes/today.txt");   // a string, or an error value
//
// Paths are relative to the root ("a/b.txt", "" for the root itself); "..",
// absolute paths and symlinks that lead outside are refused with 403. Every
// method returns a Value: the result, or an error value (isError(),
// errorCode()) that can be returned as is to pass the failure on.

import * as env from "./env";
import { firstError, unpack, Utf8 } from "./hostcall";
import { encodeArray } from "./msgpack";
import { Value } from "./value";

/** `[path]`, with `perm` appended when it is given (>= 0). */
function withPerm(args: Value[], perm: i32): Value[] {
  if (perm >= 0) args.push(Value.fromInt(perm));
  return args;
}

/** One root ("data", "system", or another the config names). */
export class FS {
  constructor(public readonly root: string) {}

  /** Any method with positional args, through the `fs` import. */
  call(method: string, args: Value[] = []): Value {
    const bad = firstError(args);
    if (bad != null) return bad;
    const root = new Utf8(this.root);
    const m = new Utf8(method);
    const a = encodeArray(args);
    return unpack(env.fs(root.ptr, root.len, m.ptr, m.len, a.dataStart, a.length), "fs." + this.root + "." + method);
  }

  /** The file as a string (400 when it is not UTF-8: use ReadFileBuffer). */
  ReadFile(path: string): Value {
    return this.call("ReadFile", [Value.fromString(path)]);
  }

  /** The file as bytes. */
  ReadFileBuffer(path: string): Value {
    return this.call("ReadFileBuffer", [Value.fromString(path)]);
  }

  /** Creates or truncates `path` with `data`: the bytes written. `perm`
   *  (e.g. 0o600) applies when the file is created; -1 is the host's 0o644. */
  WriteFile(path: string, data: string, perm: i32 = -1): Value {
    return this.call("WriteFile", withPerm([Value.fromString(path), Value.fromString(data)], perm));
  }

  /** WriteFile with bytes. */
  WriteFileBuffer(path: string, data: Uint8Array, perm: i32 = -1): Value {
    return this.call("WriteFileBuffer", withPerm([Value.fromString(path), Value.fromBytes(data)], perm));
  }

  /** Appends `data` (a string or a Uint8Array), creating the file if
   *  missing: the bytes written. */
  AppendFile<T>(path: string, data: T, perm: i32 = -1): Value {
    return this.call("AppendFile", withPerm([Value.fromString(path), Value.from<T>(data)], perm));
  }

  /** Whether `path` exists: a bool. */
  Exists(path: string): Value {
    return this.call("Exists", [Value.fromString(path)]);
  }

  /** Whether `path` is a directory (false when absent). */
  IsDir(path: string): Value {
    return this.call("IsDir", [Value.fromString(path)]);
  }

  /** Whether `path` is a file (false when absent). */
  IsFile(path: string): Value {
    return this.call("IsFile", [Value.fromString(path)]);
  }

  /** Paths under `path`, relative to the root, sorted: an array of strings;
   *  `recursive` lists the whole tree. */
  ReadDir(path: string, recursive: bool = false): Value {
    return this.call("ReadDir", [Value.fromString(path), Value.fromBool(recursive)]);
  }

  /** One directory; its parent must exist (404), and it must not (409). */
  Mkdir(path: string, perm: i32 = -1): Value {
    return this.call("Mkdir", withPerm([Value.fromString(path)], perm));
  }

  /** A directory and its missing parents; fine when it exists. */
  MkdirAll(path: string, perm: i32 = -1): Value {
    return this.call("MkdirAll", withPerm([Value.fromString(path)], perm));
  }

  /** A file or an empty directory (404 when absent). */
  Remove(path: string): Value {
    return this.call("Remove", [Value.fromString(path)]);
  }

  /** A file or a directory with everything in it; fine when absent. */
  RemoveAll(path: string): Value {
    return this.call("RemoveAll", [Value.fromString(path)]);
  }

  /** Bytes of a file: an integer. */
  Size(path: string): Value {
    return this.call("Size", [Value.fromString(path)]);
  }

  /** Renames `src` to `dst` (both under this root). */
  Move(src: string, dst: string): Value {
    return this.call("Move", [Value.fromString(src), Value.fromString(dst)]);
  }

  /** Copies one file, overwriting `dst`. */
  Copy(src: string, dst: string): Value {
    return this.call("Copy", [Value.fromString(src), Value.fromString(dst)]);
  }
}
