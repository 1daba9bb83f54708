/**
 * The shared-memory twins of the kernel modules: build/<module>-mt.wasm is assembly/modules/
 * <module>.ts compiled with threads, an imported shared memory and a maximum (asconfig.json), so
 * that several instances on several threads see one memory. Loaded like the single-thread
 * modules: validated first, and the relaxed twin only where the same self-checks pass
 * (harness/wasm/modules.ts).
 */
import type { ModuleName } from '../registry/splitconv.ts';
import { type KernelExports, readBuiltWasm, relaxedChecks, variantRefusal } from '../wasm/modules.ts';
import { InputError } from '../util/errors.ts';
import type { KernelVariant } from '../wasm/kernel-runner.ts';
import { ThreadPool, type WorkerHost, checkThreads } from './pool.ts';

export type MtModuleName = `${ModuleName}-mt`;
export const MT_MODULE_NAMES: readonly MtModuleName[] = ['scalar-mt', 'simd-mt', 'relaxed-mt'];

export interface MtModuleStatus {
  name: MtModuleName;
  module?: WebAssembly.Module;
  reason?: string;
  /** relaxed-mt only: why variants needing 'unsigned-i7' cannot run here. */
  unsignedI7Refused?: string;
}

export type MtBytesProvider = (name: MtModuleName) => Uint8Array<ArrayBuffer> | { missing: string };

let provider: MtBytesProvider = readBuiltWasm;
let cache = new Map<MtModuleName, MtModuleStatus>();

/** Replaces where the module bytes come from (the browser fetches them) and forgets loaded modules. */
export function setMtBytesProvider(p: MtBytesProvider): void {
  provider = p;
  cache = new Map();
}

function load(name: MtModuleName): MtModuleStatus {
  if (typeof SharedArrayBuffer === 'undefined') {
    return { name, reason: 'SharedArrayBuffer is not available (a browser page needs cross-origin isolation: COOP same-origin, COEP require-corp)' };
  }
  const bytes = provider(name);
  if ('missing' in bytes) return { name, reason: bytes.missing };
  if (!WebAssembly.validate(bytes)) return { name, reason: `this engine does not validate ${name}.wasm (threads${name === 'scalar-mt' ? '' : ', SIMD'}${name === 'relaxed-mt' ? ', relaxed SIMD' : ''})` };
  const module = new WebAssembly.Module(bytes);
  if (name !== 'relaxed-mt') return { name, module };
  // The instances of every thread share the compiled code, so one instance's check speaks for all.
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
  const probe = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  const checks = relaxedChecks(probe);
  if (checks.reason) return { name, reason: checks.reason };
  return { name, module, ...checks };
}

export function loadMtModule(name: MtModuleName): MtModuleStatus {
  let s = cache.get(name);
  if (!s) cache.set(name, (s = load(name)));
  return s;
}

/** Why `variant` cannot run threaded on this engine, or undefined when it can. */
export function threadedUnavailable(variant: KernelVariant): string | undefined {
  const s = loadMtModule(`${variant.module}-mt`);
  return s.module ? variantRefusal(variant, s) : s.reason;
}

/** The same as an InputError naming the variant (for callers about to run it threaded). */
export function requireThreaded(variant: KernelVariant): void {
  const why = threadedUnavailable(variant);
  if (why) throw new InputError(`${variant.name} cannot run on threads here: ${why}`);
}

/**
 * Thread pools of one size, one per module, created when first asked for. close() ends their
 * workers (they are unref'd in Node, so a forgotten close does not hold the process).
 */
export class ThreadPools {
  private readonly pools = new Map<MtModuleName, Promise<ThreadPool>>();

  constructor(
    readonly threads: number,
    private readonly host: WorkerHost,
    option = 'threads',
  ) {
    checkThreads(threads, option);
  }

  /** The pool that runs `variant`; an InputError when this engine cannot run it threaded. */
  async forVariant(variant: KernelVariant): Promise<ThreadPool> {
    requireThreaded(variant);
    const name: MtModuleName = `${variant.module}-mt`;
    let p = this.pools.get(name);
    if (!p) this.pools.set(name, (p = ThreadPool.create(name, loadMtModule(name).module!, this.threads, this.host)));
    return p;
  }

  async close(): Promise<void> {
    for (const p of this.pools.values()) (await p.catch(() => undefined))?.close();
    this.pools.clear();
  }
}
