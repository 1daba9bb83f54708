/**
 * Node's side of the thread pool: workers are worker_threads started through
 * harness/parallel/worker-entry.mjs (which registers tsx) with ./node-worker.ts as their job, and
 * unref'd, so a pool left open does not keep the process alive. Node's main thread may block
 * in Atomics.wait.
 */
import { Worker } from 'node:worker_threads';
import type { KernelVariant } from '../wasm/kernel-runner.ts';
import { type MtModuleName, loadMtModule, requireThreaded } from './mt-modules.ts';
import { ThreadPool, type WorkerHost, checkThreads } from './pool.ts';
import type { WorkerSetup } from './protocol.ts';

export const nodeHost: WorkerHost = {
  canBlock: true,
  spawn(setup: WorkerSetup, onError: (e: Error) => void) {
    const entry = new URL('../parallel/worker-entry.mjs', import.meta.url);
    const w = new Worker(entry, { workerData: { jobModule: new URL('./node-worker.ts', import.meta.url).href } });
    w.on('error', onError);
    w.on('message', (m: { error?: { message: string } }) => {
      if (m.error) onError(new Error(`thread ${setup.index}: ${m.error.message}`));
    });
    w.postMessage({ id: setup.index, job: setup });
    w.unref();
    return { terminate: () => void w.terminate() };
  },
};

const shared = new Map<string, ThreadPool>();

/**
 * The process's pool of `threads` threads for `variant`'s module, made on first use and kept
 * (synchronous: for callers like the integer-graph backends). `option` names the setting in errors.
 */
export function sharedNodePool(variant: KernelVariant, threads: number, option: string): ThreadPool {
  checkThreads(threads, option);
  requireThreaded(variant);
  const name: MtModuleName = `${variant.module}-mt`;
  const key = `${name}/${threads}`;
  let pool = shared.get(key);
  if (!pool) shared.set(key, (pool = ThreadPool.createSync(name, loadMtModule(name).module!, threads, nodeHost)));
  return pool;
}
