// @yaoapp/yaowasm-as: write Yao scripts in AssemblyScript.
//
//     import * as yao from "@yaoapp/yaowasm-as";
//     import { Value } from "@yaoapp/yaowasm-as";
//     export { yao_alloc, yao_free } from "@yaoapp/yaowasm-as";
//
//     export function Hello(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, hello); }
//     function hello(args: Value[]): Value { return Value.fromString("hello " + args[0].asString()); }

export { Kind, Value } from "./value";
export { handle, fail, process, log, ScriptFunction } from "./yao";
export { encode, encodeArray, encodeResult, Encoded, decode, decodeRaw, DecodeResult } from "./msgpack";
export { yao_alloc, yao_free } from "./memory";
export { Store } from "./store";
export { FS } from "./fs";
export { http, Response } from "./http";
export { query, Query } from "./query";
export { context } from "./context";
export { Task, Job, tasks, all, any, race, sleep, after } from "./tasks";
