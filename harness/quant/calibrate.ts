/**
 * Activation calibration: run the float graph (harness/model/float-infer.ts) on calibration
 * inputs, observe every tensor, and choose an asymmetric int8 quantizer for each.
 *
 * Which images: the caller passes the inputs. The harness convention (evaluate.ts) is the first
 * `CALIBRATION_IMAGES` = 200 images of the evaluation set (indices 0..199) for calibration, and
 * only images from index 200 on for measurement, so no measured image was seen by calibration.
 *
 * Observers, on all values of a tensor over all calibration inputs (kept and sorted):
 *  - 'minmax'      [min, max] of the observed values;
 *  - 'percentile'  [P_(100-p), P_p] with the nearest-rank percentile P_q = sorted[ceil(q/100 * n) - 1]
 *                  (p = 99.99 by default): the extreme 0.01 % on each side is clipped;
 *  - 'mse'         [a * min, a * max] for the a in {1/N, 2/N, ..., 1} (N = `mseSteps`, 128 by
 *                  default, min/max as for 'minmax') whose int8 quantizer (below) gives the
 *                  smallest mean squared error sum (x - dequant(quant(x)))^2 over the observed
 *                  values; ties go to the larger a. The sum is exact for each candidate, computed
 *                  in O(256 log n) from prefix sums of x and x^2 over the sorted values: the
 *                  values that map to one code form a contiguous run between two midpoints.
 *
 * Every range is widened to contain 0 and becomes an asymmetric b-bit quantizer (b = 8 unless
 * `activationBits` says otherwise, 2..8) with the nudged zero point of TFLite's
 * ChooseQuantizationParams (tensorflow/lite/kernels/internal/quantization_util.h), on the signed
 * b-bit code range [qmin, qmax] = [-2^(b-1), 2^(b-1) - 1]:
 *
 *     scale = (max - min) / (qmax - qmin),   zeroPoint = round half away from zero(qmin - min / scale)  in [qmin, qmax]
 *
 * so real 0 is exactly the code zeroPoint. An all-zero tensor gets scale 1, zero point 0.
 * A tensor that is never negative (a ReLU output) gets zeroPoint = qmin: its codes are an
 * unsigned b-bit grid shifted down by 2^(b-1), which is how the packed-DSP schemes with unsigned
 * activations (int8xu8, wp487u8, int4) take them (harness/dsp/packed-conv.ts activationOffset).
 * Codes of every width are stored in Int8Arrays.
 */
import { type Graph, inferShapes } from '../model/graph.ts';
import { runGraph } from '../model/float-infer.ts';
import { roundHalfAwayFromZero } from '../reference/requant.ts';
import { InputError } from '../util/errors.ts';

/** The int8 code range: every quantizer's codes lie inside it. */
export const QMIN = -128;
export const QMAX = 127;
export const MIN_ACTIVATION_BITS = 2;
export const MAX_ACTIVATION_BITS = 8;
/** Calibration images taken from the front of the evaluation set (indices 0 .. CALIBRATION_IMAGES-1). */
export const CALIBRATION_IMAGES = 200;

export const OBSERVERS = ['minmax', 'percentile', 'mse'] as const;
export type Observer = (typeof OBSERVERS)[number];

export interface CalibrationOptions {
  /** How a tensor's range is chosen. @default 'minmax' */
  observer?: Observer;
  /** Upper percentile of the 'percentile' observer (the lower one is 100 - p). @default 99.99 */
  percentile?: number;
  /** Candidate clip ratios of the 'mse' observer. @default 128 */
  mseSteps?: number;
  /**
   * Activation bit width, for every observed tensor or per tensor name (others: 8), 2..8.
   * @default 8
   */
  activationBits?: number | Readonly<Record<string, number>>;
}

/** An asymmetric b-bit quantizer: real = scale * (q - zeroPoint), q in [codeMin(p), codeMax(p)]. */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
  /** The real range the parameters were chosen for (before nudging). */
  min: number;
  max: number;
  /** Code width, 2..8: codes are -2^(bits-1) .. 2^(bits-1) - 1. */
  bits: number;
}

/** The smallest code of a b-bit activation quantizer, -2^(b-1). */
export function codeMin(p: Pick<QuantParams, 'bits'>): number {
  return -(2 ** (p.bits - 1));
}

/** The largest code of a b-bit activation quantizer, 2^(b-1) - 1. */
export function codeMax(p: Pick<QuantParams, 'bits'>): number {
  return 2 ** (p.bits - 1) - 1;
}

/** `bits` checked: an integer in [2, 8]; InputError naming `what` otherwise. */
export function checkActivationBits(bits: unknown, what = 'activation bits'): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_ACTIVATION_BITS || bits > MAX_ACTIVATION_BITS) {
    throw new InputError(`${what} must be an integer in [${MIN_ACTIVATION_BITS}, ${MAX_ACTIVATION_BITS}], got ${String(bits)}`);
  }
  return bits;
}

/** The bit width `activationBits` gives tensor `name`. */
export function activationBitsOf(activationBits: CalibrationOptions['activationBits'], name: string): number {
  if (activationBits === undefined) return 8;
  if (typeof activationBits === 'number') return checkActivationBits(activationBits);
  return Object.hasOwn(activationBits, name) ? checkActivationBits(activationBits[name], `activation bits of '${name}'`) : 8;
}

/**
 * TFLite ChooseQuantizationParams on the b-bit code range: [min, max] widened to contain 0,
 * zero point nudged to an integer in [qmin, qmax].
 */
export function chooseQuantParams(min: number, max: number, bits = 8): QuantParams {
  if (!Number.isFinite(min) || !Number.isFinite(max) || min > max) throw new InputError(`cannot quantize the range [${min}, ${max}]`);
  checkActivationBits(bits);
  const lo = Math.min(min, 0);
  const hi = Math.max(max, 0);
  if (lo === hi) return { scale: 1, zeroPoint: 0, min: lo, max: hi, bits };
  const qmin = codeMin({ bits });
  const qmax = codeMax({ bits });
  const scale = (hi - lo) / (qmax - qmin);
  const zeroPoint = Math.max(qmin, Math.min(qmax, roundHalfAwayFromZero(qmin - lo / scale)));
  return { scale, zeroPoint, min: lo, max: hi, bits };
}

/** q = clamp(round half away from zero(x / scale) + zeroPoint, qmin, qmax). */
export function quantizeValue(x: number, p: QuantParams): number {
  return Math.max(codeMin(p), Math.min(codeMax(p), roundHalfAwayFromZero(x / p.scale) + p.zeroPoint));
}

export function dequantizeValue(q: number, p: QuantParams): number {
  return p.scale * (q - p.zeroPoint);
}

/** A float tensor as int8 codes. */
export function quantizeTensor(x: ArrayLike<number>, p: QuantParams): Int8Array {
  return Int8Array.from({ length: x.length }, (_, i) => quantizeValue(x[i]!, p));
}

/** Nearest-rank percentile of sorted values: sorted[ceil(q/100 * n) - 1] (q = 0 gives the minimum). */
export function percentileOfSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const rank = Math.max(1, Math.ceil((q / 100) * n));
  return sorted[Math.min(n, rank) - 1]!;
}

/** Sorted observations of one tensor, with prefix sums for the MSE search. */
export class SortedObservations {
  readonly values: Float64Array;
  private readonly s1: Float64Array;
  private readonly s2: Float64Array;

  constructor(values: ArrayLike<number>) {
    if (values.length === 0) throw new InputError('no observed values: the calibration set is empty');
    this.values = Float64Array.from(values).sort();
    const n = this.values.length;
    this.s1 = new Float64Array(n + 1);
    this.s2 = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const v = this.values[i]!;
      this.s1[i + 1] = this.s1[i]! + v;
      this.s2[i + 1] = this.s2[i]! + v * v;
    }
  }

  get min(): number {
    return this.values[0]!;
  }

  get max(): number {
    return this.values[this.values.length - 1]!;
  }

  /** Number of values < x (x = +Infinity: all). */
  private below(x: number): number {
    let lo = 0;
    let hi = this.values.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.values[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Sum of (x - dequant(quant(x)))^2 over the values. Code k covers the values between the
   * midpoints to its neighbours' dequantized values; the end codes also take everything beyond.
   * A value exactly on a midpoint is equally far from both codes, so where it goes does not
   * change the sum.
   */
  quantizationSse(p: QuantParams): number {
    let sse = 0;
    let start = 0;
    const qmax = codeMax(p);
    for (let k = codeMin(p); k <= qmax; k++) {
      const d = dequantizeValue(k, p);
      const end = k === qmax ? this.values.length : this.below(d + p.scale / 2);
      if (end > start) {
        const n = end - start;
        const a = this.s1[end]! - this.s1[start]!;
        const b = this.s2[end]! - this.s2[start]!;
        sse += Math.max(0, b - 2 * d * a + n * d * d);
      }
      start = Math.max(start, end);
    }
    return sse;
  }
}

/** The b-bit quantizer an observer chooses for these observations. */
export function observe(obs: SortedObservations, options: CalibrationOptions = {}, bits = 8): QuantParams {
  const observer = options.observer ?? 'minmax';
  switch (observer) {
    case 'minmax':
      return chooseQuantParams(obs.min, obs.max, bits);
    case 'percentile': {
      const p = options.percentile ?? 99.99;
      if (!(p > 50 && p <= 100)) throw new InputError(`percentile must be in (50, 100], got ${p}`);
      return chooseQuantParams(percentileOfSorted(obs.values, 100 - p), percentileOfSorted(obs.values, p), bits);
    }
    case 'mse': {
      const steps = options.mseSteps ?? 128;
      if (!Number.isInteger(steps) || steps < 1 || steps > 1 << 16) throw new InputError(`mseSteps must be an integer in [1, 65536], got ${steps}`);
      const lo = Math.min(obs.min, 0);
      const hi = Math.max(obs.max, 0);
      let best = chooseQuantParams(lo, hi, bits);
      let bestSse = obs.quantizationSse(best);
      for (let k = steps - 1; k >= 1; k--) {
        const p = chooseQuantParams((lo * k) / steps, (hi * k) / steps, bits);
        const sse = obs.quantizationSse(p);
        if (sse < bestSse) {
          best = p;
          bestSse = sse;
        }
      }
      return best;
    }
    default:
      throw new InputError(`observer must be one of ${OBSERVERS.join(', ')}, got '${String(observer)}'`);
  }
}

export interface Calibration {
  /** 'imported': the quantizers came with a quantized model (QDQ, QOperator, QONNX). */
  observer: Observer | 'imported';
  images: number;
  /** Quantizer of every tensor of the graph (input included), by name. */
  params: Map<string, QuantParams>;
}

/**
 * Runs the float graph on every calibration input and chooses a quantizer per tensor.
 * `tensors` limits which tensors are observed (default: all). InputError on an empty set.
 */
export function calibrate(graph: Graph, inputs: readonly Float32Array[], options: CalibrationOptions = {}, tensors?: readonly string[]): Calibration {
  if (inputs.length === 0) throw new InputError(`calibration of '${graph.name}' needs at least one input image, got an empty calibration set`);
  const shapes = inferShapes(graph);
  const names = tensors ?? [...shapes.keys()];
  const chunks = new Map<string, Float32Array[]>(names.map((n) => {
    if (!shapes.has(n)) throw new InputError(`graph '${graph.name}' has no tensor '${n}'`);
    return [n, []];
  }));
  for (const x of inputs) {
    const all = runGraph(graph, x, { keepAll: true }, shapes);
    for (const [name, list] of chunks) list.push(all.get(name)!);
  }
  const params = new Map<string, QuantParams>();
  for (const [name, list] of chunks) {
    const flat = new Float32Array(list.reduce((n, t) => n + t.length, 0));
    let at = 0;
    for (const t of list) {
      flat.set(t, at);
      at += t.length;
    }
    params.set(name, observe(new SortedObservations(flat), options, activationBitsOf(options.activationBits, name)));
  }
  return { observer: options.observer ?? 'minmax', images: inputs.length, params };
}

/** Per tensor, the least and greatest value over the calibration inputs: all 'minmax' reads. */
export type Ranges = Map<string, { min: number; max: number }>;

/** The ranges of `tensors` over `inputs` (one float run per input, nothing kept). */
export function observeRanges(graph: Graph, inputs: readonly Float32Array[], tensors: readonly string[]): Ranges {
  if (inputs.length === 0) throw new InputError(`calibration of '${graph.name}' needs at least one input image, got an empty calibration set`);
  const shapes = inferShapes(graph);
  const ranges: Ranges = new Map(tensors.map((n) => {
    if (!shapes.has(n)) throw new InputError(`graph '${graph.name}' has no tensor '${n}'`);
    return [n, { min: Infinity, max: -Infinity }];
  }));
  for (const x of inputs) {
    const all = runGraph(graph, x, { keepAll: true }, shapes);
    for (const [name, r] of ranges) for (const v of all.get(name)!) [r.min, r.max] = [v < r.min ? v : r.min, v > r.max ? v : r.max];
  }
  return ranges;
}

/**
 * The 'minmax' calibration from ranges measured once (observeRanges), for any activation bits:
 * the same quantizers as calibrate(graph, inputs, { observer: 'minmax', activationBits }, tensors).
 */
export function calibrateFromRanges(ranges: Ranges, activationBits: CalibrationOptions['activationBits'], images: number): Calibration {
  const params = new Map<string, QuantParams>();
  for (const [name, r] of ranges) params.set(name, chooseQuantParams(r.min, r.max, activationBitsOf(activationBits, name)));
  return { observer: 'minmax', images, params };
}
