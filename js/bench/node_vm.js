// Baseline: the same TS hook run per call in a fresh V8 context (node:vm),
// as Yao's V8 runtime does. Prints one JSON line: p50/p99 in microseconds.
// Usage: node node_vm.js <user.ts> <iterations>
const vm = require("node:vm");
const path = require("node:path");
const esbuild = require(path.join(__dirname, "../node_modules/esbuild"));
const [file, n] = [process.argv[2], Number(process.argv[3] || 2000)];
const bundle = esbuild.buildSync({
  entryPoints: [file], bundle: true, format: "iife", globalName: "__yao_exports",
  write: false, platform: "neutral", target: "es2022", logLevel: "error",
}).outputFiles[0].text;
const prelude = `class Exception extends Error { constructor(m, c) { super(m); this.code = c; } }
function Process() { throw new Exception("no host", 404); }
const log = { Trace() {}, Debug() {}, Info() {}, Warn() {}, Error() {} };`;
const script = new vm.Script(prelude + "\n" + bundle);
const payload = { name: "Ada", email: "ada@example.com", age: 36 };
const times = [];
for (let i = 0; i < n; i++) {
  const t = process.hrtime.bigint();
  const ctx = vm.createContext({});
  script.runInContext(ctx);
  const out = ctx.__yao_exports.Check(JSON.parse(JSON.stringify(payload)));
  JSON.stringify(out);
  times.push(Number(process.hrtime.bigint() - t) / 1000);
}
times.sort((a, b) => a - b);
console.log(JSON.stringify({ p50_us: times[n >> 1], p99_us: times[Math.floor(n * 0.99)], n }));
