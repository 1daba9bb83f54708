/**
 * Requantization, written for clarity with BigInt: this is the oracle every kernel is compared to.
 *
 * Sources (formulas, not code):
 * - TFLite `QuantizeMultiplier` (tensorflow/lite/kernels/internal/quantization_util.cc) and
 *   `MultiplyByQuantizedMultiplier` (kernels/internal/common.h), with and without TFLITE_SINGLE_ROUNDING.
 * - gemmlowp `SaturatingRoundingDoublingHighMul` / `RoundingDivideByPOT` (fixedpoint/fixedpoint.h).
 * - onnxruntime MLAS `MlasRequantizeOutput` (f32 multiply, clamp, round to nearest even).
 */
import type { RequantMode } from '../conv/layer.ts';

export interface QuantizedMultiplier {
  /** Q0.31 significand in [2^30, 2^31) or 0. */
  multiplier: number;
  /** Power-of-two exponent: real = multiplier * 2^(shift - 31). */
  shift: number;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** std::round: half away from zero. */
export function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

/** WASM f32.nearest / C nearbyintf in the default mode: half to even. */
export function roundHalfToEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** std::frexp: x = q * 2^e with q in [0.5, 1). x > 0. */
function frexp(x: number): { q: number; e: number } {
  let e = Math.ceil(Math.log2(x));
  // log2 may be off by one near powers of two; fix up exactly.
  while (x / 2 ** e >= 1) e++;
  while (x / 2 ** e < 0.5) e--;
  return { q: x / 2 ** e, e };
}

/**
 * TFLite QuantizeMultiplier. `single` additionally saturates shifts above 30, as
 * TFLITE_SINGLE_ROUNDING does; both flush multipliers below 2^-32 to zero.
 */
export function quantizeMultiplier(real: number, mode: 'gemmlowp' | 'single'): QuantizedMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  const { q, e } = frexp(real);
  let shift = e;
  let qFixed = roundHalfAwayFromZero(q * 2 ** 31);
  if (qFixed === 2 ** 31) {
    qFixed /= 2;
    shift++;
  }
  if (shift < -31) {
    shift = 0;
    qFixed = 0;
  }
  if (mode === 'single' && shift > 30) {
    shift = 30;
    qFixed = 2 ** 31 - 1;
  }
  return { multiplier: qFixed, shift };
}

/** gemmlowp SaturatingRoundingDoublingHighMul: round(a*b / 2^31) with C++ truncating division. */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates toward zero, like C++
}

/** gemmlowp RoundingDivideByPOT: x / 2^exponent rounded half away from zero. */
export function roundingDivideByPOT(x: number, exponent: number): number {
  const mask = 2 ** exponent - 1;
  const remainder = Number(BigInt(x) & BigInt(mask));
  const threshold = Math.floor(mask / 2) + (x < 0 ? 1 : 0);
  return Math.floor(x / 2 ** exponent) + (remainder > threshold ? 1 : 0);
}

/** TFLite MultiplyByQuantizedMultiplier, default (double rounding). `x << leftShift` wraps in int32. */
export function multiplyGemmlowp(x: number, qm: QuantizedMultiplier): number {
  const leftShift = qm.shift > 0 ? qm.shift : 0;
  const rightShift = qm.shift > 0 ? 0 : -qm.shift;
  const shifted = Number(BigInt.asIntN(32, BigInt(x) << BigInt(leftShift)));
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(shifted, qm.multiplier), rightShift);
}

/** TFLite MultiplyByQuantizedMultiplier with TFLITE_SINGLE_ROUNDING, saturated to int32. */
export function multiplySingle(x: number, qm: QuantizedMultiplier): number {
  const totalShift = BigInt(31 - qm.shift);
  const round = 1n << (totalShift - 1n);
  const r = (BigInt(x) * BigInt(qm.multiplier) + round) >> totalShift; // >> on BigInt is floor
  return Number(r < BigInt(INT32_MIN) ? BigInt(INT32_MIN) : r > BigInt(INT32_MAX) ? BigInt(INT32_MAX) : r);
}

/** Clamp then add the zero point, exactly (no int32 wrap). */
function clampToOutput(y: number, zp: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, y + zp));
}

export interface RequantChannel {
  mode: Exclude<RequantMode, 'raw'>;
  scale: number;
  outputZeroPoint: number;
  outputMin: number;
  outputMax: number;
}

/** One accumulator (bias included) to one int8 output. */
export function requantize(acc: number, c: RequantChannel): number {
  switch (c.mode) {
    case 'gemmlowp':
      return clampToOutput(multiplyGemmlowp(acc, quantizeMultiplier(c.scale, 'gemmlowp')), c.outputZeroPoint, c.outputMin, c.outputMax);
    case 'single':
      return clampToOutput(multiplySingle(acc, quantizeMultiplier(c.scale, 'single')), c.outputZeroPoint, c.outputMin, c.outputMax);
    case 'fp32': {
      const scale = Math.fround(c.scale);
      let f = Math.fround(Math.fround(acc) * scale);
      f = Math.max(f, c.outputMin - c.outputZeroPoint);
      f = Math.min(f, c.outputMax - c.outputZeroPoint);
      return roundHalfToEven(f) + c.outputZeroPoint;
    }
  }
}
