// Globals of a Yao script run by yaowasm's QuickJS engine (js/engine/prelude.js).
// Reference it from tsconfig.json ("types"/"include") for editor support.

/** Yao's exception: `code` reaches the caller as the error code. */
declare class Exception extends Error {
  constructor(message: string, code?: number);
  code: number;
}

/** Calls a Yao process; a failure throws an Exception with its code. */
declare function Process(name: string, ...args: any[]): any;

/** Go-style format verbs: %v %s %d %f %t %q %x %T %%. */
declare const log: {
  Trace(format: any, ...args: any[]): void;
  Debug(format: any, ...args: any[]): void;
  Info(format: any, ...args: any[]): void;
  Warn(format: any, ...args: any[]): void;
  Error(format: any, ...args: any[]): void;
};
