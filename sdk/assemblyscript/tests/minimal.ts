// A script that uses no host API: it must import no more than it calls.
import * as yao from "../index";
import { Value, yao_alloc, yao_free } from "../index";

export { yao_alloc, yao_free };

export function Hello(ptr: i32, len: i32): i64 { return yao.handle(ptr, len, hello); }

function hello(args: Value[]): Value { return Value.fromString("hello"); }
