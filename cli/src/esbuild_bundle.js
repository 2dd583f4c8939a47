// The bundling step of `yaowasm build` (cli/src/esbuild.rs runs it with
// `node -e`): esbuild's JS API with one resolver plugin that applies gou's
// import rules (YaoApp/gou runtime/v8/script.go and tsconfig.go, as read;
// no code of gou's is here). js/README.md says which rules and why a plugin.
//
// stdin: JSON requests, one a line
//   { esbuild: <path of the esbuild npm package>,
//     contents, sourcefile, resolveDir, loader,   // the entry (stdin)
//     nodePaths: [...], options: {...},           // extra build options
//     sourcemap: bool }                           // also answer a source map
// stdout: one JSON answer a line, in order: { code, inputs: [absolute paths
// of the app files bundled], sourcemap?: JSON text }, or { errors: "`file:line:col: message` lines" },
// or { fatal: "..." } (a fault of this script, not of the source).
"use strict";
const fs = require("fs");
const path = require("path");

const KEEP_PREFIXES = ["@yao", "@yaoapps", "@yaoapp", "@gou"];
const KEEP_SUFFIXES = ["/yao.ts", "/yao", "/gou", "/gou.ts"];
// The globals of the engine's prelude (js/engine/prelude.js): a namespace
// import of a Yao module sees these.
const GLOBALS = ["Process", "Exception", "Store", "FS", "http", "Query", "log", "console",
  "All", "Any", "Race", "Use", "Eval", "$L", "time", "Job", "Plan", "WebSocket", "atob", "btoa"];

const isYaoModule = (spec) => KEEP_SUFFIXES.some((s) => spec.endsWith(s)) || KEEP_PREFIXES.some((p) => spec.startsWith(p));
const isFile = (p) => {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
};
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

// The names `importer` takes from the Yao module `spec` (a superset is fine:
// each becomes `export var NAME = globalThis.NAME`).
function importedNames(source, spec) {
  const names = new Set();
  let namespace = false;
  const re = new RegExp(`(?:import|export)\\s+(?:type\\s+)?([^;]*?)\\s*from\\s*["']${escapeRe(spec)}["']`, "g");
  for (const m of source.matchAll(re)) {
    const clause = m[1];
    if (/\*/.test(clause)) namespace = true;
    const braces = clause.match(/\{([^}]*)\}/);
    if (braces) {
      for (let item of braces[1].split(",")) {
        item = item.trim().replace(/^type\s+/, "");
        const name = item.split(/\s+as\s+/)[0].trim();
        if (/^[A-Za-z_$][\w$]*$/.test(name) && name !== "default") names.add(name);
      }
    }
  }
  if (namespace) GLOBALS.forEach((g) => names.add(g));
  return [...names];
}

// tsconfig.json allows comments and trailing commas.
function parseJsonc(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = /"(?:[^"\\]|\\.)*"/y;
      end.lastIndex = i;
      const m = end.exec(text);
      if (!m) break;
      out += m[0];
      i += m[0].length - 1;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close < 0 ? text.length : close + 1;
    } else {
      out += c;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

// The app root is the folder of the nearest tsconfig.json walking up from
// the entry (gou reads <app>/tsconfig.json); its compilerOptions.paths.
function findTsconfig(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, "tsconfig.json");
    if (isFile(file)) {
      let config;
      try {
        config = parseJsonc(fs.readFileSync(file, "utf8"));
      } catch (e) {
        throw { errors: [{ text: `${file}: not valid JSON: ${e.message}` }] };
      }
      return { appRoot: d, paths: (config && config.compilerOptions && config.compilerOptions.paths) || {} };
    }
    if (path.dirname(d) === d) return { appRoot: null, paths: {} };
  }
}

// The folder holding the nearest `scripts` folder walking up (a Yao app's
// root), or null.
function scriptsParent(dir) {
  for (let d = dir; path.dirname(d) !== d; d = path.dirname(d)) {
    if (path.basename(d) === "scripts") return path.dirname(d);
  }
  return null;
}

// One request → one answer.
async function bundle(request) {
  const esbuild = require(request.esbuild);
  const entryFile = path.resolve(request.resolveDir, path.basename(request.sourcefile));
  let appRoot = null;
  let paths = {};

  // gou's tsconfig rule: pattern "@x/*" matches "@x/..."; the rest, with
  // ".ts" added when missing, is looked up in the folder of each target
  // ("./scripts/*" → <app>/scripts), relative to the app root.
  function viaTsconfig(spec) {
    if (!appRoot) return null;
    for (const [pattern, targets] of Object.entries(paths)) {
      const prefix = pattern.split("/*")[0];
      if (!spec.startsWith(prefix + "/")) continue;
      let rest = spec.slice(prefix.length);
      if (!rest.endsWith(".ts")) rest += ".ts";
      for (const target of Array.isArray(targets) ? targets : []) {
        const candidate = path.join(appRoot, path.dirname(target), rest);
        if (isFile(candidate)) return candidate;
      }
    }
    return null;
  }

  const yao = {
    name: "yao-imports",
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point" || args.namespace !== "file") return undefined;
        // npm packages resolve their own imports the usual way.
        // The entry comes on stdin: its importer name is not a file.
        const importer = isFile(args.importer) ? path.resolve(args.importer) : entryFile;
        if (importer.split(path.sep).includes("node_modules")) return undefined;
        const spec = args.path;
        if (isYaoModule(spec)) {
          return { path: spec, namespace: "yao-globals", pluginData: { importer } };
        }
        const aliased = viaTsconfig(spec);
        if (aliased) return { path: aliased };
        if (path.isAbsolute(spec)) return undefined;
        // gou: every other name is a path relative to the importing file:
        // NAME.ts, then NAME/index.ts, then NAME itself; a bare name that is
        // none of these is an npm package (gou has no npm; we add it).
        const base = path.join(args.resolveDir, spec);
        if (!spec.endsWith(".ts")) {
          if (isFile(base + ".ts")) return { path: base + ".ts" };
          if (isFile(path.join(base, "index.ts"))) return { path: path.join(base, "index.ts") };
        }
        if (isFile(base)) return { path: base };
        return undefined; // esbuild's own resolution: .js, package.json, node_modules; else its error
      });
      build.onLoad({ filter: /.*/, namespace: "yao-globals" }, (args) => {
        const importer = args.pluginData.importer;
        const source = importer === entryFile ? request.contents : fs.readFileSync(importer, "utf8");
        const lines = importedNames(source, args.path).map((n) => `export var ${n} = globalThis.${n};`);
        lines.push("export default globalThis;");
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };

  try {
    ({ appRoot, paths } = findTsconfig(request.resolveDir));
    // The source map (request.sourcemap): positions and names only, never
    // sourcesContent; its sources relative to the app root (the folder of
    // the tsconfig.json, else the one holding scripts/, else the entry's),
    // which esbuild does when the (unwritten) output file is there.
    let mapOptions = {};
    if (request.sourcemap) {
      const root = appRoot || scriptsParent(request.resolveDir) || request.resolveDir;
      mapOptions = { sourcemap: "external", sourcesContent: false, outfile: path.join(root, "__yaowasm_bundle.js") };
    }
    const result = await esbuild.build({
      // esbuild names the entry resolveDir + sourcefile: the base name
      // gives the real path; errors show it as the caller wrote it.
      stdin: { contents: request.contents, resolveDir: request.resolveDir, sourcefile: path.basename(request.sourcefile), loader: request.loader },
      bundle: true,
      write: false,
      metafile: true,
      logLevel: "silent",
      charset: "utf8",
      nodePaths: request.nodePaths,
      plugins: [yao],
      ...request.options,
      ...mapOptions,
    });
    const cwd = process.cwd();
    const inputs = Object.keys(result.metafile.inputs)
      .filter((p) => !p.startsWith("<") && !p.includes(":") && !p.split("/").includes("node_modules"))
      .map((p) => path.resolve(cwd, p));
    const code = result.outputFiles.find((f) => !f.path.endsWith(".map")) || result.outputFiles[0];
    const mapFile = result.outputFiles.find((f) => f.path.endsWith(".map"));
    let sourcemap;
    if (mapFile) {
      // An npm package's files as node_modules/<package>/…, wherever the
      // builder's node_modules is.
      const map = JSON.parse(mapFile.text);
      map.sources = (map.sources || []).map((s) => (s && s.includes("node_modules/") ? s.slice(s.lastIndexOf("node_modules/")) : s));
      sourcemap = JSON.stringify(map);
    }
    return { code: code.text, inputs, ...(sourcemap ? { sourcemap } : {}) };
  } catch (e) {
    const errors = (e && e.errors) || [{ text: String(e && e.message ? e.message : e) }];
    const shown = (file) => (path.resolve(file) === entryFile ? request.sourcefile : file);
    const lines = errors.map((m) =>
      m.location && !m.pluginName ? `${shown(m.location.file)}:${m.location.line}:${m.location.column}: ${m.text}` : `${request.sourcefile}: ${m.text}`
    );
    return { errors: lines.join("\n") };
  }
}

// Requests are JSON lines on stdin, answered in order, one JSON line each,
// until stdin closes: one node (and one esbuild service) per build worker.
let queue = Promise.resolve();
require("readline")
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    queue = queue.then(async () => {
      let answer;
      try {
        answer = await bundle(JSON.parse(line));
      } catch (e) {
        answer = { fatal: String(e && e.stack ? e.stack : e) };
      }
      process.stdout.write(JSON.stringify(answer) + "\n");
    });
  });
