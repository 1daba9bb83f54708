/**
 * What every analytical model shares: the result shape, parameter schemas (so the CLI can
 * parse `--set key=value` for any model from one declaration), feasibility checks, the
 * combination of compute and transfer time, and `defineModel`, which turns a model's formulas
 * (a `ModelCore`) into the evaluator the CLI and tests call. A model file states only its own
 * formulas; the checks, the combination and the result assembly live here once.
 *
 * Channel padding: every model computes its cycles on the channel counts its array really
 * processes, each rounded up to the array's granularity (a 3-channel layer on an array that takes
 * input channels in groups of 4 pays for 4); `paddedInC` / `paddedOutC` report them per group.
 *
 * Tile transfers (load phases). B = off-chip bytes of the layer (weights and activations loaded,
 * outputs stored), E = the bytes of them the engine cannot overlap with compute, C = compute
 * cycles, at bytesPerCycle = min(GB/s * 1e3 / MHz, the engine's own port limit):
 *   serialized (doubleBuffer off): each tile loads, then computes:         E = B
 *   double-buffered (on): tile i+1 loads while tile i computes, so only the first tile's loads
 *     and the last tile's stores (plus any buffer the engine keeps single) wait: E = those bytes
 *   memoryCycles = ceil(B / bytesPerCycle)
 *   cycles       = max(C + ceil(E / bytesPerCycle), memoryCycles)
 *                  (serialized: C + memoryCycles; double-buffered: prologue + max(C, overlapped
 *                  transfers) + epilogue, the steady state taken over the layer's totals)
 *   loadCycles   = cycles - C
 *   bound        = 'memory' if max(ceil((B - E) / bytesPerCycle), ceil(E / bytesPerCycle)) > C:
 *                  the overlapped transfers outlast compute, or the exposed ones alone exceed it
 *   attainable GOPS = 2 * MACs / (cycles / f) / 1e9      (one MAC = 2 ops)
 * With E = 0 this is the roofline (Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009):
 * cycles = max(C, memoryCycles), memory-bound iff memoryCycles > C.
 */
import { outputSize } from '../../conv/layer.ts';
import type { LayerSpec } from '../../networks/network.ts';
import { InputError } from '../../util/errors.ts';
import { resolvePacking, type Device, type Packing } from '../devices.ts';

export type { LayerSpec };
import type { Bound, LayerEstimate } from '../../results/index.ts';

export type { Bound, LayerEstimate };

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
    if (!Object.hasOwn(schema, key)) {
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
 * Why a configuration cannot be built: 'dsp' and 'bram' (resources), 'packing' (not allowed on
 * the DSP type or for the bit widths), 'folding' (FINN divisibility), 'grouping' (a grouped
 * layer the engine cannot run), 'device' (wrong DSP family), 'precision' (operand widths).
 */
export type InfeasibleReason = 'dsp' | 'bram' | 'fabric' | 'packing' | 'folding' | 'grouping' | 'device' | 'precision';

/** An InputError that also says which rule was violated (the sweep counts configurations by it). */
export class InfeasibleError extends InputError {
  override name = 'InfeasibleError';
  constructor(
    readonly reason: InfeasibleReason,
    message: string,
  ) {
    super(message);
  }
}

export function dspMessage(used: number, expr: string, device: Device): string {
  return `${expr} = ${used} DSPs exceeds the ${device.dsp} DSP slices of ${device.name} (${device.board})`;
}

/** BRAM36 the configuration may use: its budget, never more than the device has. */
export function bramLimit(device: Device, budget = device.bram36): number {
  return Math.min(budget, device.bram36);
}

export function bramMessage(used: number, expr: string, device: Device, budget = device.bram36): string {
  const limit = bramLimit(device, budget);
  const what = limit < device.bram36 ? `the bramBudget of ${limit}` : `the ${device.bram36} 36 Kb block RAMs of ${device.name} (${device.board})`;
  return `${expr} = ${used} BRAM36 exceeds ${what}`;
}

/**
 * Throws unless `used` DSPs fit the device, naming the expression that produced them.
 * `expr` is a function so that the message costs nothing on the (hot) feasible path.
 */
export function requireDsp(used: number, expr: () => string, device: Device): void {
  if (used > device.dsp) throw new InfeasibleError('dsp', dspMessage(used, expr(), device));
}

export function requireBram(used: number, expr: () => string, device: Device, budget = device.bram36): void {
  if (used > bramLimit(device, budget)) throw new InfeasibleError('bram', bramMessage(used, expr(), device, budget));
}

/**
 * `packing` from arch params ('auto' or 1/2/4) for this layer's widths on this device;
 * a packing the DSP type or the widths do not allow is an InfeasibleError('packing').
 */
export function layerPacking(requested: number | string | undefined, device: Device, l: LayerSpec): Packing {
  try {
    return resolvePacking('packing', requested === undefined || requested === 'auto' ? 'auto' : Number(requested), device.dspType, l.wBits, l.aBits);
  } catch (e) {
    if (e instanceof InputError && !(e instanceof InfeasibleError)) throw new InfeasibleError('packing', e.message);
    throw e;
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

/**
 * A layer with the terms every model derives from it computed once. The design-space sweep
 * prepares each layer of a network once and evaluates it under many configurations.
 */
export interface PreparedLayer {
  readonly layer: LayerSpec;
  readonly outH: number;
  readonly outW: number;
  readonly pixels: number;
  /** Input / output channels per group. */
  readonly cin: number;
  readonly cout: number;
  readonly taps: number;
  /** pixels * out_c * k_h * k_w * cin. */
  readonly macs: number;
  /** groups = in_c = out_c > 1. */
  readonly depthwise: boolean;
  /** Each tensor once, packed at w_bits / a_bits. */
  readonly weightBytes: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
}

export function prepareLayer(l: LayerSpec): PreparedLayer {
  const g = geometry(l);
  const taps = l.kH * l.kW;
  return {
    layer: l,
    ...g,
    taps,
    macs: g.pixels * l.outC * taps * g.cin,
    depthwise: l.groups > 1 && l.groups === l.inC && l.groups === l.outC,
    weightBytes: tensorBytes(l.outC * g.cin * taps, l.wBits),
    inputBytes: tensorBytes(l.inH * l.inW * l.inC, l.aBits),
    outputBytes: tensorBytes(g.pixels * l.outC, l.aBits),
  };
}

/** What a model's formulas produce for one layer before the roofline. Reused across calls. */
export interface LayerCost {
  computeCycles: number;
  offChipBytes: number;
  /** Of offChipBytes, those whose transfer cannot overlap compute (see the header; `setTransfers`). */
  exposedBytes: number;
  doubleBuffered: boolean;
  /** The engine's own limit on off-chip bytes per cycle (its ports); 0: only the device's. */
  portBytesPerCycle: number;
  /** Input / output channels per group the array computes (padded to its granularity). */
  paddedInC: number;
  paddedOutC: number;
  /** MACs per cycle of the configured engine at full use. */
  peakMacsPerCycle: number;
  dsp: number;
  bram: number;
  /** BRAM36 this configuration may use (see `bramLimit`). */
  bramLimit: number;
  packing: Packing;
}

export function newLayerCost(): LayerCost {
  return {
    computeCycles: 0, offChipBytes: 0, exposedBytes: 0, doubleBuffered: true, portBytesPerCycle: 0, paddedInC: 0, paddedOutC: 0,
    peakMacsPerCycle: 1, dsp: 0, bram: 0, bramLimit: 0, packing: 1,
  };
}

/** `count` rounded up to a multiple of `granule`: the channels an array of that width processes. */
export function padTo(count: number, granule: number): number {
  return Math.ceil(count / granule) * granule;
}

/**
 * The `doubleBuffer` parameter every model with off-chip tile transfers declares; `dflt` is the
 * architecture's own (each model's header says why).
 */
export function doubleBufferParam(dflt: 'on' | 'off', why: string): ParamSpec {
  return {
    default: dflt,
    choices: ['on', 'off'],
    description: `overlap tile loads with compute (on: ping-pong buffers, only the first load and last store wait; off: load, then compute, per tile). ${why}`,
  };
}

/**
 * Writes a layer's transfers into `out`: `total` off-chip bytes, of which `firstLoad` (the first
 * tile's weights and activations), `lastStore` (the last tile's outputs) and `single` (buffers
 * the engine keeps single even when it double-buffers the rest) cannot overlap compute when
 * `doubleBuffer`; without it none can.
 */
export function setTransfers(out: LayerCost, doubleBuffer: boolean, total: number, firstLoad: number, lastStore: number, single = 0): void {
  out.offChipBytes = total;
  out.doubleBuffered = doubleBuffer;
  out.exposedBytes = doubleBuffer ? Math.min(total, firstLoad + lastStore + single) : total;
}

/** The combination of compute and transfers for one layer (see the header). */
export interface Roofline {
  bytesPerCycle: number;
  memoryCycles: number;
  loadCycles: number;
  cycles: number;
  bound: Bound;
}

/**
 * Cycles, load cycles and bound of a layer from its compute cycles and transfers at `perCycle`
 * device bytes per cycle (capped by the engine's ports). Returns one reused object: the
 * design-space sweep calls this per layer and configuration.
 */
export function roofline(c: Pick<LayerCost, 'computeCycles' | 'offChipBytes' | 'exposedBytes' | 'portBytesPerCycle'>, perCycle: number): Readonly<Roofline> {
  const bpc = c.portBytesPerCycle > 0 && c.portBytesPerCycle < perCycle ? c.portBytesPerCycle : perCycle;
  const memory = memoryCycles(c.offChipBytes, bpc);
  const exposed = memoryCycles(c.exposedBytes, bpc);
  const overlapped = memoryCycles(c.offChipBytes - c.exposedBytes, bpc);
  const cycles = Math.max(c.computeCycles + exposed, memory);
  rl.bytesPerCycle = bpc;
  rl.memoryCycles = memory;
  rl.cycles = cycles;
  rl.loadCycles = cycles - c.computeCycles;
  rl.bound = Math.max(overlapped, exposed) > c.computeCycles ? 'memory' : 'compute';
  return rl;
}
const rl: Roofline = { bytesPerCycle: 1, memoryCycles: 0, loadCycles: 0, cycles: 0, bound: 'compute' };

/** The resource a cost exceeds on the device ('dsp' first), or undefined when it fits. */
export function resourceViolation(c: LayerCost, device: Device): 'dsp' | 'bram' | undefined {
  if (c.dsp > device.dsp) return 'dsp';
  if (c.bram > c.bramLimit) return 'bram';
  return undefined;
}

/**
 * A model's formulas, separated from the checks and the result assembly that `defineModel`
 * adds. `config` runs once per configuration, `cost` once per layer and allocates nothing.
 */
export interface ModelCore<C> {
  /** The numeric configuration from resolved parameters. */
  config(p: Params, device: Device): C;
  /**
   * Writes the layer's cycles, traffic, resources and packing into `out`. Throws an
   * InfeasibleError only for a rule of the model's own (folding, grouping, device, precision,
   * packing); DSP and BRAM are checked by the caller against `out`.
   */
  cost(g: PreparedLayer, c: C, device: Device, out: LayerCost): void;
  /** The expressions an InfeasibleError names when the DSPs or the BRAM do not fit. */
  dspExpr(c: C, out: LayerCost): string;
  bramExpr(c: C, out: LayerCost, g: PreparedLayer): string;
  /** Model-specific intermediate terms and warnings of the full estimate. */
  describe(g: PreparedLayer, c: C, out: LayerCost, device: Device): { detail: Record<string, number | string>; warnings: string[] };
}

export type ModelFn = (layer: LayerSpec, params: Params, device: Device, clockMHz: number) => LayerEstimate;

/** Off-chip bytes per clock cycle at the device bandwidth: GB/s * 1e3 / MHz. */
export function bytesPerCycle(device: Pick<Device, 'offChipGBps'>, clockMHz: number): number {
  return (device.offChipGBps * 1e3) / clockMHz;
}

/** Cycles `offChipBytes` of traffic need at `perCycle` bytes per cycle. */
export function memoryCycles(offChipBytes: number, perCycle: number): number {
  return offChipBytes > 0 ? Math.ceil(offChipBytes / perCycle) : 0;
}

/** Runs a model's formulas on one layer, checks DSP and BRAM, and assembles the estimate. */
export function evaluateCore<C>(core: ModelCore<C>, layer: LayerSpec, p: Params, device: Device, clockMHz: number): LayerEstimate {
  requireClock(clockMHz);
  const c = core.config(p, device);
  const g = prepareLayer(layer);
  const out = newLayerCost();
  core.cost(g, c, device, out);
  const bad = resourceViolation(out, device);
  if (bad === 'dsp') throw new InfeasibleError('dsp', dspMessage(out.dsp, core.dspExpr(c, out), device));
  if (bad === 'bram') throw new InfeasibleError('bram', bramMessage(out.bram, core.bramExpr(c, out, g), device, out.bramLimit));
  const { detail, warnings } = core.describe(g, c, out, device);
  return finish(layer, device, clockMHz, out, {
    dsp: out.dsp,
    bram: out.bram,
    packing: out.packing,
    detail,
    warnings,
  });
}

/** The evaluator of a model given by its formulas. */
export function defineModel<C>(core: ModelCore<C>): ModelFn {
  return (layer, p, device, clockMHz) => evaluateCore(core, layer, p, device, clockMHz);
}

/** Combines compute and transfer time into the layer's result (see the header). */
export function finish(
  l: LayerSpec,
  device: Device,
  clockMHz: number,
  cost: Pick<LayerCost, 'computeCycles' | 'offChipBytes' | 'exposedBytes' | 'doubleBuffered' | 'portBytesPerCycle' | 'peakMacsPerCycle' | 'paddedInC' | 'paddedOutC'>,
  rest: Pick<LayerEstimate, 'dsp' | 'bram' | 'lut' | 'ff' | 'packing' | 'detail' | 'warnings'>,
): LayerEstimate {
  const g = geometry(l);
  const macs = g.pixels * l.outC * l.kH * l.kW * g.cin;
  const { computeCycles, offChipBytes, peakMacsPerCycle } = cost;
  const r = roofline(cost, bytesPerCycle(device, clockMHz));
  const timeNs = (r.cycles * 1e3) / clockMHz;
  return {
    ops: 2 * macs,
    macs,
    computeCycles,
    memoryCycles: r.memoryCycles,
    cycles: r.cycles,
    loadCycles: r.loadCycles,
    bandwidthGBps: (r.bytesPerCycle * clockMHz) / 1e3,
    timeNs,
    offChipBytes,
    exposedBytes: cost.exposedBytes,
    doubleBuffered: cost.doubleBuffered,
    paddedInC: cost.paddedInC,
    paddedOutC: cost.paddedOutC,
    peakGops: (2 * peakMacsPerCycle * clockMHz) / 1e3,
    attainableGops: (2 * macs) / timeNs,
    bound: r.bound,
    utilization: macs / (computeCycles * peakMacsPerCycle),
    ...rest,
  };
}
