// An asc transform that exports the SDK's `yao_alloc` and `yao_free` from
// every entry file, so a script does not have to (asc exports only what an
// entry file exports). Used by the SDK's yaowasm.asconfig.json:
//     npx asc assembly/hello.ts --config node_modules/@yaoapp/yaowasm-as/yaowasm.asconfig.json -o hello.wasm
// An entry file that exports them itself is left as it is.
import { Transform } from "assemblyscript/transform";

const EXPORTS = ["yao_alloc", "yao_free"];
// The SDK's memory module, by the internal path asc gives it: through the
// package (`~lib/@yaoapp/yaowasm-as/...`) or through a relative path.
const isSdkMemory = (path) => /(^|\/)(@yaoapp\/yaowasm-as|sdk\/assemblyscript)\/assembly\/memory$/.test(path);

export default class YaoExports extends Transform {
  afterInitialize(program) {
    let memory = null;
    for (const [path, file] of program.filesByName) if (isSdkMemory(path)) memory = file;
    if (!memory) return; // the SDK is not imported: nothing to export
    for (const file of program.filesByName.values()) {
      if (file.source.sourceKind !== 1 /* SourceKind.UserEntry */) continue;
      for (const name of EXPORTS) {
        const element = memory.getMember(name);
        if (element && !file.lookupExport(name)) file.ensureExport(name, element);
      }
    }
  }
}
