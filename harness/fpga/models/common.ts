/**
 * What every analytical model shares: the result shape, parameter schemas (so the CLI can
 * parse `--set key=value` for any model from one declaration), feasibility checks and the
 * roofline combination of compute and memory time.
 *
 * Roofline (Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009): with double-buffered
 * transfers overlapping compute,
 *   memoryCycles = ceil(offChipBytes / bytesPerCycle),  bytesPerCycle = GB/s * 1e3 / MHz
 *   cycles       = max(computeCycles, memoryCycles)
 *   bound        = 'compute' if computeCycles >= memoryCycles, else 'memory'
 *   attainable GOPS = 2 * MACs / (cycles / f) / 1e9      (one MAC = 2 ops)
 */
import { outputSize } from '../../conv/layer.ts';
import type { LayerSpec } from '../../networks/network.ts';
import { InputError } from '../../util/errors.ts';
import type { Device, Packing } from '../devices.ts';

export type { LayerSpec };
export type Bound = 'compute' | 'memory';

export interface LayerEstimate {
  /** Output-stationary ops: 2 * MACs actually needed by the layer (no padding or tiling waste). */
  ops: number;
  macs: number;
  /** Cycles of the compute engine alone (the exact formula of each model). */
  computeCycles: number;
  /** Cycles the off-chip traffic needs at the device bandwidth. */
  memoryCycles: number;
  /** max(computeCycles, memoryCycles). */
  cycles: number;
  timeNs: number;
  offChipBytes: number;
  /** Peak of the configured engine: 2 * MACs/cycle * f. */
  peakGops: number;
  attainableGops: number;
  bound: Bound;
  dsp: number;
  /** 36 Kb block RAMs. */
  bram: number;
  packing: Packing;
  /** macs / (computeCycles * peak MACs per cycle). */
  utilization: number;
  /** Model-specific intermediate terms (tile counts, fill latency, CTC ratio, ...). */
  detail: Record<string, number | string>;
  warnings: string[];
}

export interface ParamSpec {
  /** A number, or one of `choices`. */
  default: number | string;
  /** Integer parameters: inclusive lower bound. */
  min?: number;
  max?: number;
  integer?: boolean;
  choices?: readonly string[];
  /** Numbers are also accepted for a choice parameter (e.g. packing: auto | 1 | 2 | 4). */
  numericChoices?: readonly number[];
  description: string;
}

export type ParamSchema = Record<string, ParamSpec>;
export type Params = Record<string, number | string>;

/**
 * Fills defaults and validates values against the schema; string values (from the CLI)
 * are converted. Throws an InputError naming the parameter and its limit.
 */
export function resolveParams(schema: ParamSchema, given: Record<string, unknown> = {}, model = 'model'): Params {
  const out: Params = {};
  for (const key of Object.keys(given)) {
    if (!(key in schema)) {
      throw new InputError(`${model}: unknown parameter '${key}'; known: ${Object.keys(schema).join(', ')}`);
    }
  }
  for (const [key, spec] of Object.entries(schema)) {
    const raw = given[key] ?? spec.default;
    out[key] = checkParam(key, spec, raw);
  }
  return out;
}

function checkParam(key: string, spec: ParamSpec, raw: unknown): number | string {
  if (spec.choices) {
    const s = String(raw).trim();
    if (spec.choices.includes(s)) return s;
    const n = typeof raw === 'number' ? raw : /^[+-]?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
    if (spec.numericChoices?.includes(n)) return n;
    const all = [...spec.choices, ...(spec.numericChoices ?? [])].join(', ');
    throw new InputError(`${key} must be one of ${all}, got '${s}'`);
  }
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(n)) throw new InputError(`${key} must be a number, got '${String(raw)}'`);
  if ((spec.integer ?? true) && !Number.isInteger(n)) throw new InputError(`${key} must be an integer, got ${n}`);
  if (spec.min !== undefined && n < spec.min) {
    throw new InputError(`${key}=${n} is below its minimum ${spec.min}${spec.min > 0 ? ' (parallelism must be positive)' : ''}`);
  }
  if (spec.max !== undefined && n > spec.max) throw new InputError(`${key}=${n} exceeds its maximum ${spec.max}`);
  return n;
}

export function num(p: Params, key: string): number {
  const v = p[key];
  if (typeof v !== 'number') throw new InputError(`${key} must be a number, got '${String(v)}'`);
  return v;
}

export function requireClock(clockMHz: number): void {
  if (!Number.isFinite(clockMHz) || clockMHz <= 0 || clockMHz > 2000) {
    throw new InputError(`clockMHz must be in (0, 2000], got ${clockMHz}`);
  }
}

/**
 * Throws unless `used` DSPs fit the device, naming the expression that produced them.
 * `expr` is a function so that the message costs nothing on the (hot) feasible path.
 */
export function requireDsp(used: number, expr: () => string, device: Device): void {
  if (used > device.dsp) {
    throw new InputError(`${expr()} = ${used} DSPs exceeds the ${device.dsp} DSP slices of ${device.name} (${device.board})`);
  }
}

export function requireBram(used: number, expr: () => string, device: Device, budget = device.bram36): void {
  const limit = Math.min(budget, device.bram36);
  if (used > limit) {
    const what = limit < device.bram36 ? `the bramBudget of ${limit}` : `the ${device.bram36} 36 Kb block RAMs of ${device.name} (${device.board})`;
    throw new InputError(`${expr()} = ${used} BRAM36 exceeds ${what}`);
  }
}

/**
 * Block RAM aspect ratios (depth, width, cost in 36 Kb blocks), simple dual port: RAMB36 and
 * its halves RAMB18 (UG473 7 Series / UG573 UltraScale memory resources, "port aspect ratios").
 */
const BRAM_SHAPES: readonly (readonly [number, number, number])[] = [
  [512, 72, 1], [1024, 36, 1], [2048, 18, 1], [4096, 9, 1], [8192, 4, 1], [16384, 2, 1], [32768, 1, 1],
  [512, 36, 0.5], [1024, 18, 0.5], [2048, 9, 0.5], [4096, 4, 0.5], [8192, 2, 0.5], [16384, 1, 0.5],
];

/**
 * Fewest 36 Kb block RAMs (halves count 0.5, as Vivado reports them) holding `depth` words of
 * `widthBits`, one word read per cycle.
 */
export function bram36For(widthBits: number, depth: number): number {
  if (widthBits <= 0 || depth <= 0) return 0;
  const memo = widthBits < 2 ** 20 && depth < 2 ** 32;
  const key = widthBits * 2 ** 32 + depth;
  const hit = memo ? bramMemo.get(key) : undefined;
  if (hit !== undefined) return hit;
  let best = Infinity;
  for (const [d, w, cost] of BRAM_SHAPES) {
    const n = Math.ceil(widthBits / w) * Math.ceil(depth / d) * cost;
    if (n < best) best = n;
  }
  if (memo) {
    if (bramMemo.size > 1 << 16) bramMemo.clear();
    bramMemo.set(key, best);
  }
  return best;
}
const bramMemo = new Map<number, number>();

/** Output size and per-group channel counts, shared by the models. */
export function geometry(l: LayerSpec): { outH: number; outW: number; pixels: number; cin: number; cout: number } {
  const { outH, outW } = outputSize(l);
  return { outH, outW, pixels: outH * outW, cin: l.inC / l.groups, cout: l.outC / l.groups };
}

/** Off-chip bytes of a tensor with `elements` values of `bits` each (packed). */
export function tensorBytes(elements: number, bits: number): number {
  return Math.ceil((elements * bits) / 8);
}

/** Combines compute and memory time into the roofline result. */
export function finish(
  l: LayerSpec,
  device: Device,
  clockMHz: number,
  computeCycles: number,
  offChipBytes: number,
  peakMacsPerCycle: number,
  rest: Pick<LayerEstimate, 'dsp' | 'bram' | 'packing' | 'detail' | 'warnings'>,
): LayerEstimate {
  const g = geometry(l);
  const macs = g.pixels * l.outC * l.kH * l.kW * g.cin;
  const bytesPerCycle = (device.offChipGBps * 1e3) / clockMHz;
  const memoryCycles = Math.ceil(offChipBytes / bytesPerCycle);
  const cycles = Math.max(computeCycles, memoryCycles);
  const timeNs = (cycles * 1e3) / clockMHz;
  return {
    ops: 2 * macs,
    macs,
    computeCycles,
    memoryCycles,
    cycles,
    timeNs,
    offChipBytes,
    peakGops: (2 * peakMacsPerCycle * clockMHz) / 1e3,
    attainableGops: (2 * macs) / timeNs,
    bound: computeCycles >= memoryCycles ? 'compute' : 'memory',
    utilization: macs / (computeCycles * peakMacsPerCycle),
    ...rest,
  };
}
