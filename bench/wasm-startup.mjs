// Wasm start-up cost of a worker's index_bg.wasm in V8 (Node 22; workerd embeds V8 too):
// compiling the module (what workerd does when it loads the script) and instantiating it
// (what happens for every new isolate). Prints one line of medians in milliseconds:
// "compile_ms=… instantiate_ms=… iterations=…".
//
//   node bench/wasm-startup.mjs <index_bg.wasm> [iterations]
//
// V8 caches native modules by their bytes within a process, so every iteration appends a
// distinct custom section: each compile is a real one. Imports are stubs (the JS glue is not
// loaded); instantiation does not call them, wasm-bindgen's start function is not run.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [file, itersArg] = process.argv.slice(2);
const iterations = Number(itersArg ?? 15);
const base = readFileSync(file);

// Custom section: id 0, size, name ("bench"), payload (iteration number).
function variant(i) {
  const name = Buffer.from("bench");
  const payload = Buffer.from(String(i));
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([base, Buffer.from([0, body.length]), body]);
}

function stubs(module) {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    const ns = (imports[imp.module] ??= {});
    switch (imp.kind) {
      case "function": ns[imp.name] = () => { throw new Error("stub"); }; break;
      case "tag": ns[imp.name] = WebAssembly.JSTag; break;
      case "memory": ns[imp.name] = new WebAssembly.Memory({ initial: 17 }); break;
      case "table": ns[imp.name] = new WebAssembly.Table({ initial: 0, element: "anyfunc" }); break;
      case "global": ns[imp.name] = new WebAssembly.Global({ value: "i32", mutable: true }, 0); break;
    }
  }
  return imports;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const compile = [], instantiate = [];
for (let i = 0; i < iterations + 2; i++) {
  const bytes = variant(i);
  const t0 = performance.now();
  const module = new WebAssembly.Module(bytes);
  const t1 = performance.now();
  const imports = stubs(module);
  const t2 = performance.now();
  new WebAssembly.Instance(module, imports);
  const t3 = performance.now();
  if (i >= 2) { compile.push(t1 - t0); instantiate.push(t3 - t2); } // first two: warm-up
}
console.log(Object.entries({
  compile_ms: +median(compile).toFixed(3),
  instantiate_ms: +median(instantiate).toFixed(3),
  iterations,
}).map(([k, v]) => `${k}=${v}`).join(" "));
