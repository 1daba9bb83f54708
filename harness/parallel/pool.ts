/**
 * A small worker_threads pool for independent tasks (`--threads N`): each worker takes the next
 * task when it finishes one, results come back by task id, so the caller can put them in task
 * order and get the same answer as the single-threaded run.
 *
 * The pool knows nothing of what it runs: the caller names a job module, a file whose
 * `runJob(job)` export computes one task. Workers load it through tsx (worker-entry.mjs) and keep
 * their own WebAssembly instances.
 */
import { Worker } from 'node:worker_threads';

export interface PoolTask<J> {
  id: number;
  job: J;
}

/** What a job module exports. */
export type JobRunner<J, R> = (job: J) => R | Promise<R>;

export async function runInWorkers<J>(
  jobModule: URL,
  threads: number,
  tasks: PoolTask<J>[],
  onResult: (id: number, result: unknown) => void,
): Promise<void> {
  const queue = [...tasks];
  const entry = new URL('./worker-entry.mjs', import.meta.url);
  const workers = Array.from({ length: Math.min(threads, tasks.length) }, () => new Worker(entry, { workerData: { jobModule: jobModule.href } }));
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const t = queue.shift();
              if (!t) return resolve();
              w.postMessage(t);
            };
            w.on('message', (m: { id: number; result?: unknown; error?: { name: string; message: string; stack?: string } }) => {
              if (m.error) {
                const e = new Error(m.error.message);
                e.name = m.error.name;
                e.stack = m.error.stack;
                return reject(e);
              }
              onResult(m.id, m.result);
              next();
            });
            w.on('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
