/**
 * A small worker_threads pool for independent tasks (`--threads N`): each worker takes the next
 * task when it finishes one, results come back by task id, so the caller can put them in task
 * order and get the same answer as the single-threaded run.
 *
 * The pool knows nothing of what it runs: the caller names a job module, a file whose
 * `runJob(job)` export computes one task. Workers load it through tsx (worker-entry.mjs) and keep
 * their own WebAssembly instances. `runInWorkers` starts workers for one list of tasks;
 * a `WorkerPool` keeps them (and whatever the job module caches) across many lists.
 */
import { Worker } from 'node:worker_threads';

export interface PoolTask<J> {
  id: number;
  job: J;
}

/** What a job module exports. */
export type JobRunner<J, R> = (job: J) => R | Promise<R>;

type Reply = { id: number; result?: unknown; error?: { name: string; message: string; stack?: string } };

/** Workers started once and fed list after list of tasks (`run`), until `close`. */
export class WorkerPool<J> {
  private readonly workers: Worker[];

  constructor(jobModule: URL, readonly threads: number) {
    const entry = new URL('./worker-entry.mjs', import.meta.url);
    this.workers = Array.from({ length: threads }, () => new Worker(entry, { workerData: { jobModule: jobModule.href } }));
  }

  /** Runs every task (the first error rejects); onResult is called as each one finishes. */
  async run(tasks: readonly PoolTask<J>[], onResult: (id: number, result: unknown) => void): Promise<void> {
    const queue = [...tasks];
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const done = (err?: Error) => {
              w.off('message', onMessage);
              w.off('error', done);
              if (err) reject(err);
              else resolve();
            };
            const next = () => {
              const t = queue.shift();
              if (!t) return done();
              w.postMessage(t);
            };
            const onMessage = (m: Reply) => {
              if (m.error) {
                const e = new Error(m.error.message);
                e.name = m.error.name;
                e.stack = m.error.stack;
                return done(e);
              }
              onResult(m.id, m.result);
              next();
            };
            w.on('message', onMessage);
            w.on('error', done);
            next();
          }),
      ),
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export async function runInWorkers<J>(
  jobModule: URL,
  threads: number,
  tasks: PoolTask<J>[],
  onResult: (id: number, result: unknown) => void,
): Promise<void> {
  const pool = new WorkerPool<J>(jobModule, Math.min(threads, tasks.length));
  try {
    await pool.run(tasks, onResult);
  } finally {
    await pool.close();
  }
}
