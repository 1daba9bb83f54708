/**
 * Loads the compiled WebAssembly modules with feature detection. A module is used only if
 * the engine validates it and, for relaxed SIMD, only if a self-check against the reference
 * passes: an engine may accept the instruction and still compute it wrongly (Node 20's
 * baseline tier returns twice the dot product and drops the accumulator).
 */
import { instantiateSync } from '@assemblyscript/loader';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModuleName } from '../registry/splitconv.ts';

export type LoadedModuleName = ModuleName | 'debug';
export const MODULE_NAMES: readonly LoadedModuleName[] = ['scalar', 'simd', 'relaxed', 'debug'];

export type KernelExports = Record<string, unknown> & {
  memory: WebAssembly.Memory;
  heapBase(): number;
};

/** A compiled module this engine can run; every runner instantiates its own memory. */
export interface KernelModule {
  name: LoadedModuleName;
  instantiate(): KernelExports;
}

export interface ModuleStatus {
  name: LoadedModuleName;
  /** Present when the module is usable on this engine. */
  kernel?: KernelModule;
  /** Why the module is not usable, when it is not. */
  reason?: string;
}

export function wasmPath(name: LoadedModuleName): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', `${name}.wasm`);
}

/**
 * Where module bytes come from: build/<name>.wasm on disk by default; the browser runner
 * sets a provider of bytes it fetched (it has no file system).
 */
export type ModuleBytesProvider = (name: LoadedModuleName) => Uint8Array<ArrayBuffer> | { missing: string };

let provider: ModuleBytesProvider = (name) => {
  const path = wasmPath(name);
  if (!existsSync(path)) return { missing: `${path} is missing: run 'npm run build' (the WASM build)` };
  const b = readFileSync(path);
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** Replaces the source of module bytes (and forgets modules loaded so far). */
export function setModuleBytesProvider(p: ModuleBytesProvider): void {
  provider = p;
  cache = undefined;
}

/** What this engine is called in messages: Node's version, or the browser's user agent. */
function engineName(): string {
  return typeof process !== 'undefined' && process.version ? `Node ${process.version}` : (globalThis.navigator?.userAgent ?? 'this engine');
}

/** Checks relaxed_dot_i8x16_i7x16_add_s on fixed operands against exact integer math. */
export function relaxedSelfCheck(exports: KernelExports): string | undefined {
  const probe = exports.relaxedDotProbe as (a: number, b: number, c: number, out: number) => void;
  const base = exports.heapBase();
  const mem = exports.memory;
  // Boundary operands: a spans [-128, 127], b spans the defined domain [0, 127].
  const a = Int8Array.from({ length: 16 }, (_, i) => [-128, 127, -1, 0, 1, -127, 64, -64][i % 8]! + (i >> 3));
  const b = Uint8Array.from({ length: 16 }, (_, i) => [127, 0, 1, 126, 64, 127, 3, 100][i % 8]!);
  const c = Int32Array.from([1000, -7, 2 ** 30, -(2 ** 30)]);
  new Int8Array(mem.buffer, base, 16).set(a);
  new Uint8Array(mem.buffer, base + 16, 16).set(b);
  new Int32Array(mem.buffer, base + 32, 4).set(c);
  // Run it enough times that a tiering engine also runs its optimized code.
  let got = new Int32Array(4);
  for (let rep = 0; rep < 2000; rep++) {
    probe(base, base + 16, base + 32, base + 48);
    got = new Int32Array(mem.buffer.slice(base + 48, base + 64));
    for (let lane = 0; lane < 4; lane++) {
      let want = c[lane]!;
      for (let j = 0; j < 4; j++) want += a[4 * lane + j]! * b[4 * lane + j]!;
      if (got[lane] !== want) {
        return (
          `relaxed SIMD self-check failed: i32x4.relaxed_dot_i8x16_i7x16_add_s lane ${lane} gave ${got[lane]}, ` +
          `want ${want} (call ${rep}); this engine computes the instruction wrongly, so the relaxed module is not used`
        );
      }
    }
  }
  return undefined;
}

let cache: Map<LoadedModuleName, ModuleStatus> | undefined;

export function loadModule(name: LoadedModuleName): ModuleStatus {
  const bytes = provider(name);
  if ('missing' in bytes) return { name, reason: bytes.missing };
  if (!WebAssembly.validate(bytes)) {
    const need = name === 'relaxed' ? 'relaxed SIMD' : name === 'scalar' ? 'WebAssembly' : 'WebAssembly SIMD';
    return { name, reason: `this engine (${engineName()}) does not support ${need}` };
  }
  const compiled = new WebAssembly.Module(bytes);
  const kernel: KernelModule = { name, instantiate: () => instantiateSync<KernelExports>(compiled, {}).exports };
  if (name === 'relaxed') {
    // The instances share the compiled code, so one instance's check speaks for all.
    const failure = relaxedSelfCheck(kernel.instantiate());
    if (failure) return { name, reason: failure };
  }
  return { name, kernel };
}

/** Every module, loaded once per process. */
export function loadModules(): Map<LoadedModuleName, ModuleStatus> {
  if (!cache) cache = new Map(MODULE_NAMES.map((n) => [n, loadModule(n)]));
  return cache;
}
