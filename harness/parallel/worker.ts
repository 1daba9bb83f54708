/** The worker side of pool.ts: runs each job it is sent and posts the result back by id. */
import { parentPort } from 'node:worker_threads';
import type { BenchLayer } from '../bench/shapes.ts';
import { type BenchOptions, benchmarkLayers } from '../bench/splitconv-bench.ts';
import { type VerifyTask, runVerifyTask } from '../verify/splitconv-verify.ts';

export type Job =
  | { kind: 'verify'; layers: BenchLayer[]; task: VerifyTask; seed: number }
  | { kind: 'bench'; layer: BenchLayer; options: Omit<BenchOptions, 'onTask' | 'threads'> };

parentPort!.on('message', async (m: { id: number; job: Job }) => {
  try {
    const result =
      m.job.kind === 'verify' ? await runVerifyTask(m.job.layers, m.job.task, m.job.seed) : await benchmarkLayers([m.job.layer], m.job.options);
    parentPort!.postMessage({ id: m.id, result });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: m.id, error: { name: err.name, message: err.message, stack: err.stack } });
  }
});
