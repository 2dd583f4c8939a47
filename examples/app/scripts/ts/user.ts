/// <reference path="../../../../js/types/yao.d.ts" />
// The example `user` script in TypeScript: `yaowasm build` turns it into
// user.wasm beside it (a small hook run by yaowasm's shared QuickJS engine).
// Every top-level function is callable as scripts.ts.user.<Function>,
// exported or not, as in Yao.

interface Verdict {
  valid: boolean;
  errors: string[];
}

type Payload = Record<string, unknown>;

export function Check(payload: Payload): Verdict {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new Exception("payload must be a map", 400);
  }
  const errors: string[] = [];
  const { name, email, age } = payload;
  if (typeof name !== "string" || name.length === 0) errors.push("name is required");
  if (typeof email !== "string" || !email.includes("@")) errors.push("email is invalid");
  if (age !== undefined && age !== null && !(Number.isInteger(age) && (age as number) >= 0 && (age as number) <= 150)) {
    errors.push("age is out of range");
  }
  return { valid: errors.length === 0, errors };
}

export function BeforeSave(payload: Payload): Payload {
  // A failed Process throws an Exception with the host's code and message;
  // it goes on to our caller unchanged.
  const found = Process("models.user.Find", payload.id) as Payload;
  return { ...found, ...payload };
}

export function Deny(): never {
  throw new Exception("denied", 403);
}

function Log(msg: string): null {
  log.Trace(msg);
  log.Debug(msg);
  log.Info(msg);
  log.Warn(msg);
  log.Error(msg);
  return null;
}

function Echo(...args: unknown[]): unknown[] {
  return args;
}

function Add(a: unknown, b: unknown): number {
  if (!Number.isInteger(a) || !Number.isInteger(b)) {
    throw new Exception("Add expects two integers", 400);
  }
  return (a as number) + (b as number);
}

function Nested(payload: Payload): boolean {
  return (Process("scripts.ts.user.Check", payload) as Verdict).valid;
}
