/**
 * The browser's side of the thread pool (harness/threads/pool.ts): Web Workers running the
 * bundle `fkb serve` serves as /thread-worker.js. A page's main thread may not block in
 * Atomics.wait, so it spins while it waits for the workers.
 */
import type { WorkerHost } from '../threads/pool.ts';
import type { WorkerSetup } from '../threads/protocol.ts';

export const browserHost: WorkerHost = {
  canBlock: false,
  spawn(setup: WorkerSetup, onError: (e: Error) => void) {
    const w = new Worker('/thread-worker.js', { type: 'module', name: `fkb thread ${setup.index}` });
    w.onerror = (e) => onError(new Error(`thread ${setup.index}: ${e.message}`));
    w.onmessage = (m: MessageEvent<{ error?: string }>) => {
      if (m.data?.error) onError(new Error(`thread ${setup.index}: ${m.data.error}`));
    };
    w.postMessage(setup);
    return { terminate: () => w.terminate() };
  },
};
