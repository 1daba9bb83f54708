/**
 * The float reference: a graph (harness/model/graph.ts) run with plain loops, one node at a
 * time, NHWC. Clarity first; it is the float baseline quantized inference is measured against.
 * Two concessions to speed, both in `conv` and neither changing a sum: the weights are repacked
 * once per node so the innermost loop runs over output channels, and zero inputs are skipped.
 *
 * Numerics: tensors are float32 (every node's output is stored in a Float32Array, so rounded
 * to f32 once per element), while sums (convolution, average pooling, softmax) accumulate in
 * float64, JavaScript's number. A float64 sum of at most a few thousand f32 products is exact to
 * far below f32 resolution, so the result is the correctly rounded f32 of the ideal sum up to
 * ~1 ulp and does not depend on the summation order. PyTorch and onnxruntime accumulate in f32
 * in their own orders; they differ from this and from each other by a few ulp of the largest
 * partial sums, which is what the tests' tolerances cover.
 */
import { type ConvNode, type Graph, type GraphNode, type PoolNode, type TensorShape, formatShape, inferShapes, nhwcToNchw, placeChannels, shapeSize } from './graph.ts';
import { InputError } from '../util/errors.ts';

export type Tensors = Map<string, Float32Array>;

/**
 * The weights of group g as [ky][kx][i][o] (o within the group), so the innermost loop of
 * `conv` runs over output channels with unit stride in both the weights and the accumulators.
 * Computed once per node.
 */
const repacked = new WeakMap<ConvNode, Float32Array>();
function weightsHWIO(node: ConvNode): Float32Array {
  let w = repacked.get(node);
  if (w) return w;
  const inPerGroup = node.inC / node.groups;
  const outPerGroup = node.outC / node.groups;
  w = new Float32Array(node.weights.length);
  for (let o = 0; o < node.outC; o++) {
    const g = Math.floor(o / outPerGroup);
    const og = o % outPerGroup;
    for (let ky = 0; ky < node.kH; ky++)
      for (let kx = 0; kx < node.kW; kx++)
        for (let i = 0; i < inPerGroup; i++) {
          const dst = (((g * node.kH + ky) * node.kW + kx) * inPerGroup + i) * outPerGroup + og;
          w[dst] = node.weights[((o * node.kH + ky) * node.kW + kx) * inPerGroup + i]!;
        }
  }
  repacked.set(node, w);
  return w;
}

/**
 * For each output pixel and group: acc[o] = bias[o], then for every tap (ky, kx) inside the
 * image and every input channel i of the group, acc[o] += x[iy][ix][i] * w[ky][kx][i][o].
 */
function conv(node: ConvNode, x: Float32Array, xs: TensorShape, ys: TensorShape): Float32Array {
  const y = new Float32Array(shapeSize(ys));
  const inPerGroup = node.inC / node.groups;
  const outPerGroup = node.outC / node.groups;
  const { kH, kW, strideH, strideW, pads, bias } = node;
  const w = weightsHWIO(node);
  const acc = new Float64Array(outPerGroup);
  for (let oy = 0; oy < ys.h; oy++) {
    for (let ox = 0; ox < ys.w; ox++) {
      for (let g = 0; g < node.groups; g++) {
        for (let o = 0; o < outPerGroup; o++) acc[o] = bias[g * outPerGroup + o]!;
        for (let ky = 0; ky < kH; ky++) {
          const iy = oy * strideH + ky - pads.top;
          if (iy < 0 || iy >= xs.h) continue;
          for (let kx = 0; kx < kW; kx++) {
            const ix = ox * strideW + kx - pads.left;
            if (ix < 0 || ix >= xs.w) continue;
            const xOff = (iy * xs.w + ix) * xs.c + g * inPerGroup;
            const wOff = ((g * kH + ky) * kW + kx) * inPerGroup * outPerGroup;
            for (let i = 0; i < inPerGroup; i++) {
              const v = x[xOff + i]!;
              if (v === 0) continue; // after a ReLU, about half the inputs: skipping them changes no sum
              const row = wOff + i * outPerGroup;
              for (let o = 0; o < outPerGroup; o++) acc[o]! += v * w[row + o]!;
            }
          }
        }
        const yOff = (oy * ys.w + ox) * ys.c + g * outPerGroup;
        for (let o = 0; o < outPerGroup; o++) y[yOff + o] = acc[o]!;
      }
    }
  }
  return y;
}

/** The window geometry a max or average pool shares between the float and the integer graph. */
export type PoolWindow = Pick<PoolNode, 'op' | 'kH' | 'kW' | 'strideH' | 'strideW' | 'pads'>;

/**
 * Pools NHWC `x` into `y`: for every output, the max (maxpool) or the sum (avgpool) of the
 * window's in-image inputs and how many there were go through `finish`, whose result is stored.
 */
export function poolWindows<Y extends { [i: number]: number }>(node: PoolWindow, x: ArrayLike<number>, xs: TensorShape, ys: TensorShape, y: Y, finish: (acc: number, inside: number) => number): Y {
  const isMax = node.op === 'maxpool';
  for (let oy = 0; oy < ys.h; oy++) {
    for (let ox = 0; ox < ys.w; ox++) {
      for (let c = 0; c < ys.c; c++) {
        let acc = isMax ? -Infinity : 0;
        let inside = 0;
        for (let ky = 0; ky < node.kH; ky++) {
          const iy = oy * node.strideH + ky - node.pads.top;
          if (iy < 0 || iy >= xs.h) continue;
          for (let kx = 0; kx < node.kW; kx++) {
            const ix = ox * node.strideW + kx - node.pads.left;
            if (ix < 0 || ix >= xs.w) continue;
            const v = x[(iy * xs.w + ix) * xs.c + c]!;
            acc = isMax ? Math.max(acc, v) : acc + v;
            inside++;
          }
        }
        y[(oy * ys.w + ox) * ys.c + c] = finish(acc, inside);
      }
    }
  }
  return y;
}

function pool(node: PoolNode, x: Float32Array, xs: TensorShape, ys: TensorShape): Float32Array {
  // ONNX AveragePool: padded pixels count only with count_include_pad (the window is
  // clipped to the padded image, which `windowOutput` keeps inside for floor mode).
  const area = node.kH * node.kW;
  const finish = node.op === 'maxpool' ? (acc: number) => acc : (acc: number, inside: number) => acc / (node.countIncludePad ? area : inside);
  return poolWindows(node, x, xs, ys, new Float32Array(shapeSize(ys)), finish);
}

/** Runs one node on its input tensors. */
export function runNode(node: GraphNode, inputs: Float32Array[], inShapes: TensorShape[], outShape: TensorShape): Float32Array {
  const x = inputs[0]!;
  const xs = inShapes[0]!;
  switch (node.op) {
    case 'conv':
      return conv(node, x, xs, outShape);
    case 'batchnorm': {
      const y = new Float32Array(x.length);
      const scale = Array.from(node.gamma, (g, c) => g / Math.sqrt(node.variance[c]! + node.epsilon));
      for (let i = 0; i < x.length; i++) {
        const c = i % xs.c;
        y[i] = (x[i]! - node.mean[c]!) * scale[c]! + node.beta[c]!;
      }
      return y;
    }
    case 'relu': {
      const y = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = x[i]! > 0 ? x[i]! : 0;
      return y;
    }
    case 'clip': {
      const y = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = Math.min(Math.max(x[i]!, node.min), node.max);
      return y;
    }
    case 'maxpool':
    case 'avgpool':
      return pool(node, x, xs, outShape);
    case 'globalavgpool': {
      const y = new Float32Array(xs.c);
      const sums = new Float64Array(xs.c);
      for (let i = 0; i < x.length; i++) sums[i % xs.c]! += x[i]!;
      for (let c = 0; c < xs.c; c++) y[c] = sums[c]! / (xs.h * xs.w);
      return y;
    }
    case 'add': {
      const b = inputs[1]!;
      const y = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) y[i] = x[i]! + b[i]!;
      return y;
    }
    case 'concat': {
      const y = new Float32Array(shapeSize(outShape));
      let c0 = 0;
      inputs.forEach((t, k) => {
        placeChannels(y, t, outShape.h * outShape.w, outShape.c, c0, inShapes[k]!.c);
        c0 += inShapes[k]!.c;
      });
      return y;
    }
    case 'zeros':
      return new Float32Array(shapeSize(outShape));
    case 'flatten':
      // 'chw' is the NCHW order of the same values.
      return node.order === 'hwc' ? x.slice() : nhwcToNchw(x, xs);
    case 'softmax': {
      const y = new Float32Array(x.length);
      for (let p = 0; p < x.length; p += xs.c) {
        const row = x.subarray(p, p + xs.c);
        const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
        const exps = Array.from(row, (v) => Math.exp(v - max));
        const sum = exps.reduce((s, v) => s + v, 0);
        exps.forEach((e, c) => (y[p + c] = e / sum));
      }
      return y;
    }
  }
}

export interface RunOptions {
  /** Keep every intermediate tensor in the result, not only the graph outputs. @default false */
  keepAll?: boolean;
}

/**
 * Runs the graph on one NHWC input (`graph.input.shape`); returns the graph outputs (NHWC, by
 * name), or every tensor with `keepAll`. `shapes` may be passed to skip shape inference when
 * the same graph runs many times.
 */
export function runGraph(graph: Graph, input: Float32Array, options: RunOptions = {}, shapes = inferShapes(graph)): Tensors {
  const want = shapeSize(graph.input.shape);
  if (input.length !== want) throw new InputError(`input '${graph.input.name}' must have ${want} values (${formatShape(graph.input.shape)}), got ${input.length}`);
  const tensors: Tensors = new Map([[graph.input.name, input]]);
  // Free each tensor after its last reader unless it is kept.
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.inputs.forEach((name) => lastUse.set(name, i)));
  const outputs = new Set(graph.outputs.map((o) => o.name));
  graph.nodes.forEach((node, i) => {
    const inputs = node.inputs.map((name) => tensors.get(name)!);
    const inShapes = node.inputs.map((name) => shapes.get(name)!);
    tensors.set(node.output, runNode(node, inputs, inShapes, shapes.get(node.output)!));
    if (options.keepAll) return;
    for (const name of node.inputs) if (lastUse.get(name) === i && !outputs.has(name)) tensors.delete(name);
  });
  if (options.keepAll) return tensors;
  return new Map(graph.outputs.map((o) => [o.name, tensors.get(o.name)!]));
}

/** Index of the largest value (the first one on ties), as argmax does in PyTorch and numpy. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
