/** One slice of a sweep in a worker thread (the job module of sweepThreaded's pool). */
import { type SweepOptions, sweepShare } from './sweep.ts';

export const runJob = (opts: Omit<SweepOptions, 'onProgress'>) => sweepShare(opts);
