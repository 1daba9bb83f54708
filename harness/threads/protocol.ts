/**
 * How the threads of one convolution meet: a control block of int32 words in the shared
 * WebAssembly memory, read and written with Atomics by the calling thread (the coordinator,
 * thread 0) and the pool's workers (threads 1..N-1). Runs on Node's worker_threads and in Web
 * Workers alike: nothing here imports a platform module.
 *
 * One job = one layer: every thread packs its band of padded input rows (`<variant>_pack_rows`),
 * all meet at a barrier, then every thread computes its band of output rows (`<variant>_rows`)
 * with its own row accumulators. The coordinator wakes the workers by bumping GEN (they spin a
 * little, then Atomics.wait on it), does its own share, and waits until DONE counts every worker.
 * A thread that may not block (a browser's main thread) spins instead of waiting.
 */

/** Word indices of the control block. */
export const GEN = 0; // job generation: workers wait for it to change
export const CMD = 1; // what the new generation asks: RUN or STOP
export const ARRIVE = 2; // threads past the packing phase of this job
export const DONE = 3; // workers finished with this job
export const PACK_FN = 4; // index of `<variant>_pack_rows` in exportedFunctions()
export const ROWS_FN = 5; // index of `<variant>_rows`
export const PARAMS = 6; // the ConvParams block
export const THREADS = 7; // threads of the job (the pool's size)
export const ERROR = 8; // 1 + the index of a thread that failed, 0 when none
export const READY = 9; // workers that have instantiated the module
/** Per thread t, at SLOTS + t * SLOT_WORDS: packed rows [r0, r1), output rows [oh0, oh1), its scratch. */
export const SLOTS = 16;
export const SLOT_WORDS = 5;
export const MAX_POOL_THREADS = 64;
export const CONTROL_BYTES = (SLOTS + MAX_POOL_THREADS * SLOT_WORDS) * 4;

export const RUN = 1;
export const STOP = 2;

/** Atomics.load polls before a thread blocks: a job that follows at once finds it awake. */
const SPINS = 1 << 14;

type KernelFn = (...args: number[]) => unknown;

/** The module's exported functions in export order: both sides index the same list. */
export function exportedFunctions(exports: Record<string, unknown>): KernelFn[] {
  return Object.values(exports).filter((f): f is KernelFn => typeof f === 'function');
}

/** Index of the export `name` in exportedFunctions() (-1 when missing). */
export function exportIndex(exports: Record<string, unknown>, name: string): number {
  const names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
  return names.indexOf(name);
}

/**
 * Waits until ctrl[at] >= target: polls, then blocks with Atomics.wait where the thread may
 * (`canBlock`), else keeps polling.
 */
export function waitAtLeast(ctrl: Int32Array, at: number, target: number, canBlock: boolean): void {
  let v: number;
  let spins = 0;
  while ((v = Atomics.load(ctrl, at)) < target) {
    if (canBlock && ++spins > SPINS) Atomics.wait(ctrl, at, v);
  }
}

/** Thread `t`'s share of a job: its packing band, the barrier, its output rows. */
export function runShare(fns: KernelFn[], ctrl: Int32Array, t: number, canBlock: boolean): void {
  const s = SLOTS + t * SLOT_WORDS;
  const threads = ctrl[THREADS]!;
  const p = ctrl[PARAMS]! >>> 0;
  let arrived = false;
  try {
    fns[ctrl[PACK_FN]!]!(p, ctrl[s]!, ctrl[s + 1]!);
    arrived = true;
    arrive(ctrl, threads, canBlock);
    fns[ctrl[ROWS_FN]!]!(p, ctrl[s + 2]!, ctrl[s + 3]!, ctrl[s + 4]! >>> 0);
  } catch (e) {
    Atomics.compareExchange(ctrl, ERROR, 0, t + 1);
    if (!arrived) arrive(ctrl, threads, canBlock); // the others must not wait for this thread
    throw e;
  }
}

function arrive(ctrl: Int32Array, threads: number, canBlock: boolean): void {
  if (Atomics.add(ctrl, ARRIVE, 1) + 1 === threads) Atomics.notify(ctrl, ARRIVE);
  else waitAtLeast(ctrl, ARRIVE, threads, canBlock);
}

/**
 * A worker's life: announce itself, then run its share of every job until STOP. `index` is the
 * worker's thread number (1..N-1).
 */
export function serveJobs(exports: Record<string, unknown>, ctrl: Int32Array, index: number): void {
  const fns = exportedFunctions(exports);
  let gen = Atomics.load(ctrl, GEN);
  Atomics.add(ctrl, READY, 1);
  Atomics.notify(ctrl, READY);
  for (;;) {
    let spins = 0;
    let g: number;
    while ((g = Atomics.load(ctrl, GEN)) === gen) {
      if (++spins > SPINS) Atomics.wait(ctrl, GEN, gen);
    }
    gen = g;
    if (Atomics.load(ctrl, CMD) === STOP) return;
    try {
      runShare(fns, ctrl, index, true);
    } catch {
      // ERROR names this thread; the coordinator throws.
    }
    if (Atomics.add(ctrl, DONE, 1) + 1 === ctrl[THREADS]! - 1) Atomics.notify(ctrl, DONE);
  }
}

/** What a worker is sent once: the compiled module, the shared memory, where the control block is, its thread number. */
export interface WorkerSetup {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  index: number;
}

/** The worker side of a WorkerSetup (Node's and the browser's worker entries call it). */
export function startWorker(setup: WorkerSetup): void {
  const instance = new WebAssembly.Instance(setup.module, { env: { memory: setup.memory } });
  serveJobs(instance.exports as Record<string, unknown>, new Int32Array(setup.memory.buffer, setup.control, CONTROL_BYTES / 4), setup.index);
}
