/** One layer's benchmark in a worker thread (the job module of benchmarkLayers' pool). */
import type { BenchLayer } from './shapes.ts';
import { type BenchOptions, benchmarkLayers } from './bench-kernels.ts';

export interface BenchJob {
  layer: BenchLayer;
  options: Omit<BenchOptions, 'onTask' | 'threads'>;
}

export const runJob = (job: BenchJob) => benchmarkLayers([job.layer], job.options);
