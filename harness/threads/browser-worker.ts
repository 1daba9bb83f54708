/**
 * The Web Worker of a browser thread pool (bundled and served by `fkb serve` as
 * /thread-worker.js): receives its WorkerSetup and serves jobs until the pool stops.
 */
import { type WorkerSetup, startWorker } from './protocol.ts';

self.onmessage = (e: MessageEvent<WorkerSetup>) => {
  try {
    startWorker(e.data);
  } catch (err) {
    self.postMessage({ error: String((err as Error)?.stack ?? err) });
  }
};
