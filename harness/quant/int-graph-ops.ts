/**
 * The integer arithmetic of the nodes on int8 codes: a convolution split into its groups, and
 * every other node (pools, add, clamp, zeros, concat, flatten) in TypeScript.
 */
import { outputSize } from '../conv/layer.ts';
import { poolWindows } from '../model/float-infer.ts';
import { type TensorShape, nhwcToNchw, placeChannels, shapeSize } from '../model/graph.ts';
import { type QuantizedMultiplier, multiplyGemmlowp } from '../reference/requant.ts';
import type { GroupRun } from './int-graph-backends.ts';
import { ADD_LEFT_SHIFT, type IntAdd, type IntConv, type IntNode, type IntPool } from './int-graph-nodes.ts';

/** Channels [c0, c0 + n) of an NHWC tensor with c channels per pixel. */
function sliceChannels(x: Int8Array, pixels: number, c: number, c0: number, n: number): Int8Array {
  if (n === c) return x;
  const y = new Int8Array(pixels * n);
  for (let p = 0; p < pixels; p++) for (let j = 0; j < n; j++) y[p * n + j] = x[p * c + c0 + j]!; // plain loops, as placeChannels
  return y;
}

/** A convolution on NHWC codes: the dense problem, or each group on its channel slice. */
export function runConv(node: IntConv, input: Int8Array, run: GroupRun): Int8Array {
  if (node.groups === 1) return run(node, 0, input);
  const s = node.problem.shape;
  const { outH, outW } = outputSize(s);
  const inC = s.inC / node.groups;
  const outC = s.outC / node.groups;
  const y = new Int8Array(outH * outW * s.outC);
  for (let k = 0; k < node.groups; k++) {
    const part = run(node, k, sliceChannels(input, s.inH * s.inW, s.inC, k * inC, inC));
    placeChannels(y, part, outH * outW, s.outC, k * outC, outC);
  }
  return y;
}

function pool(node: IntPool, x: Int8Array, xs: TensorShape, ys: TensorShape): Int8Array {
  const area = node.kH * node.kW;
  const finish =
    node.op === 'maxpool'
      ? (acc: number) => acc
      : (acc: number, inside: number) => {
          // count_include_pad: a padded pixel holds the input's zero point (real value 0).
          if (!node.countIncludePad) return roundedDivide(acc, inside);
          return roundedDivide(acc + (area - inside) * node.zeroPoint, area);
        };
  return poolWindows(node, x, xs, ys, new Int8Array(shapeSize(ys)), finish);
}

/** round half away from zero(sum / n) for integers, n > 0: trunc((sum ± floor(n/2)) / n). */
export function roundedDivide(sum: number, n: number): number {
  const half = Math.floor(n / 2);
  return Math.trunc((sum >= 0 ? sum + half : sum - half) / n);
}

/**
 * MulQ((q - zeroPoint) * 2^ADD_LEFT_SHIFT, m) for every int8 code q (index q + 128). The exact
 * BigInt arithmetic of requant.ts is slow per element, and an int8 operand has only 256 values;
 * each table is computed once (adds and concats of one graph share quantizers).
 */
const codeTables = new Map<string, Int32Array>();
function codeTable(zeroPoint: number, m: QuantizedMultiplier): Int32Array {
  const key = `${zeroPoint} ${m.multiplier} ${m.shift}`;
  let t = codeTables.get(key);
  if (!t) codeTables.set(key, (t = Int32Array.from({ length: 256 }, (_, i) => multiplyGemmlowp((i - 128 - zeroPoint) * 2 ** ADD_LEFT_SHIFT, m))));
  return t;
}

/** Per add node: both operand tables, and the requantized output of each sum seen so far. */
const addCache = new WeakMap<IntAdd, { a: Int32Array; b: Int32Array; out: Map<number, number> }>();
function addTables(node: IntAdd): { a: Int32Array; b: Int32Array; out: Map<number, number> } {
  let t = addCache.get(node);
  if (!t) addCache.set(node, (t = { a: codeTable(node.zeroPointA, node.multiplierA), b: codeTable(node.zeroPointB, node.multiplierB), out: new Map() }));
  return t;
}

/** One non-convolution node on int8 codes. */
export function runOther(node: Exclude<IntNode, IntConv>, inputs: Int8Array[], inShapes: TensorShape[], outShape: TensorShape): Int8Array {
  const x = inputs[0]!;
  const xs = inShapes[0]!;
  switch (node.op) {
    case 'maxpool':
    case 'avgpool':
      return pool(node, x, xs, outShape);
    case 'globalavgpool': {
      const sums = new Float64Array(xs.c);
      for (let i = 0; i < x.length; i++) sums[i % xs.c]! += x[i]!;
      return Int8Array.from(sums, (s) => roundedDivide(s, xs.h * xs.w));
    }
    case 'add': {
      const b = inputs[1]!;
      const t = addTables(node);
      const y = new Int8Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const sum = t.a[x[i]! + 128]! + t.b[b[i]! + 128]!;
        let out = t.out.get(sum);
        if (out === undefined) {
          out = Math.min(node.outputMax, Math.max(node.outputMin, multiplyGemmlowp(sum, node.multiplierOut) + node.outputZeroPoint));
          t.out.set(sum, out);
        }
        y[i] = out;
      }
      return y;
    }
    case 'clamp':
      return Int8Array.from(x, (v) => Math.min(node.max, Math.max(node.min, v)));
    case 'zeros':
      return new Int8Array(shapeSize(outShape)).fill(node.code);
    case 'concat': {
      const y = new Int8Array(shapeSize(outShape));
      const pixels = outShape.h * outShape.w;
      let c0 = 0;
      inputs.forEach((t, k) => {
        const c = inShapes[k]!.c;
        const rq = node.requant[k];
        let codes = t;
        if (rq) {
          const table = codeTable(rq.zeroPoint, rq.multiplier).map((v) => Math.min(node.outputMax, Math.max(node.outputMin, v + node.outputZeroPoint)));
          codes = Int8Array.from(t, (q) => table[q + 128]!);
        }
        placeChannels(y, codes, pixels, outShape.c, c0, c);
        c0 += c;
      });
      return y;
    }
    case 'flatten':
      // The same permutation of the codes as in float (exact: int8 values in f32).
      return node.order === 'hwc' ? x.slice() : Int8Array.from(nhwcToNchw(x, xs));
  }
}
