// Package entry for `import ... from "@yaoapp/yaowasm-as"`: asc 0.28 resolves
// a bare package import to <package>/index.ts. The SDK lives in assembly/.
// (Names are listed one by one: `import * as yao` does not see through
// `export *` in asc 0.28.)
export {
  Kind, Value,
  handle, fail, process, log, ScriptFunction,
  encode, encodeArray, encodeResult, Encoded, decode, decodeRaw, DecodeResult,
  yao_alloc, yao_free,
  Store, FS, http, Response, query, Query,
  context,
  Task, Job, tasks, all, any, race, sleep, after,
} from "./assembly/index";
