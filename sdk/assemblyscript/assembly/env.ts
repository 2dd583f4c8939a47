// The raw guest ABI (SPEC §3): the `yao` host imports, and nothing else.
// The safe wrappers around them are in yao.ts.

/** Calls a Yao process. The answer is written through yao_alloc and
 *  returned packed: (ptr << 32) | len, bit 31 of len set for an error. */
@external("yao", "process")
export declare function process(namePtr: usize, nameLen: i32, argsPtr: usize, argsLen: i32): i64;

/** Writes a log record: level 0 trace, 1 debug, 2 info, 3 warn, 4 error. */
@external("yao", "log")
export declare function log(level: i32, msgPtr: usize, msgLen: i32): void;
