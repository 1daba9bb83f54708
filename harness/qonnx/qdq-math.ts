/**
 * The arithmetic of the quantization operators of quantized ONNX models, exactly as their
 * specifications define it (float32 operations where the reference implementations use
 * numpy float32, f32 results rounded once):
 *
 *  QuantizeLinear (ONNX, opset 10/13)    y = saturate(round half to even(x / y_scale) + y_zero_point)
 *  DequantizeLinear (ONNX, opset 10/13)  y = (x - x_zero_point) * x_scale
 *     per tensor, or per axis (`axis`, default 1) with 1-D scale and zero point
 *     (https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html, ...DequantizeLinear.html);
 *  IntQuant / Quant (QONNX)              q = round_mode(clamp(x / scale + zeropt, min_int, max_int)),
 *                                        y = (q - zeropt) * scale
 *     min_int, max_int from signed, narrow and bitwidth; a signed 1-bit Quant is bipolar, as
 *     qonnx's own implementation treats it (docs/qonnx-custom-ops/intquant_v1.md and
 *     src/qonnx/custom_op/general/intquant.py of github.com/fastmachinelearning/qonnx);
 *  BipolarQuant (QONNX)                  y = (x >= 0 ? 1 : -1) * scale;
 *  Trunc (QONNX v1/v2)                   q = round half to even(x / scale + zeropt), then divided
 *                                        by 2^(in_bitwidth - out_bitwidth) (v1) or by
 *                                        2^round(log2(out_scale / scale)) (v2, then clamped to the
 *                                        output range) and rounded with rounding_mode.
 *
 * QONNX rounding modes (the table in intquant_v1.md): ROUND = HALF_EVEN, CEIL, FLOOR, UP (away
 * from zero), DOWN (toward zero), HALF_UP (half away from zero), HALF_DOWN (half toward zero).
 *
 * f32 arithmetic: Math.fround of the f64 result of one +, -, * or / of two f32 values is the f32
 * result (f64 has more than 2 * 24 + 2 bits, so the double rounding is innocuous).
 */
import { roundHalfToEven } from '../reference/requant.ts';
import { InputError } from '../util/errors.ts';

const f32 = Math.fround;

/** The code types of ONNX QuantizeLinear outputs this project reads. */
export type OnnxCodeType = 'int8' | 'uint8';

export function codeTypeRange(type: OnnxCodeType): [number, number] {
  return type === 'int8' ? [-128, 127] : [0, 255];
}

/** Per-axis broadcasting of a 1-D parameter over a tensor of `dims`: the parameter index of element i. */
export function axisIndexer(dims: readonly number[], axis: number | null, count: number, what: string): (i: number) => number {
  if (axis === null || count === 1) return () => 0;
  const rank = dims.length;
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new InputError(`${what}: axis ${axis} is outside the ${rank}-D input`);
  if (dims[a] !== count) throw new InputError(`${what}: ${count} scales for axis ${axis} of [${dims.join(',')}] (${dims[a]} entries)`);
  const inner = dims.slice(a + 1).reduce((p, d) => p * d, 1);
  return (i) => Math.floor(i / inner) % count;
}

/** ONNX QuantizeLinear of one value with f32 scale `s` and zero point `zp`: RNE of the f32 quotient, saturated. */
export function quantizeLinearValue(x: number, s: number, zp: number, type: OnnxCodeType): number {
  const [lo, hi] = codeTypeRange(type);
  const q = roundHalfToEven(f32(f32(x) / f32(s))) + zp;
  // NaN quantizes to 0 in onnxruntime's and the reference's saturating casts only by accident; refuse it.
  if (Number.isNaN(q)) throw new InputError(`QuantizeLinear: cannot quantize ${x} with scale ${s}`);
  return Math.min(hi, Math.max(lo, q));
}

/** ONNX QuantizeLinear over a tensor (per tensor, or per `axis` with one scale and zero point per entry). */
export function quantizeLinear(
  x: ArrayLike<number>, dims: readonly number[], scale: ArrayLike<number>, zeroPoint: ArrayLike<number>, type: OnnxCodeType, axis: number | null = null,
): number[] {
  const at = axisIndexer(dims, axis, scale.length, 'QuantizeLinear');
  return Array.from({ length: x.length }, (_, i) => quantizeLinearValue(x[i]!, scale[at(i)]!, zeroPoint.length ? zeroPoint[at(i)]! : 0, type));
}

/** ONNX DequantizeLinear over a tensor: f32((f32(x) - f32(zp)) * scale), as the reference computes it. */
export function dequantizeLinear(x: ArrayLike<number>, dims: readonly number[], scale: ArrayLike<number>, zeroPoint: ArrayLike<number>, axis: number | null = null): Float32Array {
  const at = axisIndexer(dims, axis, scale.length, 'DequantizeLinear');
  return Float32Array.from({ length: x.length }, (_, i) => f32(f32(f32(x[i]!) - f32(zeroPoint.length ? zeroPoint[at(i)]! : 0)) * f32(scale[at(i)]!)));
}

// --- QONNX -----------------------------------------------------------------------------------

export const QONNX_ROUNDING_MODES = ['ROUND', 'HALF_EVEN', 'CEIL', 'FLOOR', 'UP', 'DOWN', 'HALF_UP', 'HALF_DOWN'] as const;
export type QonnxRoundingMode = (typeof QONNX_ROUNDING_MODES)[number];

/** A QONNX rounding_mode attribute (any case), checked; InputError naming `what` otherwise. */
export function qonnxRoundingMode(raw: string, what: string): QonnxRoundingMode {
  const m = raw.toUpperCase();
  if (!(QONNX_ROUNDING_MODES as readonly string[]).includes(m)) {
    throw new InputError(`${what}: rounding_mode '${raw}' is not one of ${QONNX_ROUNDING_MODES.join(', ')}`);
  }
  return m as QonnxRoundingMode;
}

/** Rounds x to an integer in a QONNX rounding mode. */
export function qonnxRound(x: number, mode: QonnxRoundingMode): number {
  const f = Math.floor(x);
  const frac = x - f;
  switch (mode) {
    case 'ROUND':
    case 'HALF_EVEN':
      return roundHalfToEven(x);
    case 'CEIL':
      return Math.ceil(x);
    case 'FLOOR':
      return f;
    case 'UP':
      return x >= 0 ? Math.ceil(x) : Math.floor(x);
    case 'DOWN':
      return Math.trunc(x);
    case 'HALF_UP':
      return frac === 0.5 ? (x >= 0 ? f + 1 : f) : frac < 0.5 ? f : f + 1;
    case 'HALF_DOWN':
      return frac === 0.5 ? (x >= 0 ? f : f + 1) : frac < 0.5 ? f : f + 1;
  }
}

/** min_int and max_int of a QONNX IntQuant (signed, narrow, bitwidth). */
export function qonnxIntRange(signed: boolean, narrow: boolean, bits: number): [number, number] {
  if (signed) return [-(2 ** (bits - 1)) + (narrow ? 1 : 0), 2 ** (bits - 1) - 1];
  return [0, 2 ** bits - 1 - (narrow ? 1 : 0)];
}

export interface QonnxQuantParams {
  signed: boolean;
  narrow: boolean;
  bits: number;
  mode: QonnxRoundingMode;
}

/** The integer q of a QONNX IntQuant for one value (f32 arithmetic as the numpy reference on float32 inputs). */
export function qonnxQuantCode(x: number, scale: number, zeropt: number, p: QonnxQuantParams): number {
  const y = f32(f32(f32(x) / f32(scale)) + f32(zeropt));
  if (p.bits === 1 && p.signed) return y >= 0 ? 1 : -1; // qonnx's own treatment of a signed 1-bit IntQuant: bipolar
  const [lo, hi] = qonnxIntRange(p.signed, p.narrow, p.bits);
  return qonnxRound(Math.min(hi, Math.max(lo, y)), p.mode);
}

/** QONNX IntQuant's output for one value: (q - zeropt) * scale in f32. */
export function qonnxQuantValue(x: number, scale: number, zeropt: number, p: QonnxQuantParams): number {
  return f32(f32(qonnxQuantCode(x, scale, zeropt, p) - f32(zeropt)) * f32(scale));
}

/** QONNX BipolarQuant's integer: +1 for x >= 0, else -1. */
export function bipolarCode(x: number): number {
  return x >= 0 ? 1 : -1;
}

/**
 * QONNX Trunc of one value. v1 (`outScale` undefined): the input scale is kept and q is divided
 * by 2^(inBits - outBits); v2: divided by 2^round(log2(outScale / scale)), clamped to the
 * output range, and the result is in units of outScale. Returns the integer and the real value.
 */
export function qonnxTrunc(
  x: number, scale: number, zeropt: number, inBits: number, outBits: number, mode: QonnxRoundingMode,
  v2?: { outScale: number; signed: boolean; narrow: boolean },
): { q: number; value: number } {
  let y = roundHalfToEven(f32(f32(f32(x) / f32(scale)) + f32(zeropt)));
  if (!v2) {
    const q = qonnxRound(f32(y / 2 ** (inBits - outBits)), mode);
    return { q, value: f32(f32(q - f32(zeropt)) * f32(scale)) };
  }
  const truncScale = 2 ** roundHalfToEven(Math.log2(v2.outScale / scale));
  y = f32(y / truncScale);
  const [lo, hi] = qonnxIntRange(v2.signed, v2.narrow, outBits);
  const q = qonnxRound(Math.min(hi, Math.max(lo, y)), mode);
  const outZp = f32(zeropt / truncScale);
  return { q, value: f32(f32(q - outZp) * f32(v2.outScale)) };
}
