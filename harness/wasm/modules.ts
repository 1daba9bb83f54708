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
import type { DspConvVariant } from '../registry/dspconv.ts';
import type { ModuleName, SplitConvVariant } from '../registry/splitconv.ts';

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
  /** The relaxed module only: why variants needing 'unsigned-i7' are not usable here, when they are not. */
  unsignedI7Refused?: string;
}

/** build/<stem>.wasm: a kernel module, or a shared-memory twin such as 'simd-mt' (harness/threads/). */
export function wasmPath(stem: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', `${stem}.wasm`);
}

/** The bytes of build/<stem>.wasm, or what is missing. */
export function readBuiltWasm(stem: string): Uint8Array<ArrayBuffer> | { missing: string } {
  const path = wasmPath(stem);
  if (!existsSync(path)) return { missing: `${path} is missing: run 'npm run build' (the WASM build)` };
  const b = readFileSync(path);
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/**
 * Where module bytes come from: build/<name>.wasm on disk by default; the browser runner
 * sets a provider of bytes it fetched (it has no file system).
 */
export type ModuleBytesProvider = (name: LoadedModuleName) => Uint8Array<ArrayBuffer> | { missing: string };

let provider: ModuleBytesProvider = readBuiltWasm;

/** Replaces the source of module bytes (and forgets modules loaded so far). */
export function setModuleBytesProvider(p: ModuleBytesProvider): void {
  provider = p;
  cache = undefined;
}

/** What this engine is called in messages: Node's version, or the browser's user agent. */
function engineName(): string {
  return typeof process !== 'undefined' && process.version ? `Node ${process.version}` : (globalThis.navigator?.userAgent ?? 'this engine');
}

interface DotCase {
  a: readonly number[];
  b: readonly number[];
  c: readonly number[];
}

/**
 * Runs relaxed_dot_i8x16_i7x16_add_s on each case and compares with exact integer math, the b
 * bytes read as unsigned. Returns the first difference, or undefined.
 */
function checkRelaxedDot(exports: KernelExports, cases: readonly DotCase[]): { lane: number; got: number; want: number; rep: number; which: number } | undefined {
  const probe = exports.relaxedDotProbe as (a: number, b: number, c: number, out: number) => void;
  const base = exports.heapBase();
  const mem = exports.memory;
  for (let which = 0; which < cases.length; which++) {
    const { a, b, c } = cases[which]!;
    new Int8Array(mem.buffer, base, 16).set(a);
    new Uint8Array(mem.buffer, base + 16, 16).set(b);
    new Int32Array(mem.buffer, base + 32, 4).set(c);
    // Run it enough times that a tiering engine also runs its optimized code.
    for (let rep = 0; rep < 2000; rep++) {
      probe(base, base + 16, base + 32, base + 48);
      const got = new Int32Array(mem.buffer.slice(base + 48, base + 64));
      for (let lane = 0; lane < 4; lane++) {
        let want = c[lane]!;
        for (let j = 0; j < 4; j++) want += a[4 * lane + j]! * b[4 * lane + j]!;
        if (got[lane] !== want) return { lane, got: got[lane]!, want, rep, which };
      }
    }
  }
  return undefined;
}

/** Checks relaxed_dot_i8x16_i7x16_add_s in its defined domain (b in [0, 127]) against exact integer math. */
export function relaxedSelfCheck(exports: KernelExports): string | undefined {
  // Boundary operands: a spans [-128, 127], b spans the defined domain [0, 127].
  const a = Array.from({ length: 16 }, (_, i) => [-128, 127, -1, 0, 1, -127, 64, -64][i % 8]! + (i >> 3));
  const b = Array.from({ length: 16 }, (_, i) => [127, 0, 1, 126, 64, 127, 3, 100][i % 8]!);
  const bad = checkRelaxedDot(exports, [{ a, b, c: [1000, -7, 2 ** 30, -(2 ** 30)] }]);
  if (!bad) return undefined;
  return (
    `relaxed SIMD self-check failed: i32x4.relaxed_dot_i8x16_i7x16_add_s lane ${bad.lane} gave ${bad.got}, ` +
    `want ${bad.want} (call ${bad.rep}); this engine computes the instruction wrongly, so the relaxed module is not used`
  );
}

/**
 * Checks what variants with `needs: 'unsigned-i7'` rely on: i7-operand bytes >= 128 read as
 * unsigned (x64's VNNI vpdpbusd does; Arm's sdot reads them signed) and four u8 x i8 products
 * summed without saturating (x64's pre-VNNI pmaddubsw saturates pairs to int16). The same test
 * as XNNPACK's use_wasm_usdot detection (src/configs/hardware-config.c), on our own operands.
 */
export function unsignedI7Check(exports: KernelExports): string | undefined {
  const cases: DotCase[] = [
    // -128 x 255 four times: -130560; a saturating pair sum would give -65536.
    { a: Array(16).fill(-128), b: Array(16).fill(255), c: [0, 1, -1, 2 ** 20] },
    { a: Array(16).fill(127), b: Array(16).fill(255), c: [0, 0, 0, 0] },
    // Mixed: bytes >= 128 beside small ones; a signed reading of 128..255 gives different sums.
    {
      a: Array.from({ length: 16 }, (_, i) => [-128, 127, -1, 5, 64, -77, 3, -2][i % 8]!),
      b: Array.from({ length: 16 }, (_, i) => [128, 255, 200, 0, 127, 129, 1, 254][(i + (i >> 3)) % 8]!),
      c: [7, -7, 2 ** 30, -(2 ** 30)],
    },
  ];
  const bad = checkRelaxedDot(exports, cases);
  if (!bad) return undefined;
  return (
    `this engine's i32x4.relaxed_dot_i8x16_i7x16_add_s does not read i7 bytes >= 128 as unsigned without saturation ` +
    `(case ${bad.which} lane ${bad.lane} gave ${bad.got}, want ${bad.want}), so the variants that need it are not used`
  );
}

/**
 * The checks an instance of a relaxed-SIMD module (relaxed, relaxed-mt) must pass: failing the
 * first refuses the module (`reason`); failing the second refuses only the variants that need
 * 'unsigned-i7' (`unsignedI7Refused`).
 */
export function relaxedChecks(probe: KernelExports): { reason?: string; unsignedI7Refused?: string } {
  const reason = relaxedSelfCheck(probe);
  if (reason) return { reason };
  const unsignedI7Refused = unsignedI7Check(probe);
  return unsignedI7Refused ? { unsignedI7Refused } : {};
}

/**
 * Why `variant` cannot run on a usable module whose checks gave `status`, or undefined when it
 * can: the one place a variant's `needs` meets the engine.
 */
export function variantRefusal(variant: SplitConvVariant | DspConvVariant, status: { unsignedI7Refused?: string }): string | undefined {
  return 'needs' in variant && variant.needs === 'unsigned-i7' ? status.unsignedI7Refused : undefined;
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
    const checks = relaxedChecks(kernel.instantiate());
    if (checks.reason) return { name, reason: checks.reason };
    return { name, kernel, ...checks };
  }
  return { name, kernel };
}

/** Every module, loaded once per process. */
export function loadModules(): Map<LoadedModuleName, ModuleStatus> {
  if (!cache) cache = new Map(MODULE_NAMES.map((n) => [n, loadModule(n)]));
  return cache;
}
