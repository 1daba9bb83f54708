/**
 * A pool of threads for one compiled shared-memory module (build/<module>-mt.wasm): one
 * WebAssembly.Memory (shared), the calling thread's instance, and N-1 persistent workers each
 * with its own instance of the same module on the same memory. Runners (threaded-runner.ts)
 * take their buffers from the pool's memory with alloc(); a job (one layer) runs on all N
 * threads through the control block of ./protocol.ts.
 *
 * Platform-neutral: the workers are started by a WorkerHost (./node-host.ts: worker_threads;
 * harness/browser/: Web Workers).
 */
import { growMemory } from '../wasm/kernel-runner.ts';
import type { KernelExports } from '../wasm/modules.ts';
import { InputError } from '../util/errors.ts';
import {
  ARRIVE, CMD, CONTROL_BYTES, DONE, ERROR, GEN, MAX_POOL_THREADS, PACK_FN, PARAMS, READY, ROWS_FN, RUN, SLOTS, SLOT_WORDS, STOP, THREADS,
  type WorkerSetup, exportIndex, exportedFunctions, runShare, waitAtLeast,
} from './protocol.ts';

/** Starts one worker running protocol.ts's startWorker(setup). */
export interface WorkerHost {
  spawn(setup: WorkerSetup, onError: (e: Error) => void): { terminate(): void };
  /** Whether the calling thread may block in Atomics.wait (not a browser's main thread). */
  readonly canBlock: boolean;
}

/** wasm32's limit, and the maximum the -mt modules declare (asconfig.json). */
const MAX_PAGES = 65536;

/** One thread's part of a job. */
export interface ThreadShare {
  /** Padded input rows it packs. */
  r0: number;
  r1: number;
  /** Output rows it computes. */
  oh0: number;
  oh1: number;
  /** Its own scratch (row accumulators, constants). */
  scratch: number;
}

/** Throws an InputError naming `option` unless `threads` is an integer in [1, MAX_POOL_THREADS]. */
export function checkThreads(threads: unknown, option: string): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_POOL_THREADS) {
    throw new InputError(`${option} must be an integer in [1, ${MAX_POOL_THREADS}], got ${String(threads)}`);
  }
  return threads;
}

export class ThreadPool {
  readonly memory: WebAssembly.Memory;
  readonly exports: KernelExports;
  private readonly ctrl: Int32Array;
  private readonly control: number;
  private readonly fns: ((...a: number[]) => unknown)[];
  private workers: { terminate(): void }[] = [];
  private failure?: Error;
  private top: number;
  private closed = false;

  private constructor(
    readonly moduleName: string,
    readonly module: WebAssembly.Module,
    readonly threads: number,
    private readonly host: WorkerHost,
  ) {
    this.memory = new WebAssembly.Memory({ initial: 2, maximum: MAX_PAGES, shared: true });
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.fns = exportedFunctions(this.exports);
    this.control = Math.ceil(this.exports.heapBase() / 16) * 16;
    this.top = this.control + CONTROL_BYTES;
    growMemory(this.memory, this.top, `the ${moduleName} thread pool`);
    this.ctrl = new Int32Array(this.memory.buffer, this.control, CONTROL_BYTES / 4);
  }

  /**
   * A pool of `threads` threads (the caller's and threads - 1 workers) on `module`, resolved
   * once every worker has instantiated it. `check` runs on the caller's instance first (the
   * relaxed self-check); what it returns is thrown as the reason the module is unusable.
   */
  static async create(moduleName: string, module: WebAssembly.Module, threads: number, host: WorkerHost): Promise<ThreadPool> {
    const pool = ThreadPool.startWorkers(moduleName, module, threads, host);
    const t0 = Date.now();
    while (Atomics.load(pool.ctrl, READY) < threads - 1) {
      if (pool.failure) {
        pool.close();
        throw pool.failure;
      }
      if (Date.now() - t0 > 60_000) {
        pool.close();
        throw new Error(`${moduleName}: ${threads - 1 - Atomics.load(pool.ctrl, READY)} of ${threads - 1} workers did not start within 60 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return pool;
  }

  /**
   * create() for a caller that may block (Node's main thread): waits for the workers with
   * Atomics.wait, so synchronous code (the integer-graph backends) can make a pool.
   */
  static createSync(moduleName: string, module: WebAssembly.Module, threads: number, host: WorkerHost): ThreadPool {
    if (!host.canBlock) throw new Error('createSync needs a thread that may block in Atomics.wait');
    const pool = ThreadPool.startWorkers(moduleName, module, threads, host);
    const t0 = Date.now();
    let ready: number;
    while ((ready = Atomics.load(pool.ctrl, READY)) < threads - 1) {
      if (Date.now() - t0 > 60_000) {
        pool.close();
        throw new Error(`${moduleName}: ${threads - 1 - ready} of ${threads - 1} workers did not start within 60 s`);
      }
      Atomics.wait(pool.ctrl, READY, ready, 1000);
    }
    return pool;
  }

  /** The pool with its threads - 1 workers started (create/createSync wait for them). */
  private static startWorkers(moduleName: string, module: WebAssembly.Module, threads: number, host: WorkerHost): ThreadPool {
    checkThreads(threads, 'threads');
    const pool = new ThreadPool(moduleName, module, threads, host);
    for (let i = 1; i < threads; i++) {
      pool.workers.push(host.spawn({ module, memory: pool.memory, control: pool.control, index: i }, (e) => (pool.failure ??= e)));
    }
    return pool;
  }

  /** `bytes` of the shared memory at a 16-byte aligned offset, for as long as the pool lives (see mark/release). */
  alloc(bytes: number, what: string): number {
    const at = Math.ceil(this.top / 16) * 16;
    growMemory(this.memory, at + bytes, what);
    this.top = at + bytes;
    return at;
  }

  /** The allocation position, to release() everything allocated after it. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    this.top = mark;
  }

  /** Index of an export in the list the workers use. */
  functionIndex(name: string): number {
    const i = exportIndex(this.exports, name);
    if (i < 0) throw new Error(`${this.moduleName} does not export ${name}`);
    return i;
  }

  /** Runs one layer: `packFn` and `rowsFn` (functionIndex) on `params`, thread t doing shares[t]. */
  run(packFn: number, rowsFn: number, params: number, shares: readonly ThreadShare[]): void {
    if (this.closed) throw new Error(`the ${this.moduleName} thread pool is closed`);
    if (this.failure) throw this.failure;
    if (shares.length !== this.threads) throw new Error(`a job of ${shares.length} shares on a pool of ${this.threads} threads`);
    const c = this.ctrl;
    c[PACK_FN] = packFn;
    c[ROWS_FN] = rowsFn;
    c[PARAMS] = params;
    c[THREADS] = this.threads;
    c[ARRIVE] = 0;
    c[DONE] = 0;
    c[ERROR] = 0;
    shares.forEach((s, t) => c.set([s.r0, s.r1, s.oh0, s.oh1, s.scratch], SLOTS + t * SLOT_WORDS));
    c[CMD] = RUN;
    if (this.threads > 1) {
      Atomics.add(c, GEN, 1);
      Atomics.notify(c, GEN);
    }
    let own: unknown;
    try {
      runShare(this.fns, c, 0, this.host.canBlock);
    } catch (e) {
      own = e;
    }
    waitAtLeast(c, DONE, this.threads - 1, this.host.canBlock);
    if (own) throw own;
    const bad = Atomics.load(c, ERROR);
    if (bad) throw new Error(`${this.moduleName}: thread ${bad - 1} of ${this.threads} failed (a trap in the kernel)`);
  }

  /** Stops and ends the workers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CMD, STOP);
    Atomics.add(this.ctrl, GEN, 1);
    Atomics.notify(this.ctrl, GEN);
    for (const w of this.workers) w.terminate();
    this.workers = [];
  }
}

/**
 * Padded input rows and output rows split into `threads` contiguous bands of nearly equal size
 * (bands may be empty when there are fewer rows than threads).
 */
export function bands(rows: number, threads: number): [number, number][] {
  return Array.from({ length: threads }, (_, t) => [Math.floor((t * rows) / threads), Math.floor(((t + 1) * rows) / threads)]);
}
