/**
 * A quantized convolution layer computed the way a split-convolution FPGA engine with packed
 * DSP48E2 slices computes it, and how far that is from the exact convolution.
 *
 * The engine (one definition, shared by the slice-model reference here, the identity-based
 * model below and the WASM kernel in assembly/dsp/packed-conv.ts):
 *
 * - Each DSP holds `scheme.weights` weights (output channels 2j, 2j+1 when 2) and
 *   `scheme.activations` activations (output pixels 2i, 2i+1 of one output row when 2); lane
 *   (w, a) of P accumulates the products of output channel 2j+w at output pixel 2i+a. Channels
 *   or pixels past the layer's edge feed the DSP zeros.
 * - The DSP multiplies raw codes: activation code x + offset (offset 0 for int8x8, 128 for the
 *   uint8 schemes, 8 for int4), padded taps read the zero point's code, and the zero point is
 *   folded into the bias: bias' = bias - (zp + offset) * sum(w) over every tap and channel.
 * - A cascade of `chain` DSPs (PCOUT -> PCIN) sums the products of `chain` consecutive input
 *   channels of one kernel tap in 48 bits; its P is then split into lanes by the scheme's
 *   corrected decode. `decode` chooses how many products one P sums before that split:
 *     cascade  one cascade: `chain` channels of one tap (the last chunk of a tap may be shorter)
 *     tap      all input channels of one tap (the cascade's last P accumulates its passes)
 *     window   the whole K_h x K_w x C_in window
 * - The pixel-wise accumulation unit adds the decoded lanes (exact integers), then bias', then
 *   the foundation's requantization.
 *
 * The decoded lanes equal the exact sums while every lane stays within its width (see
 * accumulationBound); beyond that the decode moves k * 2^width between neighbouring lanes and
 * the result is what the hardware would output: this module reproduces it, it never hides it.
 */
import { type ConvProblem, type ConvShape, type RequantMode, outputSize, validateProblem } from '../conv/layer.ts';
import { DECODE_POINTS, type DecodePoint } from '../registry/codes.ts';
import { referenceConv } from '../reference/conv.ts';
import { requantize } from '../reference/requant.ts';
import { InputError, requireInt } from '../util/errors.ts';
import { type PackingScheme, type SchemeName, SCHEME_NAMES, accumulationBound, decodeLanes, getScheme } from './schemes.ts';
import { stepSlice } from './slice.ts';
import type { ExactnessReport } from '../results/index.ts';

export { DECODE_POINTS, type DecodePoint };

export interface PackedConvConfig {
  scheme: SchemeName;
  /** DSPs per cascade along input channels. @default 16 */
  chain: number;
  /** When P is split into lanes. @default 'cascade' */
  decode: DecodePoint;
}

export const DEFAULT_PACKED_CONFIG: PackedConvConfig = { scheme: 'int8x8', chain: 16, decode: 'cascade' };

/**
 * The code the DSP sees is x + offset: unsigned schemes take the signed code shifted to the
 * middle of their range (uint8: x + 128, uint4: x + 8); signed schemes take x as it is.
 */
export function activationOffset(scheme: PackingScheme): number {
  const [lo, hi] = scheme.activationRange;
  return lo === 0 ? (hi + 1) / 2 : 0;
}

/** Throws an InputError naming the first operand or setting outside what the scheme accepts. */
export function validatePackedProblem(p: ConvProblem, c: PackedConvConfig): PackingScheme {
  const scheme = getScheme(c.scheme);
  if (!(DECODE_POINTS as readonly string[]).includes(c.decode)) {
    throw new InputError(`decode must be one of ${DECODE_POINTS.join(', ')}, got '${String(c.decode)}'`);
  }
  requireInt('chain', c.chain, 1, 1 << 16);
  const off = activationOffset(scheme);
  const [alo, ahi] = scheme.activationRange;
  validateProblem(p, scheme.weightRange);
  requireInt(`inputZeroPoint (${scheme.name} activations are codes in [${alo - off}, ${ahi - off}])`, p.inputZeroPoint, alo - off, ahi - off);
  for (let i = 0; i < p.input.length; i++) {
    const x = p.input[i]!;
    if (x < alo - off || x > ahi - off) {
      throw new InputError(`input[${i}]=${x} is outside [${alo - off}, ${ahi - off}], the ${scheme.name} activation range`);
    }
  }
  return scheme;
}

/** Products one P sums before its decode (the longest group). */
export function groupProducts(p: ConvProblem, c: PackedConvConfig): number {
  const s = p.shape;
  if (c.decode === 'window') return s.kH * s.kW * s.inC;
  if (c.decode === 'tap') return s.inC;
  return Math.min(c.chain, s.inC);
}

/** Decode groups: lists of [tap, channel start, channel end) runs summed in one P. */
export function decodeGroups(p: ConvProblem, c: PackedConvConfig): [number, number, number][][] {
  const taps = p.shape.kH * p.shape.kW;
  const C = p.shape.inC;
  const groups: [number, number, number][][] = [];
  if (c.decode === 'window') return [Array.from({ length: taps }, (_, t) => [t, 0, C] as [number, number, number])];
  for (let t = 0; t < taps; t++) {
    const step = c.decode === 'tap' ? C : c.chain;
    for (let c0 = 0; c0 < C; c0 += step) groups.push([[t, c0, Math.min(C, c0 + step)]]);
  }
  return groups;
}

/** bias' per output channel: the zero point folded in as the DSP sees it. */
export function foldedBias(p: ConvProblem, scheme: PackingScheme): Int32Array {
  const s = p.shape;
  const zpCode = p.inputZeroPoint + activationOffset(scheme);
  const n = s.kH * s.kW * s.inC;
  return Int32Array.from(p.bias, (b, oc) => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += p.weights[oc * n + i]!;
    return b - zpCode * sum;
  });
}

/** The DSP-side operands of one output position: a function (oc, px, tap, c) -> codes. */
function operandReader(p: ConvProblem, scheme: PackingScheme) {
  const s = p.shape;
  const { outW } = outputSize(s);
  const off = activationOffset(scheme);
  const taps = s.kH * s.kW;
  return {
    weight: (oc: number, tap: number, c: number) => (oc < s.outC ? p.weights[(oc * taps + tap) * s.inC + c]! : 0),
    activation: (oh: number, ow: number, tap: number, c: number) => {
      if (ow >= outW) return 0; // an idle lane
      const ih = oh * s.strideH + Math.floor(tap / s.kW) - s.padTop;
      const iw = ow * s.strideW + (tap % s.kW) - s.padLeft;
      const inside = ih >= 0 && ih < s.inH && iw >= 0 && iw < s.inW;
      return (inside ? p.input[(ih * s.inW + iw) * s.inC + c]! : p.inputZeroPoint) + off;
    },
  };
}

/**
 * The engine's int32 accumulators (bias' included), computed with the slice model: every
 * packed multiply goes through the pre-adder, multiplier and ALU of stepSlice, each decode
 * group as a PCIN cascade. Clarity first: this is the oracle for the fast paths.
 */
export function slicePackedAccumulators(p: ConvProblem, c: PackedConvConfig): Int32Array {
  const scheme = validatePackedProblem(p, c);
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const rd = operandReader(p, scheme);
  const acc = new Float64Array(outH * outW * s.outC);
  const groups = decodeGroups(p, c);
  for (let oh = 0; oh < outH; oh++) {
    for (let px = 0; px < outW; px += scheme.activations) {
      for (let oc = 0; oc < s.outC; oc += scheme.weights) {
        for (const group of groups) {
          let P = 0n;
          let first = true;
          for (const [tap, c0, c1] of group) {
            for (let ch = c0; ch < c1; ch++) {
              const ws = Array.from({ length: scheme.weights }, (_, i) => rd.weight(oc + i, tap, ch));
              const as = Array.from({ length: scheme.activations }, (_, j) => rd.activation(oh, px + j, tap, ch));
              const ports = scheme.ports(ws, as, first ? 'first' : 'PCIN');
              P = stepSlice({ ...ports, pcin: P }, 0n);
              first = false;
            }
          }
          decodeLanes(scheme, P).forEach((v, i) => {
            const lane = scheme.lanes[i]!;
            if (oc + lane.w < s.outC && px + lane.a < outW) acc[(oh * outW + px + lane.a) * s.outC + oc + lane.w]! += Number(v);
          });
        }
      }
    }
  }
  const bias = foldedBias(p, scheme);
  return Int32Array.from(acc, (v, i) => v + bias[i % s.outC]!);
}

/**
 * The same accumulators from exact lane sums: P = sum_i S_i * 2^offset_i (mod 2^48), so lane i's
 * field is (S_i + floor(T_{i-1} / 2^width_{i-1})) mod 2^width_i with the borrow bit of T_{i-1},
 * where T_i is that running sum. Integer arithmetic only; the WASM kernels use this identity and
 * the tests prove it equal to slicePackedAccumulators.
 */
export function identityPackedAccumulators(p: ConvProblem, c: PackedConvConfig): Int32Array {
  const scheme = validatePackedProblem(p, c);
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const off = activationOffset(scheme);
  const taps = s.kH * s.kW;
  const C = s.inC;
  // The DSP's activation codes on the padded input, so the loops below need no bounds checks.
  const hp = s.inH + s.padTop + s.padBottom;
  const wp = s.inW + s.padLeft + s.padRight;
  const codes = new Int32Array(hp * wp * C).fill(p.inputZeroPoint + off);
  for (let ih = 0; ih < s.inH; ih++) {
    for (let iw = 0; iw < s.inW; iw++) {
      for (let ch = 0; ch < C; ch++) {
        codes[((ih + s.padTop) * wp + iw + s.padLeft) * C + ch] = p.input[(ih * s.inW + iw) * C + ch]! + off;
      }
    }
  }
  const acc = new Float64Array(outH * outW * s.outC);
  const groups = decodeGroups(p, c);
  const sums = new Array<number>(scheme.lanes.length);
  for (let oh = 0; oh < outH; oh++) {
    for (let px = 0; px < outW; px += scheme.activations) {
      for (let oc = 0; oc < s.outC; oc += scheme.weights) {
        for (const group of groups) {
          scheme.lanes.forEach((l, i) => {
            const o = oc + l.w;
            const ow = px + l.a;
            let sum = 0;
            // Channels or pixels past the layer's edge are idle DSP inputs: zero.
            if (o < s.outC && ow < outW) {
              for (const [tap, c0, c1] of group) {
                const row = oh * s.strideH + Math.floor(tap / s.kW);
                const col = ow * s.strideW + (tap % s.kW);
                const xBase = (row * wp + col) * C;
                const wBase = (o * taps + tap) * C;
                for (let ch = c0; ch < c1; ch++) sum += p.weights[wBase + ch]! * codes[xBase + ch]!;
              }
            }
            sums[i] = sum;
          });
          decodeFromSums(scheme, sums).forEach((v, i) => {
            const lane = scheme.lanes[i]!;
            if (oc + lane.w < s.outC && px + lane.a < outW) acc[(oh * outW + px + lane.a) * s.outC + oc + lane.w]! += v;
          });
        }
      }
    }
  }
  const bias = foldedBias(p, scheme);
  return Int32Array.from(acc, (v, i) => v + bias[i % s.outC]!);
}

/** sext_w(v mod 2^w) for an integer v. */
function sextNum(v: number, w: number): number {
  const m = 2 ** w;
  const r = ((v % m) + m) % m;
  return r >= m / 2 ? r - m : r;
}

/** The corrected lanes of P = sum_i sums[i] * 2^offset_i (mod 2^48), from the exact lane sums. */
export function decodeFromSums(scheme: PackingScheme, sums: readonly number[]): number[] {
  const out: number[] = [];
  let t = 0;
  scheme.lanes.forEach((l, i) => {
    const prev = scheme.lanes[i - 1];
    const carry = prev ? Math.floor(t / 2 ** prev.width) : 0;
    const borrow = prev ? (sextNum(t, prev.width) < 0 ? 1 : 0) : 0;
    t = sums[i]! + carry;
    out.push(sextNum(t, l.width) + borrow);
  });
  return out;
}

export interface PackedConvResult {
  accumulators: Int32Array;
  output: Int8Array | Int32Array;
}

/** The engine's output: accumulators requantized with the problem's mode (raw: as they are). */
export function requantizePacked(p: ConvProblem, acc: Int32Array): Int8Array | Int32Array {
  const r = p.requant;
  if (r.mode === 'raw') return acc;
  return Int8Array.from(acc, (a, i) =>
    requantize(a, { mode: r.mode as Exclude<typeof r.mode, 'raw'>, scale: r.scale[i % p.shape.outC]!, outputZeroPoint: r.outputZeroPoint, outputMin: r.outputMin, outputMax: r.outputMax }),
  );
}


/** The report from the packed engine's and the exact convolution's accumulators and outputs. */
export function exactnessReport(
  p: ConvProblem,
  c: PackedConvConfig,
  packed: { acc: ArrayLike<number>; out: ArrayLike<number> },
  exact: { acc: ArrayLike<number>; out: ArrayLike<number> },
): ExactnessReport {
  let accDiff = 0;
  let accMax = 0;
  let outDiff = 0;
  let outMax = 0;
  let first = -1;
  for (let i = 0; i < exact.acc.length; i++) {
    const d = Math.abs(packed.acc[i]! - exact.acc[i]!);
    if (d) accDiff++;
    accMax = Math.max(accMax, d);
    const e = Math.abs(packed.out[i]! - exact.out[i]!);
    if (e && first < 0) first = i;
    if (e) outDiff++;
    outMax = Math.max(outMax, e);
  }
  const perDecode = groupProducts(p, c);
  const bound = accumulationBound(getScheme(c.scheme));
  const { outW } = outputSize(p.shape);
  const oc = p.shape.outC;
  return {
    scheme: c.scheme, chain: c.chain, decode: c.decode, productsPerDecode: perDecode, bound, safeInWorstCase: perDecode <= bound,
    outputs: exact.acc.length, accumulatorsDiffering: accDiff, maxAccumulatorError: accMax, outputsDiffering: outDiff, maxOutputError: outMax,
    ...(first >= 0
      ? { firstDifference: { oh: Math.floor(first / oc / outW), ow: Math.floor(first / oc) % outW, oc: first % oc, got: packed.out[first]!, want: exact.out[first]! } }
      : {}),
  };
}

/** How the packed engine's accumulators compare with the exact convolution (the JS reference). */
export function compareWithExact(p: ConvProblem, c: PackedConvConfig, packedAcc: Int32Array): ExactnessReport {
  const exactAcc = referenceConv({ ...p, requant: { ...p.requant, mode: 'raw' } }) as Int32Array;
  const exactOut = p.requant.mode === 'raw' ? exactAcc : referenceConv(p);
  return exactnessReport(p, c, { acc: packedAcc, out: requantizePacked(p, packedAcc) }, { acc: exactAcc, out: exactOut });
}



