/**
 * The sweep of a reused-engine model (dataflow 'reused'): one engine runs the layers one after
 * another, so for a configuration
 *   cycles/frame = sum over layers of their cycles (common.ts `roofline`: compute and load phases),
 *   DSP and BRAM = the largest layer's (the engine is sized once),
 *   throughput   = cores * f / (cycles/frame)  [frames/s].
 * With several cores, each works on its own frames and gets GB/s / cores of the bandwidth.
 *
 * A model with a `core` is evaluated through it per layer with one reused result object and no
 * allocation; otherwise (or with `generic`) through `model.evaluate`, which gives the same
 * numbers.
 */
import type { Device } from './devices.ts';
import {
  bramMessage,
  bytesPerCycle,
  dspMessage,
  newLayerCost,
  resourceViolation,
  roofline,
  type LayerEstimate,
  type ModelCore,
  type Params,
} from './models/common.ts';
import type { ModelInfo } from './models/index.ts';
import { Points, type Tally } from './sweep-points.ts';
import type { RunInput, RunResult } from './sweep-run.ts';
import { applyDigits, configAt, decode, sampler, spaceSize } from './sweep-sampling.ts';
import type { UniqueLayer } from './sweep-space.ts';
import { PROGRESS_EVERY, type SweepDim } from './sweep-types.ts';

interface EngineContext {
  model: ModelInfo;
  device: Device;
  clockMHz: number;
  layers: UniqueLayer[];
  dims: SweepDim[];
  base: Params;
  tally: Tally;
  points: Points;
  generic: boolean;
}

/** One configuration on every layer: a point, or the reason it is infeasible in the tally. */
function evaluateEngine(ctx: EngineContext, index: number, p: Params, cores: number): void {
  const { device, layers, tally } = ctx;
  // Cores share the bandwidth; the generic path passes the same GB/s / cores to the model.
  const shared = cores === 1 ? device : { ...device, offChipGBps: device.offChipGBps / cores };
  const perCycle = bytesPerCycle(shared, ctx.clockMHz);
  let total = 0;
  let dsp = 0;
  let bram = 0;
  let mem = 0;
  if (ctx.generic || !ctx.model.core) {
    for (const u of layers) {
      let e: LayerEstimate;
      try {
        e = ctx.model.evaluate(u.g.layer, p, shared, ctx.clockMHz);
      } catch (err) {
        tally.addError(err, u.names[0]!);
        return;
      }
      total += e.cycles * u.count;
      if (e.bound === 'memory') mem += u.count;
      if (e.dsp > dsp) dsp = e.dsp;
      if (e.bram > bram) bram = e.bram;
    }
  } else {
    const core: ModelCore<unknown> = ctx.model.core;
    const out = scratch;
    let c: unknown;
    try {
      c = core.config(p, device);
    } catch (err) {
      tally.addError(err, 'configuration');
      return;
    }
    for (const u of layers) {
      try {
        core.cost(u.g, c, device, out);
      } catch (err) {
        tally.addError(err, u.names[0]!);
        return;
      }
      const bad = resourceViolation(out, device);
      if (bad !== undefined) {
        if (bad === 'dsp') tally.add('dsp', () => `${u.names[0]}: ${dspMessage(out.dsp, core.dspExpr(c, out), device)}`);
        else tally.add('bram', () => `${u.names[0]}: ${bramMessage(out.bram, core.bramExpr(c, out, u.g), device, out.bramLimit)}`);
        return;
      }
      const r = roofline(out, perCycle);
      total += r.cycles * u.count;
      if (r.bound === 'memory') mem += u.count;
      if (out.dsp > dsp) dsp = out.dsp;
      if (out.bram > bram) bram = out.bram;
    }
  }
  if (cores > 1) {
    if (dsp * cores > device.dsp) {
      tally.add('dsp', () => dspMessage(dsp * cores, `${cores} cores x ${dsp} DSPs`, device));
      return;
    }
    if (bram * cores > device.bram36) {
      tally.add('bram', () => bramMessage(bram * cores, `${cores} cores x ${bram} BRAM36`, device));
      return;
    }
  }
  ctx.points.push(index, total, (cores * ctx.clockMHz * 1e6) / total, dsp * cores, bram * cores, mem);
}
const scratch = newLayerCost();

/** Evaluates the sampled configurations (all, or the share `opts.slice` names). */
export function sweepEngine({ model, opts, device, layers, dims, base, tally, limit }: RunInput): RunResult {
  const space = spaceSize(dims);
  const { count, at } = sampler(space, limit);
  const points = new Points(count);
  const ctx: EngineContext = { model, device, clockMHz: opts.clockMHz, layers, dims, base, tally, points, generic: opts.generic ?? false };
  const p: Params = { ...base };
  const digits = new Int32Array(dims.length);
  const from = opts.slice?.from ?? 0;
  const to = opts.slice?.to ?? count;
  for (let k = from; k < to; k++) {
    const index = at(k);
    decode(index, dims, digits);
    const cores = applyDigits(p, dims, digits);
    evaluateEngine(ctx, index, p, cores);
    if (opts.onProgress && (k + 1) % PROGRESS_EVERY === 0) opts.onProgress(k + 1, count);
  }
  opts.onProgress?.(count, count);
  return {
    dims,
    points,
    space,
    evaluated: count,
    materialise: (index) => configAt(index, dims, base),
  };
}
