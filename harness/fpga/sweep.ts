/**
 * Design-space exploration: enumerate the architecture parameters of one analytical model,
 * evaluate a whole network under each configuration that fits the device, and return the
 * Pareto fronts of throughput against DSPs and BRAM.
 *
 *   sweep-types.ts     options, result and a worker's share
 *   sweep-space.ts     the network's distinct layers; default dimensions per model, `ranges`
 *   sweep-sampling.ts  configurations by index, sampling a large space at an even stride
 *   sweep-engine.ts    reused-engine models: cycles/frame = the sum over layers
 *   sweep-finn.ts      a pipelined dataflow (FINN): cycles/frame = the slowest layer's, with
 *                      the folding rule choosing each layer's parallelism
 *   sweep-points.ts    feasible points in typed arrays, infeasible ones counted by reason
 *   sweep-result.ts    the Pareto fronts and the result
 * throughput = cores * f / (cycles/frame)  [frames/s],  GOPS = 2 * network MACs * frames/s.
 *
 * Speed: layers with identical shapes are evaluated once and counted with their multiplicity;
 * each layer is prepared once (common.ts `prepareLayer`); a model's `core` runs per layer with
 * one reused result object and no allocation; configurations are decoded from their index, and
 * the feasible points are kept in typed arrays until the fronts are known.
 */
import { performance } from 'node:perf_hooks';
import { InputError } from '../util/errors.ts';
import { sweepEngine } from './sweep-engine.ts';
import { sweepFinn } from './sweep-finn.ts';
import { Points, Tally } from './sweep-points.ts';
import { assemble } from './sweep-result.ts';
import { type RunInput, type RunResult, prepare, withShortStacks } from './sweep-run.ts';
import { configAt, sampler, spaceSize } from './sweep-sampling.ts';
import type { SweepOptions, SweepResult, SweepShare } from './sweep-types.ts';

export type { DimValue, InfeasibleCount, SweepDim, SweepLayer, SweepOptions, SweepPoint, SweepResult, SweepShare } from './sweep-types.ts';
export { DEFAULT_LIMIT } from './sweep-types.ts';
export { defaultDims, uniqueLayers } from './sweep-space.ts';

/** Evaluates the whole space (or `limit` configurations of it) in this thread. */
export function sweep(opts: SweepOptions): SweepResult {
  const t0 = performance.now();
  const { model, device, base, layers, dims, netMacs, limit } = prepare(opts);
  const tally = new Tally();
  return withShortStacks(() => {
    const input: RunInput = { model, opts, device, layers, dims, base, tally, limit };
    const run = model.dataflow === 'pipelined' ? sweepFinn(input) : sweepEngine(input);
    return assemble(opts, model, device, run, tally, netMacs, t0);
  });
}

/** A reused-engine sweep's share for one worker (opts.slice); see sweepThreaded. */
export function sweepShare(opts: SweepOptions): SweepShare {
  const { model, device, base, layers, dims, limit } = prepare(opts);
  if (model.dataflow === 'pipelined') throw new InputError('FINN sweeps run in one thread');
  const tally = new Tally();
  const run = withShortStacks(() => sweepEngine({ model, opts, device, layers, dims, base, tally, limit }));
  const p = run.points;
  return {
    config: p.config.slice(0, p.n), cycles: p.cycles.slice(0, p.n), fps: p.fps.slice(0, p.n),
    dsp: p.dsp.slice(0, p.n), bram: p.bram.slice(0, p.n), memBound: p.memBound.slice(0, p.n),
    infeasible: { total: tally.total, reasons: tally.list() },
  };
}

/**
 * The same sweep shared by worker threads: the sampled configurations are cut into one
 * contiguous slice per thread and the shares joined in order, so the result (points, fronts,
 * infeasible counts) equals the single-threaded sweep's; only elapsedMs differs. FINN sweeps,
 * whose space is small, run in this thread.
 */
export async function sweepThreaded(opts: SweepOptions, threads: number): Promise<SweepResult> {
  const t0 = performance.now();
  const { model, device, base, dims, netMacs, limit } = prepare(opts);
  if (threads <= 1 || model.dataflow === 'pipelined') return sweep(opts);
  const space = spaceSize(dims);
  const { count } = sampler(space, limit);
  const n = Math.min(threads, count);
  const { onProgress, ...plain } = opts;
  const { runInWorkers } = await import('../parallel/pool.ts');
  const shares: SweepShare[] = new Array(n);
  let done = 0;
  await runInWorkers(
    new URL('./sweep-job.ts', import.meta.url),
    n,
    Array.from({ length: n }, (_, id) => ({
      id,
      job: { ...plain, slice: { from: Math.floor((id * count) / n), to: Math.floor(((id + 1) * count) / n) } },
    })),
    (id, share) => {
      shares[id] = share as SweepShare;
      onProgress?.(Math.floor(((++done) * count) / n), count);
    },
  );
  const tally = new Tally();
  for (const s of shares) tally.merge(s.infeasible);
  const run: RunResult = { dims, points: Points.concat(shares), space, evaluated: count, materialise: (index) => configAt(index, dims, base) };
  return assemble(opts, model, device, run, tally, netMacs, t0);
}
