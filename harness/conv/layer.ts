/**
 * The quantized convolution problem every kernel variant solves, and its validation.
 *
 * Layouts (batch 1):
 *   input   int8  NHWC  [inH][inW][inC]
 *   weights int8  OHWI  [outC][kH][kW][inC]
 *   bias    int32       [outC]
 *   output  int8 or int32 NHWC [outH][outW][outC]
 */
import { InputError, requireInt } from '../util/errors.ts';

export interface ConvShape {
  inH: number;
  inW: number;
  inC: number;
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
}

/**
 * How the int32 accumulator becomes an int8 output.
 * - `raw`: no requantization, the int32 accumulators (bias included) are the output.
 * - `gemmlowp`: TFLite's default MultiplyByQuantizedMultiplier (double rounding).
 * - `single`: TFLite's TFLITE_SINGLE_ROUNDING: one 64-bit multiply, add half, shift.
 * - `fp32`: onnxruntime/MLAS: f32 multiply, clamp in float, round half to even.
 */
export const REQUANT_MODES = ['raw', 'gemmlowp', 'single', 'fp32'] as const;
export type RequantMode = (typeof REQUANT_MODES)[number];

/** The modes that produce int8 codes: what the integer graph, the benchmark and the main job take. */
export const CODE_MODES = ['gemmlowp', 'single', 'fp32'] as const;
export type CodeMode = (typeof CODE_MODES)[number];
/** The library's default: TFLite's arithmetic. `fkb run` passes its own mode to every step. */
export const DEFAULT_CODE_MODE: CodeMode = 'gemmlowp';

export interface Requant {
  mode: RequantMode;
  /** Real multiplier per output channel (input scale * weight scale / output scale). */
  scale: ArrayLike<number>;
  outputZeroPoint: number;
  /** Clamp bounds on the int8 output (ReLU: [zp, 127], ReLU6: [zp, q(6)]). */
  outputMin: number;
  outputMax: number;
}

export interface ConvProblem {
  shape: ConvShape;
  inputZeroPoint: number;
  input: Int8Array;
  weights: Int8Array;
  bias: Int32Array;
  requant: Requant;
}

/** Largest C_in*K_h*K_w for which no int32 accumulator can overflow: 255*128*n + |bias| < 2^31. */
export const MAX_REDUCTION = Math.floor((2 ** 31 - 1 - 2 ** 30) / (255 * 128));
const MAX_DIM = 1 << 16;

export function outputSize(s: ConvShape): { outH: number; outW: number } {
  return {
    outH: Math.floor((s.inH + s.padTop + s.padBottom - s.kH) / s.strideH) + 1,
    outW: Math.floor((s.inW + s.padLeft + s.padRight - s.kW) / s.strideW) + 1,
  };
}

export function macs(s: ConvShape): number {
  const { outH, outW } = outputSize(s);
  return outH * outW * s.outC * s.kH * s.kW * s.inC;
}

export function describeShape(s: ConvShape): string {
  const pad = `${s.padTop},${s.padBottom},${s.padLeft},${s.padRight}`;
  return `${s.inH}x${s.inW}x${s.inC}->${s.outC} k${s.kH}x${s.kW} s${s.strideH},${s.strideW} p${pad}`;
}

/** Throws an InputError naming the first parameter outside its allowed range. */
export function validateShape(s: ConvShape): void {
  for (const k of ['inH', 'inW', 'inC', 'outC', 'kH', 'kW', 'strideH', 'strideW'] as const) {
    requireInt(k, s[k], 1, MAX_DIM);
  }
  for (const k of ['padTop', 'padBottom', 'padLeft', 'padRight'] as const) requireInt(k, s[k], 0, MAX_DIM);
  if (s.kH > s.inH + s.padTop + s.padBottom) {
    throw new InputError(`kH=${s.kH} is larger than the padded input height ${s.inH + s.padTop + s.padBottom}`);
  }
  if (s.kW > s.inW + s.padLeft + s.padRight) {
    throw new InputError(`kW=${s.kW} is larger than the padded input width ${s.inW + s.padLeft + s.padRight}`);
  }
  const reduction = s.inC * s.kH * s.kW;
  if (reduction > MAX_REDUCTION) {
    throw new InputError(
      `inC*kH*kW=${reduction} exceeds ${MAX_REDUCTION}: the int32 accumulator could overflow`,
    );
  }
}

function requireInt8Array(name: string, a: unknown, length: number, min = -128, max = 127): void {
  if (!(a instanceof Int8Array)) throw new InputError(`${name} must be an Int8Array`);
  if (a.length !== length) throw new InputError(`${name} must have ${length} elements, got ${a.length}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i]! < min || a[i]! > max) {
      throw new InputError(`${name}[${i}]=${a[i]} is outside the allowed range [${min}, ${max}]`);
    }
  }
}

/** Largest real multiplier accepted: QuantizeMultiplier's left shift must stay below 31. */
export const MAX_SCALE = 2 ** 30;

export function validateRequant(r: Requant, outC: number): void {
  if (!(REQUANT_MODES as readonly string[]).includes(r.mode)) {
    throw new InputError(`requantization mode must be one of ${REQUANT_MODES.join(', ')}, got '${String(r.mode)}'`);
  }
  if (r.mode === 'raw') return;
  requireInt('outputZeroPoint', r.outputZeroPoint, -128, 127);
  requireInt('outputMin', r.outputMin, -128, 127);
  requireInt('outputMax', r.outputMax, -128, 127);
  if (r.outputMin > r.outputMax) {
    throw new InputError(`outputMin=${r.outputMin} must not exceed outputMax=${r.outputMax}`);
  }
  if (r.scale.length !== outC) throw new InputError(`scale must have one entry per output channel (${outC}), got ${r.scale.length}`);
  for (let i = 0; i < outC; i++) {
    const v = r.scale[i]!;
    if (!Number.isFinite(v) || v < 0 || v >= MAX_SCALE) {
      throw new InputError(`scale[${i}]=${v} must be a finite number in [0, 2^30)`);
    }
  }
}

/** Validates the whole problem; kernels may assume every precondition stated here. */
export function validateProblem(p: ConvProblem, weightRange: readonly [number, number] = [-128, 127]): void {
  validateShape(p.shape);
  const s = p.shape;
  requireInt('inputZeroPoint', p.inputZeroPoint, -128, 127);
  requireInt8Array('input', p.input, s.inH * s.inW * s.inC);
  validateLayerParameters(p, weightRange);
}

/** The weights, bias and requantization of a problem whose shape is already valid. */
export function validateLayerParameters(p: Pick<ConvProblem, 'shape' | 'weights' | 'bias' | 'requant'>, weightRange: readonly [number, number] = [-128, 127]): void {
  const s = p.shape;
  requireInt8Array('weights', p.weights, s.outC * s.kH * s.kW * s.inC, weightRange[0], weightRange[1]);
  if (!(p.bias instanceof Int32Array)) throw new InputError('bias must be an Int32Array');
  if (p.bias.length !== s.outC) throw new InputError(`bias must have ${s.outC} elements, got ${p.bias.length}`);
  for (let i = 0; i < p.bias.length; i++) {
    if (Math.abs(p.bias[i]!) > 2 ** 30) throw new InputError(`bias[${i}]=${p.bias[i]} is outside [-2^30, 2^30]`);
  }
  validateRequant(p.requant, s.outC);
}
