/** One verification task in a worker thread (the job module of verifyLayers' pool). */
import type { BenchLayer } from '../bench/shapes.ts';
import { type VerifyTask, runVerifyTask } from './verify-kernels.ts';

export interface VerifyJob {
  layers: BenchLayer[];
  task: VerifyTask;
  seed: number;
}

export const runJob = (job: VerifyJob) => runVerifyTask(job.layers, job.task, job.seed);
