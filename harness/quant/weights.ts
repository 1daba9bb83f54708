/**
 * Per-output-channel symmetric weight quantization at 2 to 8 bits, with TFLite's conventions
 * (TFLite 8-bit quantization specification, https://www.tensorflow.org/lite/performance/quantization_spec:
 * weights symmetric per axis with zero point 0 and the range [-(2^(b-1) - 1), 2^(b-1) - 1], i.e.
 * -128 never used at 8 bits; bias int32 with scale inputScale * weightScale and zero point 0):
 *
 *     scale[o] = max over the channel of |w| / (2^(b-1) - 1)
 *     q        = round half away from zero (w / scale[o])          (std::round, as TFLite)
 *     bias[o]  = round half away from zero (bias[o] / (inputScale * scale[o]))
 *
 * A channel whose weights are all zero gets scale 1 (its codes are all 0, and its bias is then
 * round(bias / inputScale), the nearest multiple of the input scale).
 *
 * Codes are stored in an Int8Array at every bit width: the kernels take any range inside
 * [-128, 127], and a b-bit code is what an FPGA weight memory of width b holds.
 */
import type { ConvNode } from '../model/graph.ts';
import { roundHalfAwayFromZero } from '../reference/requant.ts';
import { InputError } from '../util/errors.ts';

export const MIN_WEIGHT_BITS = 2;
export const MAX_WEIGHT_BITS = 8;

/** Largest |int32 bias| the kernels accept (harness/conv/layer.ts validateProblem). */
const MAX_BIAS = 2 ** 30;

export interface QuantizedWeights {
  bits: number;
  /** OHWI codes in [-(2^(bits-1) - 1), 2^(bits-1) - 1]. */
  codes: Int8Array;
  /** One scale per output channel: w ≈ codes * scale[o]. */
  scale: Float64Array;
}

/** The largest code of a b-bit symmetric quantizer, 2^(b-1) - 1; InputError naming `layer` outside 2..8 bits. */
export function maxCode(bits: number, layer = 'weights'): number {
  if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < MIN_WEIGHT_BITS || bits > MAX_WEIGHT_BITS) {
    throw new InputError(`layer '${layer}': weight bit width must be an integer in [${MIN_WEIGHT_BITS}, ${MAX_WEIGHT_BITS}], got ${String(bits)}`);
  }
  return 2 ** (bits - 1) - 1;
}

/**
 * Quantizes `weights` (outC rows of equal length, OHWI) per output channel at `bits` bits.
 * `layer` names the layer in error messages.
 */
export function quantizeWeightsPerChannel(weights: ArrayLike<number>, outC: number, bits: number, layer = 'weights'): QuantizedWeights {
  const qmax = maxCode(bits, layer);
  if (!Number.isInteger(outC) || outC < 1 || weights.length % outC !== 0) {
    throw new InputError(`layer '${layer}': ${weights.length} weights do not split into ${outC} output channels`);
  }
  const perOut = weights.length / outC;
  const codes = new Int8Array(weights.length);
  const scale = new Float64Array(outC);
  for (let o = 0; o < outC; o++) {
    let absMax = 0;
    for (let i = o * perOut; i < (o + 1) * perOut; i++) {
      const w = weights[i]!;
      if (!Number.isFinite(w)) throw new InputError(`layer '${layer}': weight ${i} is ${w}`);
      absMax = Math.max(absMax, Math.abs(w));
    }
    const s = absMax === 0 ? 1 : absMax / qmax;
    scale[o] = s;
    for (let i = o * perOut; i < (o + 1) * perOut; i++) {
      // |w / s| <= qmax up to one rounding of the division; the clamp makes the range exact.
      codes[i] = Math.max(-qmax, Math.min(qmax, roundHalfAwayFromZero(weights[i]! / s)));
    }
  }
  return { bits, codes, scale };
}

/** A graph convolution's weights, quantized per output channel; InputError naming the node. */
export function quantizeConvWeights(node: ConvNode, bits: number): QuantizedWeights {
  return quantizeWeightsPerChannel(node.weights, node.outC, bits, node.name);
}

/** int32 bias = round half away from zero(bias / (inputScale * weightScale[o])); InputError past ±2^30. */
export function quantizeBias(bias: ArrayLike<number>, inputScale: number, weightScale: ArrayLike<number>, layer = 'bias'): Int32Array {
  if (bias.length !== weightScale.length) {
    throw new InputError(`layer '${layer}': ${bias.length} biases for ${weightScale.length} output channels`);
  }
  if (!(inputScale > 0) || !Number.isFinite(inputScale)) throw new InputError(`layer '${layer}': input scale must be a positive number, got ${inputScale}`);
  return Int32Array.from({ length: bias.length }, (_, o) => {
    const q = roundHalfAwayFromZero(bias[o]! / (inputScale * weightScale[o]!));
    if (!(Math.abs(q) <= MAX_BIAS)) {
      throw new InputError(`layer '${layer}': bias[${o}] = ${bias[o]} is ${q} in units of inputScale*weightScale, outside ±2^30`);
    }
    return q;
  });
}

/** Dequantized weights, codes * scale[o] (for error measurements). */
export function dequantizeWeights(q: QuantizedWeights): Float64Array {
  const perOut = q.codes.length / q.scale.length;
  return Float64Array.from(q.codes, (c, i) => c * q.scale[Math.floor(i / perOut)]!);
}
