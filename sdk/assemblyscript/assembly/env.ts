// The raw guest ABI (SPEC §3): the `yao` host imports, and nothing else.
// The safe wrappers around them are in yao.ts.

/** Calls a Yao process. The answer is written through yao_alloc and
 *  returned packed: (ptr << 32) | len, bit 31 of len set for an error. */
@external("yao", "process")
export declare function process(namePtr: usize, nameLen: i32, argsPtr: usize, argsLen: i32): i64;

/** Writes a log record: level 0 trace, 1 debug, 2 info, 3 warn, 4 error. */
@external("yao", "log")
export declare function log(level: i32, msgPtr: usize, msgLen: i32): void;

// The host API (docs/ABI.md §4-8). Strings (names, methods, keys, roots) are
// raw UTF-8; args is the encoded args array. asc imports only the functions
// a module calls, so a script that uses none of these imports none of them.

/** Any Store method on the store `name` (§5). */
@external("yao", "store")
export declare function store(
  namePtr: usize, nameLen: i32, methodPtr: usize, methodLen: i32, argsPtr: usize, argsLen: i32,
): i64;

/** Fast path of Store Get: 0 (nil) when the key is absent. */
@external("yao", "store_get")
export declare function store_get(namePtr: usize, nameLen: i32, keyPtr: usize, keyLen: i32): i64;

/** Fast path of Store Set: the value is ONE encoded value; ttlSeconds <= 0 is no expiry. */
@external("yao", "store_set")
export declare function store_set(
  namePtr: usize, nameLen: i32, keyPtr: usize, keyLen: i32, valuePtr: usize, valueLen: i32, ttlSeconds: i64,
): i64;

/** Fast path of Store Del. */
@external("yao", "store_del")
export declare function store_del(namePtr: usize, nameLen: i32, keyPtr: usize, keyLen: i32): i64;

/** Any FS method under the root `root` (§6). */
@external("yao", "fs")
export declare function fs(
  rootPtr: usize, rootLen: i32, methodPtr: usize, methodLen: i32, argsPtr: usize, argsLen: i32,
): i64;

/** An HTTP request; method is one of Yao's http process names (§7). */
@external("yao", "http")
export declare function http(methodPtr: usize, methodLen: i32, argsPtr: usize, argsLen: i32): i64;

/** A QueryDSL query, run by the host as query.Run (§8). */
@external("yao", "query")
export declare function query(argsPtr: usize, argsLen: i32): i64;

/** The call context {sid, global, authorized} (docs/ABI.md `context`). */
@external("yao", "context")
export declare function context(): i64;

/** Processes in parallel, background jobs, delayed calls (docs/ABI.md §10). */
@external("yao", "tasks")
export declare function tasks(methodPtr: usize, methodLen: i32, argsPtr: usize, argsLen: i32): i64;

/** Blocks `ms` milliseconds, never past the call's deadline (§10). */
@external("yao", "sleep")
export declare function sleep(ms: i64): i64;
