/**
 * LiteRT.js loaded in Node from node_modules (the loader `loadLiteRt` uses outside a page).
 *
 * The package's loader is written for a page or a worker: it reads `self`, and runs the
 * Emscripten script with `importScripts` (a worker) or a <script> tag (a page). Here `self` is
 * globalThis and `importScripts` evaluates the script from node_modules with Node's `require`,
 * `__filename` and `__dirname`, so Emscripten takes its Node path and reads the .wasm beside the
 * script: nothing is fetched. The threaded build starts its pthreads as workers of its own
 * script, which Node would load as an ES module: they start from litert-pthread.cjs instead.
 * Relaxed SIMD (so the fast and the threaded builds): Node 22+, or Node 20 with
 * --experimental-wasm-relaxed-simd.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LiteRtInfo, LiteRtLoadOptions, LiteRtPackage, LiteRt } from './litert.ts';

const require = createRequire(import.meta.url);
/** Imported by a specifier TypeScript does not resolve: see the note on the types in litert.ts. */
const PACKAGE: string = '@litertjs/core';

/** The package's wasm/ folder in node_modules. */
export function liteRtWasmDir(): string {
  return join(dirname(require.resolve('@litertjs/core/package.json')), 'wasm');
}

/** `self` and `importScripts`, the two worker globals the package's loader needs, for Node. */
function installNodeShims(onScript: (path: string) => void): void {
  const g = globalThis as Record<string, unknown>;
  g.self ??= globalThis;
  g.importScripts = (url: string) => {
    const path = url.startsWith('file:') ? new URL(url).pathname : url;
    onScript(path);
    const code = readFileSync(path, 'utf8');
    // The script declares `var ModuleFactory`; evaluate it as a function body and hand the factory to the loader.
    const factory = new Function('require', '__filename', '__dirname', `${code}\nreturn ModuleFactory;`)(createRequire(path), path, dirname(path));
    (g.self as Record<string, unknown>).ModuleFactory = factory;
  };
}

/** Loads the package (call once: litert.ts's loadLiteRt memoizes it). */
export async function loadLiteRtNode(options: LiteRtLoadOptions, log: (line: string) => void): Promise<{ liteRt: LiteRt; info: LiteRtInfo }> {
  let build = '';
  if (typeof (globalThis as { document?: unknown }).document === 'undefined') installNodeShims((p) => (build = p.split('/').pop() ?? p));
  const mod = (await import(PACKAGE)) as LiteRtPackage;
  // Environment.create looks for a WebGPU device and warns when there is none; the CPU path needs none.
  // The runtime's own log lines (INFO: ... XNNPACK delegate ...) go to `liteRtLog()`, not stderr.
  const warn = console.warn;
  console.warn = () => {};
  const g = globalThis as Record<string, unknown>;
  g.Module = {
    print: log,
    printErr: log,
    // The threaded build's pthread workers: see litert-pthread.cjs.
    mainScriptUrlOrBlob: fileURLToPath(new URL('./litert-pthread.cjs', import.meta.url)),
  };
  try {
    const liteRt = await mod.loadLiteRt(liteRtWasmDir(), { threads: options.threads ?? false });
    return { liteRt, info: { build, threads: options.threads ?? false } };
  } finally {
    console.warn = warn;
  }
}

