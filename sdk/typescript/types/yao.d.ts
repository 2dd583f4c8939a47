// Globals of a Yao script run by yaowasm's QuickJS engine (js/engine/prelude.js).
// Reference it from tsconfig.json ("types"/"include") for editor support.
// Store, FS, http and Query follow Yao's own JS objects; the host API
// behind them is docs/ABI.md §5-§8. Every failure throws an Exception whose
// `code` is the host's (400 bad input, 403 refused, 404 not found, ...).

/** Yao's exception: `code` reaches the caller as the error code. */
declare class Exception extends Error {
  constructor(message: string, code?: number);
  code: number;
  /** gou's accessor: the code. */
  Code(): number;
  /** gou's accessor: the message. */
  Message(): string;
}

/** Calls a Yao process; a failure throws an Exception with its code. */
declare function Process(name: string, ...args: any[]): any;

/**
 * The caller's authorization info (user, team, tenant, data constraints),
 * or null when the call has none; as gou's V8 `Authorized()`.
 */
declare function Authorized(): Record<string, any> | null;

/**
 * The call's context, as gou's V8 sets it: SID (the session id, "" when
 * none), DATA (the caller's globals), ROOT (always false in yaowasm) and
 * AUTHORIZED (present only when the call has authorization info).
 */
declare var __yao_data: {
  SID: string;
  DATA: Record<string, any>;
  ROOT: boolean;
  AUTHORIZED?: Record<string, any>;
};

/** Go-style format verbs: %v %s %d %f %t %q %x %T %%. */
declare const log: {
  Trace(format: any, ...args: any[]): void;
  Debug(format: any, ...args: any[]): void;
  Info(format: any, ...args: any[]): void;
  Warn(format: any, ...args: any[]): void;
  Error(format: any, ...args: any[]): void;
  /** Logs at the error level, then ends the call with 500 (gou exits the process). */
  Fatal(format: any, ...args: any[]): never;
  /** Logs at the error level, then ends the call with 500 (gou panics). */
  Panic(format: any, ...args: any[]): never;
};

/** A named key-value store with per-entry TTL: `new Store("cache")`. */
interface Store {
  readonly name: string;
  /** The value, or undefined when absent or expired. */
  Get(key: string): any;
  /** `ttl` in seconds; absent or 0: no expiry. */
  Set(key: string, value: any, ttl?: number): void;
  Has(key: string): boolean;
  /** Fine when absent. */
  Del(key: string): void;
  /** Every live key, sorted. */
  Keys(): string[];
  Len(): number;
  Clear(): void;
  /** The live value; otherwise `value` (or what `value(key)` returns) is stored with `ttl` and returned. */
  GetSet(key: string, value: any, ttl?: number): any;
  /** The value (undefined when absent), removing the key. */
  GetDel(key: string): any;
  /** Adds `by` (default 1) to the number at `key` (absent: 0) atomically, keeping its TTL; the new value. Not a number: 400. */
  Incr(key: string, by?: number): number;
  /** Appends the values to the list at `key` (made when absent). */
  Push(key: string, ...values: any[]): void;
  /** Removes and returns the last element (`position` 1) or the first (-1); 404 when empty or absent. */
  Pop(key: string, position: number): any;
  /** Removes every element equal to `value`. */
  Pull(key: string, value: any): void;
  /** Removes every element equal to one of the values (or to one of the elements of a single array). */
  PullAll(key: string, ...values: any[]): void;
  /** Appends each value not already in the list, in order. */
  AddToSet(key: string, ...values: any[]): void;
  /** 0 when absent or not a list. */
  ArrayLen(key: string): number;
  /** 404 past the end. */
  ArrayGet(key: string, index: number): any;
  ArraySet(key: string, index: number, value: any): void;
  ArraySlice(key: string, skip: number, limit: number): any[];
  /** Page `page` (from 1) of `pageSize` elements. */
  ArrayPage(key: string, page: number, pageSize: number): any[];
  ArrayAll(key: string): any[];
}
declare var Store: {
  new (name: string): Store;
  readonly prototype: Store;
};

/** Files under a root of the runtime's config: `new FS("data")` ("system" when not named).
 * Paths are relative to the root; `..`, absolute paths and links out are refused (403). */
interface FS {
  readonly name: string;
  /** The file as text (400 when not UTF-8: use ReadFileBuffer). */
  ReadFile(path: string): string;
  ReadFileBuffer(path: string): Uint8Array;
  /** Creates or truncates; the bytes written. `perm` (default 0o644) applies when created. */
  WriteFile(path: string, data: string | Uint8Array, perm?: number): number;
  WriteFileBuffer(path: string, data: Uint8Array | string, perm?: number): number;
  /** Creates the file when missing; the bytes written. */
  AppendFile(path: string, data: string | Uint8Array, perm?: number): number;
  Exists(path: string): boolean;
  IsDir(path: string): boolean;
  IsFile(path: string): boolean;
  /** Paths relative to the root ("dir/a.txt"), sorted. */
  ReadDir(path: string, recursive?: boolean): string[];
  /** The parent must exist; 409 when it exists. */
  Mkdir(path: string, perm?: number): void;
  MkdirAll(path: string, perm?: number): void;
  /** A file or an empty directory; 404 when absent. */
  Remove(path: string): void;
  /** Fine when absent. */
  RemoveAll(path: string): void;
  Size(path: string): number;
  Move(src: string, dst: string): void;
  /** One file; overwrites `dst`. */
  Copy(src: string, dst: string): void;
  /** The last component is a symlink (one leading outside is a 403). */
  IsLink(path: string): boolean;
  ReadFileBase64(path: string): string;
  /** The file's bytes (no stream crosses the ABI). */
  ReadCloser(path: string): Uint8Array;
  /** The file with its MIME type, name and size. */
  Download(path: string): { type: string; name: string; size: number; content: Uint8Array };
  WriteFileBase64(path: string, data: string, perm?: number): number;
  AppendBuffer(path: string, data: Uint8Array | string, perm?: number): number;
  AppendBase64(path: string, data: string, perm?: number): number;
  /** Inserts at byte `offset` (past the end: at the end); the bytes inserted. */
  InsertFile(path: string, offset: number, data: string | Uint8Array, perm?: number): number;
  InsertBuffer(path: string, offset: number, data: Uint8Array | string, perm?: number): number;
  InsertBase64(path: string, offset: number, data: string, perm?: number): number;
  /** A new folder (0o700) in `dir` (default the root), its last `*` of `pattern` made random; its path. */
  MkdirTemp(dir?: string, pattern?: string): string;
  Chmod(path: string, perm: number): void;
  /** Permission bits. */
  Mode(path: string): number;
  /** Unix seconds. */
  ModTime(path: string): number;
  MimeType(path: string): string;
  /** The path from the root with a leading "/" (never the host's path). */
  Abs(path: string): string;
  MoveAppend(src: string, dst: string): void;
  MoveInsert(src: string, dst: string, offset: number): void;
  /** A folder (or one file) into the archive `dst`. */
  Zip(src: string, dst: string): void;
  /** The files extracted into `dst`; an entry that would leave it (zip slip) or a symlink entry is a 403. */
  Unzip(src: string, dst: string): string[];
  /** Go's filepath.Match patterns, relative to the root; sorted. */
  Glob(pattern: string): string[];
  BaseName(path: string): string;
  DirName(path: string): string;
  /** Without the dot: "txt". */
  ExtName(path: string): string;
}
declare var FS: {
  new (root?: string): FS;
  readonly prototype: FS;
};

/** What every `http` call answers; a 4xx or 5xx is an answer, not an error. */
interface HttpResponse {
  status: number;
  /** Lowercased names → their values. */
  headers: Record<string, string[]>;
  /** Decoded JSON for JSON content types, a string for text, a Uint8Array for
   * binary, null for an empty body. */
  data: any;
}
type HttpQuery = Record<string, string | number | boolean | Array<string | number | boolean>>;
type HttpHeaders = Record<string, string | string[]>;

/** HTTP/1.1 requests to the hosts in the runtime's `http_allow` (others: 403).
 * A payload string is sent as text, a Uint8Array as bytes, anything else as JSON.
 * A trailing `timeoutMs` after the documented args caps that request. */
declare const http: {
  Get(url: string, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  /** `files` uploads files as multipart/form-data: form field → path under
   * the fs root "data" (checked as `FS("data")` checks paths: 403 outside the
   * root or no such root, 404 missing). With files, `payload` is null or an
   * object whose entries become text fields (objects and arrays as JSON), and
   * the Content-Type is the form's. At most 256 MiB in all (413). */
  Post(url: string, payload?: any, files?: Record<string, string> | null, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  Put(url: string, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  Patch(url: string, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  Delete(url: string, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  Head(url: string, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  /** `method`: GET POST PUT PATCH DELETE HEAD OPTIONS, any case. */
  Send(method: string, url: string, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null, timeoutMs?: number): HttpResponse;
  /** Sends the request and calls `callback` with each line of the body (1: go on, 0: stop, -1: abort); the body is read in full first (http_max_response_bytes), under the same rules as Send. A callback that is not a function, throws or aborts gives a 400 answer. */
  Stream(method: string, url: string, callback: (line: string) => number | void, payload?: any, query?: HttpQuery | null, headers?: HttpHeaders | null): { status: number; code: number; message: string; headers: Record<string, string[]>; data: null };
};

/**
 * Yao's QueryDSL, run by the host: the process `query.Run` with
 * `[dsl, bindings?, engine?, method?]` (docs/ABI.md §8). `bindings` fill
 * the DSL's `?:name` placeholders.
 */
interface Query {
  /** The engine, "default" unless named. */
  readonly name: string;
  /** The rows the query answers. */
  Get(dsl: Record<string, any>, bindings?: Record<string, any> | null): Record<string, any>[];
  /** The first row, or null. */
  First(dsl: Record<string, any>, bindings?: Record<string, any> | null): Record<string, any> | null;
  /** One page: {items, total, page, pagesize, pagecnt, next, prev}. */
  Paginate(dsl: Record<string, any>, bindings?: Record<string, any> | null): Record<string, any>;
  /** What the DSL asks for: a page when it sets page/pagesize, the first row when it sets first, else the rows. */
  Run(dsl: Record<string, any>, bindings?: Record<string, any> | null): any;
  /** gou's QueryDSL linter (the host process `query.Lint`). */
  Lint(source: string): { valid: boolean; diagnostics: Record<string, any>[]; dsl?: Record<string, any> };
  /** The QueryDSL JSON Schema: an object, or its JSON text with "json" (the host process `query.Schema`). */
  Schema(format?: "json"): any;
  /** Checks a DSL against the schema (the host process `query.Validate`). */
  Validate(data: any): { valid: boolean; error?: string };
}
declare var Query: {
  /** `engine`: a query engine the host has registered (default "default"). */
  new (engine?: string): Query;
  readonly prototype: Query;
};

/** One process call of All/Any/Race. */
interface ParallelTask {
  process: string;
  args?: any[];
  /** Seconds; none or 0: the caller's deadline. */
  timeout?: number;
}
/** One task's outcome, in task order; `error`/`code` only on failure. */
interface ParallelResult {
  data: any;
  index: number;
  error?: string;
  code?: number;
}
/** Runs the tasks in parallel; returns once all have finished. */
declare function All(tasks: ParallelTask[]): ParallelResult[];
/** Returns at the first success (no error, non-null data), or once all have finished. */
declare function Any(tasks: ParallelTask[]): ParallelResult[];
/** Returns at the first task to finish, success or failure. */
declare function Race(tasks: ParallelTask[]): ParallelResult[];

/** `callback(new Ctor(...args))`, then the instance's `__release()`, even when callback throws. */
declare function Use<T, R>(Ctor: new (...args: any[]) => T, ...rest: [...args: any[], callback: (instance: T) => R]): R;

/** Evaluates a function's source and calls it with `args`. */
declare function Eval(source: string, ...args: any[]): any;

/** The host's translation of `message` (a leading "::" stripped); the message itself without a language pack. */
declare function $L(message: string): string;

declare const time: {
  /** Blocks `ms` milliseconds; 408 at the call's deadline when longer. */
  Sleep(ms: number): null;
  /** Runs `process` with `args` after `ms`, in the background. */
  After(ms: number, process: string, ...args: any[]): null;
};

/** A process run in the background: `new Job("scripts.report.Build", id)`. */
interface Job {
  readonly id: number;
  /** Calls `callback` while the job runs; `false` stops waiting. */
  Pending(callback: () => boolean | void): void;
  /** The result (null while running or when it failed); the job is then forgotten. */
  Data(): any;
  /** Stops the job and forgets it. */
  Cancel(): void;
}
declare var Job: {
  new (process: string, ...args: any[]): Job;
  readonly prototype: Job;
};

/** A plan task or subscriber: a process name, or a function called the same way. */
type PlanHandler = string | ((planId: string, taskIdOrKey: string, ...args: any[]) => any);
/** A plan's or a task's status. */
type PlanStatus = "created" | "running" | "paused" | "completed" | "failed" | "destroyed" | "unknown";

/**
 * gou's execution plan: `new Plan("import")`, tasks added with an order, run
 * order by order (tasks of one order in parallel), with a shared data space
 * whose changes subscribers see. A plan lives in its call.
 */
interface Plan {
  readonly id: string;
  /** Adds a task; the handler is called with (planId, taskId, ...args). */
  Add(taskId: string, order: number, handler: PlanHandler, ...args: any[]): Plan;
  /** Runs every order from 0 up; a failed task ends the run (throws, with its code). */
  Run(): Plan;
  Status(): { plan: PlanStatus; tasks: Record<string, PlanStatus> };
  /** Clears the shared space (subscribers see null) and forgets the plan. */
  Release(): null;
  /** taskId -> result, of the tasks that completed. */
  Results(): Record<string, any>;
  TaskStatus(taskId: string): PlanStatus;
  /** The task's custom data (a failed task's: its error message). */
  TaskData(taskId: string): any;
  TaskData(taskId: string, data: any): null;
  /** The handler is called with (planId, key, value, ...args) when `key` changes (null: deleted). */
  Subscribe(key: string, handler: PlanHandler, ...args: any[]): null;
  /** Reserved keys (TaskStarted, TaskCompleted, TaskError, Released): 400. */
  Set(key: string, value: any): null;
  /** The value, or null when not set. */
  Get(key: string): any;
  Del(key: string): null;
  Clear(): null;
}
declare var Plan: {
  new (id: string): Plan;
  readonly prototype: Plan;
};

/** gou's one-shot WebSocket client: `new WebSocket("ws://host:port/path", "proto").push("text")`. */
interface WebSocket {
  readonly url: string;
  readonly protocols: string[];
  /** Connects (ws:// or wss://, hosts in http_allow only), sends one text message, closes. */
  push(message: string): undefined;
}
declare var WebSocket: {
  new (url: string, ...protocols: string[]): WebSocket;
  readonly prototype: WebSocket;
};
