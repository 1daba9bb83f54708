/**
 * The reference split convolution: the oracle for every kernel variant. Clarity first.
 *
 * A KxK convolution is computed as K² channel-wise vector inner products (one per kernel tap:
 * for every output pixel and output channel, the dot product over input channels of the
 * shifted input pixel with that tap's weights), followed by pixel-wise accumulation of the
 * K² partial-sum maps into the output. Padded taps read the input zero point, i.e. contribute
 * nothing after the offset is subtracted.
 */
import { type ConvProblem, outputSize } from '../conv/layer.ts';
import { requantize } from './requant.ts';

/** The partial-sum map of one kernel tap: [outH][outW][outC]. */
export function tapInnerProducts(p: ConvProblem, kh: number, kw: number): Float64Array {
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const partial = new Float64Array(outH * outW * s.outC);
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const ih = oh * s.strideH + kh - s.padTop;
      const iw = ow * s.strideW + kw - s.padLeft;
      const inside = ih >= 0 && ih < s.inH && iw >= 0 && iw < s.inW;
      if (!inside) continue;
      for (let oc = 0; oc < s.outC; oc++) {
        let dot = 0;
        for (let c = 0; c < s.inC; c++) {
          const x = p.input[(ih * s.inW + iw) * s.inC + c]! - p.inputZeroPoint;
          const w = p.weights[((oc * s.kH + kh) * s.kW + kw) * s.inC + c]!;
          dot += x * w;
        }
        partial[(oh * outW + ow) * s.outC + oc] = dot;
      }
    }
  }
  return partial;
}

/** int32 accumulators, bias included: [outH][outW][outC]. */
export function referenceAccumulators(p: ConvProblem): Int32Array {
  const s = p.shape;
  const { outH, outW } = outputSize(s);
  const acc = new Float64Array(outH * outW * s.outC);
  for (let i = 0; i < acc.length; i++) acc[i] = p.bias[i % s.outC]!;
  for (let kh = 0; kh < s.kH; kh++) {
    for (let kw = 0; kw < s.kW; kw++) {
      const partial = tapInnerProducts(p, kh, kw);
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + partial[i]!;
    }
  }
  // validateProblem bounds the reduction so every sum is an exact int32.
  return Int32Array.from(acc);
}

/** The convolution's output: int32 accumulators in `raw` mode, int8 otherwise. */
export function referenceConv(p: ConvProblem): Int32Array | Int8Array {
  const acc = referenceAccumulators(p);
  const r = p.requant;
  if (r.mode === 'raw') return acc;
  const outC = p.shape.outC;
  const out = new Int8Array(acc.length);
  for (let i = 0; i < acc.length; i++) {
    const oc = i % outC;
    out[i] = requantize(acc[i]!, {
      mode: r.mode,
      scale: r.scale[oc]!,
      outputZeroPoint: r.outputZeroPoint,
      outputMin: r.outputMin,
      outputMax: r.outputMax,
    });
  }
  return out;
}
