/**
 * What the phases of a sweep share: the checked options and space every evaluation path
 * starts from (`prepare`), and the interface between an evaluation path (sweep-engine.ts,
 * sweep-finn.ts) and the assembly of the result (sweep-result.ts).
 */
import { InputError } from '../util/errors.ts';
import type { Device } from './devices.ts';
import { requireClock, resolveParams, type Params } from './models/common.ts';
import { requireModel, type ModelInfo } from './models/index.ts';
import type { Points, Tally } from './sweep-points.ts';
import { FOLDED_PER_LAYER, type UniqueLayer, defaultDims, resolveDims, uniqueLayers } from './sweep-space.ts';
import { DEFAULT_LIMIT, type SweepDim, type SweepOptions, type SweepPoint } from './sweep-types.ts';

/** What an evaluation path gets. */
export interface RunInput {
  model: ModelInfo;
  opts: SweepOptions;
  device: Device;
  layers: UniqueLayer[];
  dims: SweepDim[];
  base: Params;
  tally: Tally;
  limit: number;
}

/** What an evaluation path returns: the feasible points and how to describe one of them. */
export interface RunResult {
  dims: SweepDim[];
  points: Points;
  space: number;
  evaluated: number;
  materialise: (config: number) => Pick<SweepPoint, 'config' | 'params' | 'cores' | 'foldings'>;
}

/** What the phases of a sweep share: checked options, the space, the unique layers. */
export function prepare(opts: SweepOptions) {
  const model = requireModel(opts.model);
  requireClock(opts.clockMHz);
  const limit = opts.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new InputError(`--limit must be a positive integer, got ${limit}`);
  if (opts.network.layers.length === 0) throw new InputError(`network ${opts.network.name}: no layers`);
  const device = opts.device;
  const fixed = opts.fixed ?? {};
  if (model.dataflow === 'pipelined') {
    for (const k of FOLDED_PER_LAYER) {
      if (k in fixed) throw new InputError(`--set ${k}: FINN's PE and SIMD are chosen per layer by the folding rule`);
    }
  }
  const base = resolveParams(model.params, fixed, `model ${model.id} (${model.name})`);
  const layers = uniqueLayers(opts.network.layers);
  const dims = resolveDims(model, defaultDims(model, layers.map((u) => u.g)), opts.ranges ?? {}, fixed);
  const netMacs = layers.reduce((a, u) => a + u.g.macs * u.count, 0);
  return { model, device, base, layers, dims, netMacs, limit };
}

/** Runs fn with short error stacks: infeasible configurations throw often on the generic path. */
export function withShortStacks<T>(fn: () => T): T {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}
