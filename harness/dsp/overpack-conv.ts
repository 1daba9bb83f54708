/**
 * A quantized convolution whose every product is an overpacked DSP48E2 multiply
 * (harness/dsp/overpack.ts), decoded after each multiply as the paper does, the decoded lanes
 * summed exactly in the fabric.
 *
 * The engine mapping is that of the packed-DSP engine (packed-conv.ts): one multiply holds
 * N = layout.weights output channels (oc0 .. oc0+N−1) x M = layout.activations output pixels
 * of one output row (ow0 .. ow0+M−1), for one kernel tap and one input channel. Channels or
 * pixels past the layer's edge feed zeros. The DSP sees raw codes: unsigned layouts take
 * u = x + 2^(aBits−1) (a padded tap reads the zero point's code), and the zero point is folded
 * into the bias, so with an exact decode the accumulators equal the exact convolution's.
 *
 * The result is computed as the exact accumulators (referenceAccumulators) plus, per multiply,
 * the decode's error on each real lane (decoded − exact product); the error of a lane depends
 * only on the multiply's operand tuple, so it comes from a table over every tuple (spaces up to
 * 2^21) or from the fast evaluator, both checked against the slice model in
 * test/dsp-overpack.test.ts.
 */
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { referenceAccumulators } from '../reference/conv.ts';
import { requantize } from '../reference/requant.ts';
import { InputError } from '../util/errors.ts';
import { DECODE_MODES, type DecodeMode, type OverpackLayout, decodeOverpacked, fastEvaluator, mrCorrections, overpackP } from './overpack.ts';

/** The code offset the DSP adds to a signed activation code: 2^(aBits−1) for unsigned layouts. */
export function overpackOffset(l: OverpackLayout): number {
  return l.aSigned ? 0 : 2 ** (l.aBits - 1);
}

/** Why a layer with these weight and activation code ranges does not fit the layout, or undefined when it does. */
export function overpackMisfit(l: OverpackLayout, weights: readonly [number, number], activations: readonly [number, number]): string | undefined {
  const off = overpackOffset(l);
  if (weights[0] < l.weightRange[0] || weights[1] > l.weightRange[1]) return `weights [${weights[0]}, ${weights[1]}] exceed [${l.weightRange[0]}, ${l.weightRange[1]}]`;
  if (activations[0] + off < l.activationRange[0] || activations[1] + off > l.activationRange[1]) {
    return `activation codes [${activations[0]}, ${activations[1]}] exceed [${l.activationRange[0] - off}, ${l.activationRange[1] - off}]`;
  }
  return undefined;
}

/** Largest operand space whose per-lane errors are tabulated (2^21 tuples x lanes as Int32). */
const TABLE_LIMIT = 2 ** 21;

/** The per-lane error of one multiply as a function of its operands (weights then activations). */
export type LaneErrors = (w: readonly number[], a: readonly number[], out: Int32Array) => void;

const tables = new WeakMap<OverpackLayout, Map<DecodeMode, LaneErrors>>();

/** decoded − exact product per lane, for every operand tuple of the layout (cached per layout and mode). */
export function laneErrors(l: OverpackLayout, mode: DecodeMode): LaneErrors {
  let byMode = tables.get(l);
  if (!byMode) tables.set(l, (byMode = new Map()));
  const hit = byMode.get(mode);
  if (hit) return hit;
  const K = l.lanes.length;
  const m = DECODE_MODES.indexOf(mode);
  if (m < 0) throw new InputError(`decode must be one of ${DECODE_MODES.join(', ')}, got '${String(mode)}'`);
  if (mode === 'approx' && l.aSigned) throw new InputError(`${l.name}: the approximate correction needs unsigned activations`);
  const ev = fastEvaluator(l);
  const out = new Float64Array(DECODE_MODES.length * K);
  const direct: LaneErrors = (w, a, res) => {
    ev(w, a, out);
    for (let k = 0; k < K; k++) res[k] = out[m * K + k]! - w[l.lanes[k]!.w]! * a[l.lanes[k]!.a]!;
  };
  const wn = l.weightRange[1] - l.weightRange[0] + 1;
  const an = l.activationRange[1] - l.activationRange[0] + 1;
  const space = wn ** l.weights * an ** l.activations;
  let f = direct;
  if (space <= TABLE_LIMIT) {
    const [wlo, alo] = [l.weightRange[0], l.activationRange[0]];
    const table = new Int32Array(space * K);
    const w = new Array<number>(l.weights).fill(0);
    const a = new Array<number>(l.activations).fill(0);
    const res = new Int32Array(K);
    for (let idx = 0; idx < space; idx++) {
      let r = idx;
      for (let i = l.activations - 1; i >= 0; i--, r = Math.floor(r / an)) a[i] = alo + (r % an);
      for (let i = l.weights - 1; i >= 0; i--, r = Math.floor(r / wn)) w[i] = wlo + (r % wn);
      direct(w, a, res);
      table.set(res, idx * K);
    }
    f = (w, a, res) => {
      let idx = 0;
      for (let i = 0; i < l.weights; i++) idx = idx * wn + (w[i]! - wlo);
      for (let i = 0; i < l.activations; i++) idx = idx * an + (a[i]! - alo);
      for (let k = 0; k < K; k++) res[k] = table[idx * K + k]!;
    };
  }
  byMode.set(mode, f);
  return f;
}

/** int32 accumulators (bias included) of the convolution with every product an overpacked multiply decoded by `mode`. */
export function overpackAccumulators(p: ConvProblem, l: OverpackLayout, mode: DecodeMode): Int32Array {
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const off = overpackOffset(l);
  const taps = s.kH * s.kW;
  let wMin = 0;
  let wMax = 0;
  for (const w of p.weights) (wMin = Math.min(wMin, w)), (wMax = Math.max(wMax, w));
  let xMin = p.inputZeroPoint;
  let xMax = p.inputZeroPoint;
  for (const x of p.input) (xMin = Math.min(xMin, x)), (xMax = Math.max(xMax, x));
  const misfit = overpackMisfit(l, [wMin, wMax], [xMin, xMax]);
  if (misfit) throw new InputError(`${l.name}: ${misfit}`);
  const acc = Float64Array.from(referenceAccumulators(p));
  if (mode === 'exact') return Int32Array.from(acc); // exact by construction (checked in the tests)
  const err = laneErrors(l, mode);
  const N = l.weights;
  const M = l.activations;
  const K = l.lanes.length;
  const w = new Array<number>(N).fill(0);
  const a = new Array<number>(M).fill(0);
  const res = new Int32Array(K);
  const zpCode = p.inputZeroPoint + off;
  for (let oh = 0; oh < outH; oh++) {
    for (let ow0 = 0; ow0 < outW; ow0 += M) {
      for (let kh = 0; kh < s.kH; kh++) {
        const ih = oh * s.strideH + kh - s.padTop;
        for (let kw = 0; kw < s.kW; kw++) {
          const tap = kh * s.kW + kw;
          for (let c = 0; c < s.inC; c++) {
            for (let i = 0; i < M; i++) {
              const ow = ow0 + i;
              const iw = ow * s.strideW + kw - s.padLeft;
              if (ow >= outW) a[i] = 0; // an idle lane
              else if (ih < 0 || ih >= s.inH || iw < 0 || iw >= s.inW) a[i] = zpCode;
              else a[i] = p.input[(ih * s.inW + iw) * s.inC + c]! + off;
            }
            for (let oc0 = 0; oc0 < s.outC; oc0 += N) {
              for (let j = 0; j < N; j++) w[j] = oc0 + j < s.outC ? p.weights[((oc0 + j) * taps + tap) * s.inC + c]! : 0;
              err(w, a, res);
              for (let k = 0; k < K; k++) {
                const e = res[k]!;
                if (e === 0) continue;
                const lane = l.lanes[k]!;
                const oc = oc0 + lane.w;
                const ow = ow0 + lane.a;
                if (oc < s.outC && ow < outW) acc[(oh * outW + ow) * s.outC + oc] = acc[(oh * outW + ow) * s.outC + oc]! + e;
              }
            }
          }
        }
      }
    }
  }
  return Int32Array.from(acc, (v) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v)));
}

/** The convolution's output (int32 accumulators in `raw` mode, int8 codes otherwise) on overpacked multiplies. */
export function overpackConv(p: ConvProblem, l: OverpackLayout, mode: DecodeMode): Int32Array | Int8Array {
  const acc = overpackAccumulators(p, l, mode);
  const r = p.requant;
  const mode_ = r.mode;
  if (mode_ === 'raw') return acc;
  const outC = p.shape.outC;
  return Int8Array.from(acc, (v, i) =>
    requantize(v, { mode: mode_, scale: r.scale[i % outC]!, outputZeroPoint: r.outputZeroPoint, outputMin: r.outputMin, outputMax: r.outputMax }),
  );
}

/**
 * The accumulators the slow way, for the tests: every multiply through the BigInt slice model
 * (overpackP) and decodeOverpacked, the decoded lanes summed, then bias' = bias − (zp + offset)·Σw.
 */
export function overpackAccumulatorsSlow(p: ConvProblem, l: OverpackLayout, mode: DecodeMode): Int32Array {
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const off = overpackOffset(l);
  const taps = s.kH * s.kW;
  const sums = new Array<bigint>(outH * outW * s.outC).fill(0n);
  for (let oh = 0; oh < outH; oh++) {
    for (let ow0 = 0; ow0 < outW; ow0 += l.activations) {
      for (let tap = 0; tap < taps; tap++) {
        const kh = Math.floor(tap / s.kW);
        const kw = tap % s.kW;
        const ih = oh * s.strideH + kh - s.padTop;
        for (let c = 0; c < s.inC; c++) {
          const a = Array.from({ length: l.activations }, (_, i) => {
            const ow = ow0 + i;
            const iw = ow * s.strideW + kw - s.padLeft;
            if (ow >= outW) return 0;
            if (ih < 0 || ih >= s.inH || iw < 0 || iw >= s.inW) return p.inputZeroPoint + off;
            return p.input[(ih * s.inW + iw) * s.inC + c]! + off;
          });
          for (let oc0 = 0; oc0 < s.outC; oc0 += l.weights) {
            const w = Array.from({ length: l.weights }, (_, j) => (oc0 + j < s.outC ? p.weights[((oc0 + j) * taps + tap) * s.inC + c]! : 0));
            const got = decodeOverpacked(l, overpackP(l, w, a, mode === 'approx'), mode, mrCorrections(l, w, a));
            l.lanes.forEach((lane, k) => {
              const oc = oc0 + lane.w;
              const ow = ow0 + lane.a;
              if (oc < s.outC && ow < outW) sums[(oh * outW + ow) * s.outC + oc]! += got[k]!;
            });
          }
        }
      }
    }
  }
  const n = taps * s.inC;
  const biasFolded = Array.from(p.bias, (b, oc) => BigInt(b) - BigInt(p.inputZeroPoint + off) * BigInt(p.weights.slice(oc * n, (oc + 1) * n).reduce((x, y) => x + y, 0)));
  return Int32Array.from(sums, (v, i) => Number(v + biasFolded[i % s.outC]!));
}
