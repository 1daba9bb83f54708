/** The worker side of pool.ts: runs each job it is sent and posts the result back by id. */
import { parentPort } from 'node:worker_threads';
import type { BenchLayer } from '../bench/shapes.ts';
import { type BenchOptions, benchmarkLayers } from '../bench/bench-kernels.ts';
import { type VerifyTask, runVerifyTask } from '../verify/verify-kernels.ts';
import { type SweepOptions, sweepShare } from '../fpga/sweep.ts';

export type Job =
  | { kind: 'verify'; layers: BenchLayer[]; task: VerifyTask; seed: number }
  | { kind: 'bench'; layer: BenchLayer; options: Omit<BenchOptions, 'onTask' | 'threads'> }
  | { kind: 'sweep'; opts: Omit<SweepOptions, 'onProgress'> };

parentPort!.on('message', async (m: { id: number; job: Job }) => {
  try {
    const job = m.job;
    const result =
      job.kind === 'verify'
        ? await runVerifyTask(job.layers, job.task, job.seed)
        : job.kind === 'bench'
          ? await benchmarkLayers([job.layer], job.options)
          : sweepShare(job.opts);
    parentPort!.postMessage({ id: m.id, result });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: m.id, error: { name: err.name, message: err.message, stack: err.stack } });
  }
});
