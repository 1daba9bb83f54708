/**
 * Design-space exploration: enumerate the architecture parameters of one analytical model,
 * evaluate a whole network under each configuration that fits the device, and return the
 * Pareto fronts of throughput against DSPs and BRAM (pareto.ts).
 *
 * Network evaluation
 *   reused engine (a, b, d, e): one engine runs the layers one after another,
 *     cycles/frame = sum over layers of max(compute, memory) cycles (common.ts roofline),
 *     DSP and BRAM = the largest layer's (the engine is sized once);
 *   dataflow (c, FINN): every layer has its own engine and all run concurrently,
 *     cycles/frame = the slowest layer's, DSP and BRAM = the sum over layers
 *     (Umuroglu et al., FPGA 2017, Sec. 4; the same rule as `finnNetwork`).
 *   throughput = cores * f / (cycles/frame)  [frames/s],  GOPS = 2 * network MACs * frames/s.
 *
 * Default spaces (override any dimension with `ranges`, fix parameters with `fixed`):
 *   a  L in {1,2,4,..,64}, Po in 1..64, Pp in the pixel candidates, and the DSP packing
 *      (or `scheme`, when the model's schema has one)
 *   b  Tm in 4..128 step 4, Tn in 1..32, Tr and Tc in the tile candidates (Zhang et al.,
 *      FPGA 2015, Sec. 4.1 enumerate <Tm, Tn, Tr, Tc> the same way)
 *   c  per-layer (PE, SIMD) chosen by the folding rule below, for every target and packing
 *   d  the PG338 configurations B512..B4096 and 1..4 cores (PG338: up to four DPU cores);
 *      cores work on different frames and share the off-chip bandwidth, so each core's
 *      memory cycles use GB/s / cores, and DSPs are cores * DSP(core)
 *   e  R, C in 1..96 and the DSP packing
 * Tile and pixel candidates are the divisors up to 64 of the network's output heights /
 * widths (and the powers of two up to 64 for pixels): tiles that divide a map waste nothing.
 *
 * FINN folding rule (balances the layers for a target T in cycles per frame): for each layer
 * take the (PE, SIMD) with PE | MH and SIMD | MW whose cycles pixels*MH*MW/(PE*SIMD) are at most
 * T with the fewest multipliers PE*SIMD (then the least BRAM, then the smallest PE). Every layer
 * then runs as close to T as its divisors allow. The targets are every cycle count a layer can
 * reach, from the slowest layer's fully parallel count up: each distinct design once.
 *
 * Speed: layers with identical shapes are evaluated once and counted with their multiplicity;
 * each layer is prepared once (common.ts `prepareLayer`); a model's `core` runs per layer with
 * one reused result object and no allocation; configurations are decoded from their index, and
 * the feasible points are kept in typed arrays until the fronts are known.
 */
import { performance } from 'node:perf_hooks';
import { InputError } from '../util/errors.ts';
import type { Device } from './devices.ts';
import { paretoFront } from './pareto.ts';
import {
  InfeasibleError,
  bramMessage,
  bytesPerCycle,
  dspMessage,
  memoryCycles,
  newLayerCost,
  prepareLayer,
  requireClock,
  resolveParams,
  resourceViolation,
  type LayerEstimate,
  type LayerSpec,
  type ModelCore,
  type Params,
  type PreparedLayer,
} from './models/common.ts';
import { finnCore, finnMatrix, type FinnConfig } from './models/finn.ts';
import { requireModel, type ModelInfo } from './models/index.ts';

export type DimValue = number | string;

export interface SweepDim {
  name: string;
  values: readonly DimValue[];
}

export interface SweepLayer extends LayerSpec {
  name?: string;
}

export interface SweepOptions {
  /** Model id ('a'..'e') or name. */
  model: string;
  device: Device;
  network: { name: string; layers: readonly SweepLayer[] };
  clockMHz: number;
  /** At most this many configurations; a larger space is sampled at an even stride. @default 1_000_000 */
  limit?: number;
  /** Values of a dimension, replacing its default (any parameter of the model, or `cores` for d). */
  ranges?: Record<string, readonly DimValue[]>;
  /** Parameters held at one value (not swept). */
  fixed?: Record<string, unknown>;
  /** Called every few thousand configurations. */
  onProgress?: (done: number, total: number) => void;
  /** Evaluate through `model.evaluate` even where the model has a `core` (tests compare both). @default false */
  generic?: boolean;
  /** Reused-engine models only: evaluate only the sampled configurations k in [from, to) (a worker's share). */
  slice?: { from: number; to: number };
}

/** One worker's share of a reused-engine sweep, in a form that crosses threads. */
export interface SweepShare {
  config: Float64Array;
  cycles: Float64Array;
  fps: Float64Array;
  dsp: Float64Array;
  bram: Float64Array;
  memBound: Int32Array;
  infeasible: { total: number; reasons: InfeasibleCount[] };
}

export interface SweepPoint {
  /** Values of the swept dimensions. */
  config: Record<string, DimValue>;
  /** Every parameter of the model (for `fkb model --set`). */
  params: Params;
  cores: number;
  cyclesPerFrame: number;
  fps: number;
  gops: number;
  dsp: number;
  bram: number;
  /** Layers (with multiplicity) whose off-chip traffic takes longer than their compute. */
  memoryBoundLayers: number;
  /** FINN: the (PE, SIMD) the folding rule chose for every layer. */
  foldings?: { layer: string; PE: number; SIMD: number; cycles: number }[];
}

export interface InfeasibleCount {
  reason: string;
  count: number;
  /** The first such configuration's error message. */
  example: string;
}

export interface SweepResult {
  model: string;
  device: string;
  network: string;
  clockMHz: number;
  dims: SweepDim[];
  /** Configurations in the space. */
  space: number;
  evaluated: number;
  feasible: number;
  infeasible: { total: number; reasons: InfeasibleCount[] };
  /** Non-dominated in (throughput max, DSP min, BRAM min), by throughput descending. */
  front: SweepPoint[];
  /** Non-dominated in (throughput max, DSP min). */
  frontDsp: SweepPoint[];
  /** Non-dominated in (throughput max, BRAM min). */
  frontBram: SweepPoint[];
  elapsedMs: number;
}

export const DEFAULT_LIMIT = 1_000_000;
const PROGRESS_EVERY = 4096;

// ---------------------------------------------------------------------------------------
// Layers and default dimensions

interface UniqueLayer {
  g: PreparedLayer;
  count: number;
  names: string[];
}

function layerKey(l: LayerSpec): string {
  return [l.inH, l.inW, l.inC, l.outC, l.kH, l.kW, l.strideH, l.strideW, l.padTop, l.padBottom, l.padLeft, l.padRight, l.groups, l.wBits, l.aBits].join(',');
}

/** Layers with identical shapes merged, in first-seen order, with their multiplicity. */
export function uniqueLayers(layers: readonly SweepLayer[]): UniqueLayer[] {
  const byKey = new Map<string, UniqueLayer>();
  layers.forEach((l, i) => {
    const key = layerKey(l);
    const name = l.name ?? `layer${i}`;
    const u = byKey.get(key);
    if (u) {
      u.count++;
      u.names.push(name);
    } else byKey.set(key, { g: prepareLayer(l), count: 1, names: [name] });
  });
  return [...byKey.values()];
}

const range = (lo: number, hi: number, step = 1): number[] => Array.from({ length: Math.floor((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

function divisorsUpTo(n: number, max: number): number[] {
  return range(1, Math.min(n, max)).filter((d) => n % d === 0);
}

/** Divisors up to 64 of the output sizes (maps larger than 1x1), plus `extra`. */
function candidates(sizes: readonly number[], extra: readonly number[] = []): number[] {
  const set = new Set<number>([1, ...extra]);
  for (const s of sizes) if (s > 1) for (const d of divisorsUpTo(s, 64)) set.add(d);
  return [...set].sort((a, b) => a - b);
}

const POWERS_OF_TWO = [1, 2, 4, 8, 16, 32, 64];

function packingDim(model: ModelInfo): SweepDim {
  const scheme = model.params['scheme'];
  if (scheme?.choices) return { name: 'scheme', values: scheme.choices.filter((c) => c !== 'auto') };
  return { name: 'packing', values: [1, 2, 4] };
}

/** The default space of a model on a network (see the header). */
export function defaultDims(model: ModelInfo, layers: readonly PreparedLayer[]): SweepDim[] {
  const outH = layers.map((g) => g.outH);
  const outW = layers.map((g) => g.outW);
  switch (model.id) {
    case 'a':
      return [
        { name: 'L', values: POWERS_OF_TWO },
        { name: 'Po', values: range(1, 64) },
        { name: 'Pp', values: candidates(outW, POWERS_OF_TWO) },
        packingDim(model),
      ];
    case 'b':
      return [
        { name: 'Tm', values: range(4, 128, 4) },
        { name: 'Tn', values: range(1, 32) },
        { name: 'Tr', values: candidates(outH) },
        { name: 'Tc', values: candidates(outW) },
      ];
    case 'c':
      return [{ name: 'packing', values: layers.every((g) => g.layer.wBits <= 4 && g.layer.aBits <= 4) ? [1] : [1, 2, 4] }];
    case 'd':
      return [
        { name: 'arch', values: model.params['arch']!.choices! },
        { name: 'cores', values: [1, 2, 3, 4] },
      ];
    case 'e':
      return [
        { name: 'R', values: range(1, 96) },
        { name: 'C', values: range(1, 96) },
        packingDim(model),
      ];
  }
}

/** The dimensions after `ranges`, each value checked against the model's schema. */
function resolveDims(model: ModelInfo, defaults: SweepDim[], ranges: Record<string, readonly DimValue[]>, fixed: Record<string, unknown>): SweepDim[] {
  const dims = defaults.map((d) => ({ ...d }));
  for (const [name, values] of Object.entries(ranges)) {
    const isCores = name === 'cores' && model.id === 'd';
    if (!isCores && !(name in model.params)) {
      throw new InputError(`--range ${name}: model ${model.id} (${model.name}) has no parameter '${name}'; known: ${[...Object.keys(model.params), ...(model.id === 'd' ? ['cores'] : [])].join(', ')}`);
    }
    if (model.id === 'c' && (name === 'PE' || name === 'SIMD')) {
      throw new InputError(`--range ${name}: FINN's PE and SIMD are chosen per layer by the folding rule; sweep packing or res instead`);
    }
    if (values.length === 0) throw new InputError(`--range ${name}: no values`);
    const checked = values.map((v) => {
      if (isCores) {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 16) throw new InputError(`--range cores: ${String(v)} must be an integer in [1, 16]`);
        return v;
      }
      return resolveParams({ [name]: model.params[name]! }, { [name]: v }, `--range ${name}`)[name]!;
    });
    const at = dims.findIndex((d) => d.name === name);
    if (at >= 0) dims[at] = { name, values: checked };
    else dims.push({ name, values: checked });
  }
  for (const name of Object.keys(fixed)) {
    const at = dims.findIndex((d) => d.name === name);
    if (at >= 0) {
      if (name in ranges) throw new InputError(`'${name}' is both swept (--range) and fixed (--set)`);
      dims.splice(at, 1);
    }
  }
  return dims;
}

// ---------------------------------------------------------------------------------------
// Bookkeeping shared by the evaluation paths

class Tally {
  private readonly reasons = new Map<string, InfeasibleCount>();
  total = 0;

  /** Adds another tally's counts (their examples only for reasons this one has not seen). */
  merge(other: { total: number; reasons: InfeasibleCount[] }): void {
    this.total += other.total;
    for (const r of other.reasons) {
      const mine = this.reasons.get(r.reason);
      if (mine) mine.count += r.count;
      else this.reasons.set(r.reason, { ...r });
    }
  }

  add(reason: string, example: () => string): void {
    this.total++;
    const r = this.reasons.get(reason);
    if (r) r.count++;
    else this.reasons.set(reason, { reason, count: 1, example: example() });
  }

  /** A thrown error: an InfeasibleError's reason, 'invalid' for another InputError; anything else is a bug. */
  addError(e: unknown, where: string): void {
    if (e instanceof InfeasibleError) this.add(e.reason, () => `${where}: ${e.message}`);
    else if (e instanceof InputError) this.add('invalid', () => `${where}: ${e.message}`);
    else throw e;
  }

  list(): InfeasibleCount[] {
    return [...this.reasons.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));
  }
}

/** Feasible points in typed arrays; `config` is the configuration's index in the space. */
class Points {
  readonly config: Float64Array;
  readonly cycles: Float64Array;
  readonly fps: Float64Array;
  readonly dsp: Float64Array;
  readonly bram: Float64Array;
  readonly memBound: Int32Array;
  n = 0;

  constructor(capacity: number) {
    this.config = new Float64Array(capacity);
    this.cycles = new Float64Array(capacity);
    this.fps = new Float64Array(capacity);
    this.dsp = new Float64Array(capacity);
    this.bram = new Float64Array(capacity);
    this.memBound = new Int32Array(capacity);
  }

  /** Points of several shares, in share order. */
  static concat(shares: readonly SweepShare[]): Points {
    const p = new Points(shares.reduce((n, s) => n + s.fps.length, 0));
    for (const s of shares) {
      for (let i = 0; i < s.fps.length; i++) p.push(s.config[i]!, s.cycles[i]!, s.fps[i]!, s.dsp[i]!, s.bram[i]!, s.memBound[i]!);
    }
    return p;
  }

  push(config: number, cycles: number, fps: number, dsp: number, bram: number, memBound: number): void {
    const i = this.n++;
    this.config[i] = config;
    this.cycles[i] = cycles;
    this.fps[i] = fps;
    this.dsp[i] = dsp;
    this.bram[i] = bram;
    this.memBound[i] = memBound;
  }
}

/** Mixed-radix decoding of a configuration index, last dimension fastest. */
function decode(index: number, dims: readonly SweepDim[], digits: Int32Array): void {
  let rest = index;
  for (let d = dims.length - 1; d >= 0; d--) {
    const n = dims[d]!.values.length;
    digits[d] = rest % n;
    rest = Math.floor(rest / n);
  }
}

/** The configuration at `index`: swept values, every model parameter, and the core count. */
function configAt(index: number, dims: readonly SweepDim[], base: Params): Pick<SweepPoint, 'config' | 'params' | 'cores'> {
  const digits = new Int32Array(dims.length);
  decode(index, dims, digits);
  const params: Params = { ...base };
  const cores = applyDigits(params, dims, digits);
  const config: Record<string, DimValue> = {};
  dims.forEach((d, i) => (config[d.name] = d.values[digits[i]!]!));
  return { config, params, cores };
}

function spaceSize(dims: readonly SweepDim[]): number {
  return dims.reduce((a, d) => a * d.values.length, 1);
}

/** Indices to evaluate: all, or `limit` of them at an even stride. */
function sampler(space: number, limit: number): { count: number; at: (k: number) => number } {
  if (space <= limit) return { count: space, at: (k) => k };
  const stride = space / limit;
  return { count: limit, at: (k) => Math.floor(k * stride) };
}

// ---------------------------------------------------------------------------------------
// Reused-engine models (a, b, d, e)

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

/** Sets the swept parameters of `p` from the digits; returns the core count (1 unless swept). */
function applyDigits(p: Params, dims: readonly SweepDim[], digits: Int32Array): number {
  let cores = 1;
  for (let d = 0; d < dims.length; d++) {
    const dim = dims[d]!;
    const v = dim.values[digits[d]!]!;
    if (dim.name === 'cores') cores = v as number;
    else p[dim.name] = v;
  }
  return cores;
}

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
      const mc = memoryCycles(out.offChipBytes, perCycle);
      total += (mc > out.computeCycles ? mc : out.computeCycles) * u.count;
      if (mc > out.computeCycles) mem += u.count;
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

// ---------------------------------------------------------------------------------------
// FINN (c): the folding rule

interface FinnCandidates {
  /** Per option, by multipliers ascending (cycles descending). */
  cycles: Float64Array;
  dsp: Float64Array;
  bram: Float64Array;
  PE: Int32Array;
  SIMD: Int32Array;
}

/** Every (PE, SIMD) of a layer, one per multiplier count PE*SIMD: the least BRAM, then the smallest PE. */
function finnCandidates(g: PreparedLayer, cfg: FinnConfig, device: Device): FinnCandidates {
  const { rows, cols } = finnMatrix(g);
  const best = new Map<number, { cycles: number; dsp: number; bram: number; PE: number; SIMD: number }>();
  const out = newLayerCost();
  for (const PE of divisorsUpTo(rows, rows)) {
    for (const SIMD of divisorsUpTo(cols, cols)) {
      finnCore.cost(g, { ...cfg, PE, SIMD }, device, out);
      const k = PE * SIMD;
      const b = best.get(k);
      if (!b || out.bram < b.bram) best.set(k, { cycles: out.computeCycles, dsp: out.dsp, bram: out.bram, PE, SIMD });
    }
  }
  const sorted = [...best.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  return {
    cycles: Float64Array.from(sorted, (s) => s.cycles),
    dsp: Float64Array.from(sorted, (s) => s.dsp),
    bram: Float64Array.from(sorted, (s) => s.bram),
    PE: Int32Array.from(sorted, (s) => s.PE),
    SIMD: Int32Array.from(sorted, (s) => s.SIMD),
  };
}

/** First option whose cycles are at most `target` (cycles are descending). */
function pick(c: FinnCandidates, target: number): number {
  let lo = 0;
  let hi = c.cycles.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (c.cycles[mid]! <= target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------
// The sweep

/** What the phases of a sweep share: checked options, the space, the unique layers. */
function prepare(opts: SweepOptions) {
  const model = requireModel(opts.model);
  requireClock(opts.clockMHz);
  const limit = opts.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new InputError(`--limit must be a positive integer, got ${limit}`);
  if (opts.network.layers.length === 0) throw new InputError(`network ${opts.network.name}: no layers`);
  const device = opts.device;
  const fixed = opts.fixed ?? {};
  if (model.id === 'c') {
    for (const k of ['PE', 'SIMD']) {
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
function withShortStacks<T>(fn: () => T): T {
  const saved = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = saved;
  }
}

export function sweep(opts: SweepOptions): SweepResult {
  const t0 = performance.now();
  const { model, device, base, layers, dims, netMacs, limit } = prepare(opts);
  const tally = new Tally();
  return withShortStacks(() => {
    const input: RunInput = { model, opts, device, layers, dims, base, tally, limit };
    const run = model.id === 'c' ? sweepFinn(input) : sweepEngine(input);
    return assemble(opts, model, device, run, tally, netMacs, t0);
  });
}

/** A reused-engine sweep's share for one worker (opts.slice); see sweepThreaded. */
export function sweepShare(opts: SweepOptions): SweepShare {
  const { model, device, base, layers, dims, limit } = prepare(opts);
  if (model.id === 'c') throw new InputError('FINN sweeps run in one thread');
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
  if (threads <= 1 || model.id === 'c') return sweep(opts);
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

function assemble(opts: SweepOptions, model: ModelInfo, device: Device, run: RunResult, tally: Tally, netMacs: number, t0: number): SweepResult {
  {
    const { points, space, evaluated, materialise } = run;
    const fronts = [
      paretoFront(points.n, points.fps, [points.dsp, points.bram]),
      paretoFront(points.n, points.fps, [points.dsp]),
      paretoFront(points.n, points.fps, [points.bram]),
    ];
    const toPoint = (i: number): SweepPoint => {
      const { config, params, cores, foldings } = materialise(points.config[i]!);
      const fps = points.fps[i]!;
      return {
        config,
        params,
        cores,
        cyclesPerFrame: points.cycles[i]!,
        fps,
        gops: (2 * netMacs * fps) / 1e9,
        dsp: points.dsp[i]!,
        bram: points.bram[i]!,
        memoryBoundLayers: points.memBound[i]!,
        ...(foldings ? { foldings } : {}),
      };
    };
    return {
      model: `${model.id} (${model.name})`,
      device: `${device.name} (${device.board})`,
      network: opts.network.name,
      clockMHz: opts.clockMHz,
      dims: run.dims,
      space,
      evaluated,
      feasible: points.n,
      infeasible: { total: tally.total, reasons: tally.list() },
      front: fronts[0]!.map(toPoint),
      frontDsp: fronts[1]!.map(toPoint),
      frontBram: fronts[2]!.map(toPoint),
      elapsedMs: performance.now() - t0,
    };
  }
}

interface RunInput {
  model: ModelInfo;
  opts: SweepOptions;
  device: Device;
  layers: UniqueLayer[];
  dims: SweepDim[];
  base: Params;
  tally: Tally;
  limit: number;
}

interface RunResult {
  dims: SweepDim[];
  points: Points;
  space: number;
  evaluated: number;
  materialise: (config: number) => Pick<SweepPoint, 'config' | 'params' | 'cores' | 'foldings'>;
}

function sweepEngine({ model, opts, device, layers, dims, base, tally, limit }: RunInput): RunResult {
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

function sweepFinn({ opts, device, layers, dims, base, tally, limit }: RunInput): RunResult {
  // The candidates of every layer under every combination of the other dimensions.
  const otherSpace = spaceSize(dims);
  const options: (FinnCandidates[] | { error: unknown; where: string })[] = [];
  for (let o = 0; o < otherSpace; o++) {
    const cfg = finnCore.config(configAt(o, dims, base).params, device);
    const per: FinnCandidates[] = [];
    let failed: { error: unknown; where: string } | undefined;
    for (const u of layers) {
      try {
        per.push(finnCandidates(u.g, cfg, device));
      } catch (error) {
        failed = { error, where: u.names[0]! };
        break;
      }
    }
    options.push(failed ?? per);
  }
  // Targets: every cycle count some layer reaches, from the slowest layer's fastest up.
  const reach = new Set<number>();
  let floor = 0;
  const anyOk = options.find((o): o is FinnCandidates[] => Array.isArray(o));
  if (anyOk) {
    for (const c of anyOk) {
      floor = Math.max(floor, c.cycles[c.cycles.length - 1]!);
      for (const v of c.cycles) reach.add(v);
    }
  }
  const targets = [...reach].filter((t) => t >= floor).sort((a, b) => a - b);
  if (targets.length === 0) targets.push(0); // every option failed: one (infeasible) target per option
  const allDims: SweepDim[] = [...dims, { name: 'targetCycles', values: targets }];
  const space = otherSpace * targets.length;
  const { count, at } = sampler(space, limit);
  const points = new Points(count);
  const fClock = opts.clockMHz * 1e6;
  for (let k = 0; k < count; k++) {
    const index = at(k);
    const o = Math.floor(index / targets.length);
    const target = targets[index % targets.length]!;
    const opt = options[o]!;
    if (!Array.isArray(opt)) tally.addError(opt.error, opt.where);
    else {
      let slowest = 0;
      let dsp = 0;
      let bram = 0;
      for (let l = 0; l < layers.length; l++) {
        const c = opt[l]!;
        const i = pick(c, target);
        if (c.cycles[i]! > slowest) slowest = c.cycles[i]!;
        dsp += c.dsp[i]! * layers[l]!.count;
        bram += c.bram[i]! * layers[l]!.count;
      }
      if (dsp > device.dsp) tally.add('dsp', () => dspMessage(dsp, 'FINN: sum of the per-layer DSPs', device));
      else if (bram > device.bram36) tally.add('bram', () => bramMessage(bram, 'FINN: sum of the per-layer weight memories', device));
      else points.push(index, slowest, fClock / slowest, dsp, bram, 0);
    }
    if (opts.onProgress && (k + 1) % PROGRESS_EVERY === 0) opts.onProgress(k + 1, count);
  }
  opts.onProgress?.(count, count);
  return {
    dims: allDims,
    points,
    space,
    evaluated: count,
    materialise(index) {
      const o = Math.floor(index / targets.length);
      const target = targets[index % targets.length]!;
      const { config, params } = configAt(o, dims, base);
      config['targetCycles'] = target;
      const opt = options[o] as FinnCandidates[];
      const foldings: NonNullable<SweepPoint['foldings']> = [];
      opts.network.layers.forEach((l, idx) => {
        const u = layers.findIndex((x) => x.g.layer === l || layerKey(x.g.layer) === layerKey(l));
        const c = opt[u]!;
        const i = pick(c, target);
        foldings.push({ layer: l.name ?? `layer${idx}`, PE: c.PE[i]!, SIMD: c.SIMD[i]!, cycles: c.cycles[i]! });
      });
      return { config, params, cores: 1, foldings };
    },
  };
}
