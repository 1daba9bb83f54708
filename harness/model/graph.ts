/**
 * A CNN as a graph of float layers, the form every model takes after import
 * (harness/model/onnx-import.ts) and before quantization.
 *
 * Tensors are NHWC with N = 1, stored as Float32Array in [h][w][c] order:
 *
 *     index(y, x, c) = (y * w + x) * c_count + c
 *
 * A vector (the output of `flatten`, the input and output of a fully connected layer) is a
 * 1x1xK tensor. Convolution weights are OHWI: [outC][kH][kW][inC / groups], the layout of the
 * rest of the harness (harness/conv/layer.ts). A fully connected layer is a 1x1 convolution on
 * a 1x1 map, flagged `fc`.
 *
 * Nodes are listed in topological order: every input is the graph input or the output of an
 * earlier node. Every node writes exactly one tensor, named by `output`. `inferShapes` checks
 * all of this and is the one place that knows how each op changes a shape.
 */
import { InputError } from '../util/errors.ts';

export interface TensorShape {
  h: number;
  w: number;
  c: number;
}

/** Top, left, bottom, right: pixels of zeros (convolution, average pool) or of -inf (max pool). */
export interface Pads {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

interface NodeBase {
  /** The source model's node name (or a made-up one when it had none): error messages use it. */
  name: string;
  inputs: string[];
  output: string;
}

/**
 * y[oy][ox][o] = bias[o] + sum over ky, kx, i of
 *   x[oy*strideH + ky - pads.top][ox*strideW + kx - pads.left][g*inPerGroup + i] * weights[o][ky][kx][i]
 * with g = floor(o / (outC / groups)) and out-of-range pixels reading 0. Dilation is always 1.
 */
export interface ConvNode extends NodeBase {
  op: 'conv';
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  pads: Pads;
  /** 1: dense; inC: depthwise (with outC a multiple of inC). inC and outC are multiples of it. */
  groups: number;
  inC: number;
  outC: number;
  /** OHWI, outC * kH * kW * (inC / groups) values. */
  weights: Float32Array;
  /** outC values (zeros when the source had none). */
  bias: Float32Array;
  /** A fully connected layer (ONNX Gemm): kH = kW = 1 on a 1x1 map. */
  fc: boolean;
}

/** y = gamma * (x - mean) / sqrt(variance + epsilon) + beta, per channel. Folded away by fold.ts. */
export interface BatchNormNode extends NodeBase {
  op: 'batchnorm';
  gamma: Float32Array;
  beta: Float32Array;
  mean: Float32Array;
  variance: Float32Array;
  epsilon: number;
}

export interface ReluNode extends NodeBase {
  op: 'relu';
}

/** min(max(x, min), max): ReLU6 is clip(0, 6). */
export interface ClipNode extends NodeBase {
  op: 'clip';
  min: number;
  max: number;
}

/**
 * Max or average over a kH x kW window; output size floor((in + pads - k) / stride) + 1.
 * Average pool divides by the window area when `countIncludePad`, else by the in-image pixels.
 */
export interface PoolNode extends NodeBase {
  op: 'maxpool' | 'avgpool';
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  pads: Pads;
  countIncludePad: boolean;
}

/** Mean over all pixels: h x w x c -> 1 x 1 x c. */
export interface GlobalAvgPoolNode extends NodeBase {
  op: 'globalavgpool';
}

/** Elementwise sum of two tensors of the same shape (a residual connection). */
export interface AddNode extends NodeBase {
  op: 'add';
}

/** Channel concatenation of tensors of the same h and w, in input order. */
export interface ConcatNode extends NodeBase {
  op: 'concat';
}

/** A constant all-zero tensor (no inputs): the channel padding of a Concat (ONNX ConstantOfShape). */
export interface ZerosNode extends NodeBase {
  op: 'zeros';
  shape: TensorShape;
}

/**
 * h x w x c -> 1 x 1 x (h*w*c). `order` is the order of the vector's elements:
 *  - 'hwc': the NHWC storage order, a no-op on the data;
 *  - 'chw': index c*h*w + y*w + x, what ONNX Flatten of an NCHW tensor gives.
 * The importer writes 'hwc' whenever it can permute the following Gemm's weights instead.
 */
export interface FlattenNode extends NodeBase {
  op: 'flatten';
  order: 'hwc' | 'chw';
}

/** exp(x - max) / sum(exp(x - max)) over the channels of each pixel. */
export interface SoftmaxNode extends NodeBase {
  op: 'softmax';
}

export type GraphNode =
  | ConvNode
  | BatchNormNode
  | ReluNode
  | ClipNode
  | PoolNode
  | GlobalAvgPoolNode
  | AddNode
  | ConcatNode
  | ZerosNode
  | FlattenNode
  | SoftmaxNode;

export type OpType = GraphNode['op'];

/**
 * How a graph tensor maps to the source model's tensor of the same name:
 *  - 'nchw': ONNX [1, c, h, w], the usual ONNX layout; the data must be transposed;
 *  - 'nhwc': ONNX [1, h, w, c] (a TensorFlow export): the same order as ours;
 *  - 'flat': a vector (any ONNX dims whose product is c, h = w = 1), the same order.
 */
export type SourceLayout = 'nchw' | 'nhwc' | 'flat';

export interface GraphIO {
  /** The graph tensor. */
  name: string;
  /** The source model's name for it (a Transpose or Reshape output may alias a graph tensor). */
  sourceName: string;
  shape: TensorShape;
  sourceLayout: SourceLayout;
  /** The ONNX dims, batch included (a symbolic batch dimension reads 1). */
  sourceDims: number[];
}

export interface Graph {
  name: string;
  input: GraphIO;
  outputs: GraphIO[];
  nodes: GraphNode[];
}

export function shapeSize(s: TensorShape): number {
  return s.h * s.w * s.c;
}

export function formatShape(s: TensorShape): string {
  return `${s.h}x${s.w}x${s.c}`;
}

function sameShape(a: TensorShape, b: TensorShape): boolean {
  return a.h === b.h && a.w === b.w && a.c === b.c;
}

/** floor((in + padBefore + padAfter - k) / stride) + 1, or an InputError naming the node when < 1. */
export function windowOutput(node: GraphNode, axis: string, size: number, k: number, stride: number, padBefore: number, padAfter: number): number {
  const out = Math.floor((size + padBefore + padAfter - k) / stride) + 1;
  if (out < 1) throw new InputError(`node '${node.name}' (${node.op}): a ${k}-wide window with stride ${stride} does not fit ${axis} ${size} + pads ${padBefore}+${padAfter}`);
  return out;
}

function expectInputs(node: GraphNode, count: number): void {
  if (node.inputs.length !== count) throw new InputError(`node '${node.name}' (${node.op}) takes ${count} input(s), got ${node.inputs.length}`);
}

function expectChannels(node: GraphNode, what: string, got: number, want: number): void {
  if (got !== want) throw new InputError(`node '${node.name}' (${node.op}): ${what} has ${got} values, the input has ${want} channels`);
}

/** The output shape of one node, given the shapes of its inputs; InputError naming the node on any mismatch. */
export function nodeOutputShape(node: GraphNode, inputs: TensorShape[]): TensorShape {
  const first = (): TensorShape => inputs[0]!;
  switch (node.op) {
    case 'conv': {
      expectInputs(node, 1);
      const x = first();
      const g = node.groups;
      if (!Number.isInteger(g) || g < 1 || node.inC % g !== 0 || node.outC % g !== 0) {
        throw new InputError(`node '${node.name}' (conv): groups ${g} must divide inC ${node.inC} and outC ${node.outC}`);
      }
      if (x.c !== node.inC) throw new InputError(`node '${node.name}' (conv): weights expect ${node.inC} input channels, the input ${formatShape(x)} has ${x.c}`);
      const wantWeights = node.outC * node.kH * node.kW * (node.inC / g);
      if (node.weights.length !== wantWeights) throw new InputError(`node '${node.name}' (conv): ${node.weights.length} weights, expected ${wantWeights}`);
      if (node.bias.length !== node.outC) throw new InputError(`node '${node.name}' (conv): ${node.bias.length} biases, expected ${node.outC}`);
      if (node.fc && (x.h !== 1 || x.w !== 1 || node.kH !== 1 || node.kW !== 1)) {
        throw new InputError(`node '${node.name}' (fully connected): needs a 1x1 kernel on a vector, got ${node.kH}x${node.kW} on ${formatShape(x)}`);
      }
      return {
        h: windowOutput(node, 'height', x.h, node.kH, node.strideH, node.pads.top, node.pads.bottom),
        w: windowOutput(node, 'width', x.w, node.kW, node.strideW, node.pads.left, node.pads.right),
        c: node.outC,
      };
    }
    case 'batchnorm': {
      expectInputs(node, 1);
      const x = first();
      for (const [what, v] of [['gamma', node.gamma], ['beta', node.beta], ['mean', node.mean], ['variance', node.variance]] as const) {
        expectChannels(node, what, v.length, x.c);
      }
      return { ...x };
    }
    case 'relu':
    case 'clip':
    case 'softmax':
      expectInputs(node, 1);
      return { ...first() };
    case 'maxpool':
    case 'avgpool': {
      expectInputs(node, 1);
      const x = first();
      if (node.pads.top >= node.kH || node.pads.bottom >= node.kH || node.pads.left >= node.kW || node.pads.right >= node.kW) {
        throw new InputError(`node '${node.name}' (${node.op}): pads must be smaller than the ${node.kH}x${node.kW} window`);
      }
      return {
        h: windowOutput(node, 'height', x.h, node.kH, node.strideH, node.pads.top, node.pads.bottom),
        w: windowOutput(node, 'width', x.w, node.kW, node.strideW, node.pads.left, node.pads.right),
        c: x.c,
      };
    }
    case 'globalavgpool':
      expectInputs(node, 1);
      return { h: 1, w: 1, c: first().c };
    case 'add': {
      expectInputs(node, 2);
      const [a, b] = [inputs[0]!, inputs[1]!];
      if (!sameShape(a, b)) throw new InputError(`node '${node.name}' (add): input shapes differ, ${formatShape(a)} vs ${formatShape(b)}`);
      return { ...a };
    }
    case 'concat': {
      if (inputs.length < 1) throw new InputError(`node '${node.name}' (concat) has no inputs`);
      const a = first();
      let c = 0;
      for (const s of inputs) {
        if (s.h !== a.h || s.w !== a.w) throw new InputError(`node '${node.name}' (concat): spatial sizes differ, ${formatShape(a)} vs ${formatShape(s)}`);
        c += s.c;
      }
      return { h: a.h, w: a.w, c };
    }
    case 'zeros':
      expectInputs(node, 0);
      return { ...node.shape };
    case 'flatten':
      expectInputs(node, 1);
      return { h: 1, w: 1, c: shapeSize(first()) };
  }
}

/**
 * Shapes of every tensor, in graph order, after checking that the graph is well formed:
 * inputs defined before use, one producer per tensor, outputs present, shapes consistent.
 */
export function inferShapes(graph: Graph): Map<string, TensorShape> {
  const shapes = new Map<string, TensorShape>([[graph.input.name, { ...graph.input.shape }]]);
  for (const node of graph.nodes) {
    const ins = node.inputs.map((name) => {
      const s = shapes.get(name);
      if (!s) throw new InputError(`node '${node.name}' (${node.op}) reads '${name}', which no earlier node writes`);
      return s;
    });
    if (shapes.has(node.output)) throw new InputError(`node '${node.name}' (${node.op}) writes '${node.output}', which is already defined`);
    shapes.set(node.output, nodeOutputShape(node, ins));
  }
  for (const out of graph.outputs) {
    const s = shapes.get(out.name);
    if (!s) throw new InputError(`graph output '${out.name}' is not computed by any node`);
    if (!sameShape(s, out.shape)) throw new InputError(`graph output '${out.name}': declared ${formatShape(out.shape)}, computed ${formatShape(s)}`);
  }
  return shapes;
}

/** How many nodes read each tensor (graph outputs count as a reader). */
export function consumerCounts(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  const bump = (name: string): void => void counts.set(name, (counts.get(name) ?? 0) + 1);
  for (const node of graph.nodes) for (const name of node.inputs) bump(name);
  for (const out of graph.outputs) bump(out.name);
  return counts;
}

/** Number of nodes of each op, e.g. for a summary line. */
export function opCounts(graph: Graph): Map<OpType, number> {
  const counts = new Map<OpType, number>();
  for (const node of graph.nodes) counts.set(node.op, (counts.get(node.op) ?? 0) + 1);
  return counts;
}

/** Multiply-accumulates of the convolutions (fully connected layers included). */
export function graphMacs(graph: Graph): number {
  const shapes = inferShapes(graph);
  let macs = 0;
  for (const node of graph.nodes) {
    if (node.op !== 'conv') continue;
    const out = shapes.get(node.output)!;
    macs += out.h * out.w * node.outC * node.kH * node.kW * (node.inC / node.groups);
  }
  return macs;
}

/** NCHW [c][h][w] -> NHWC [h][w][c]. */
export function nchwToNhwc(src: ArrayLike<number>, s: TensorShape): Float32Array {
  if (src.length !== shapeSize(s)) throw new InputError(`expected ${shapeSize(s)} values for ${formatShape(s)}, got ${src.length}`);
  const dst = new Float32Array(src.length);
  for (let c = 0; c < s.c; c++)
    for (let y = 0; y < s.h; y++)
      for (let x = 0; x < s.w; x++) dst[(y * s.w + x) * s.c + c] = src[(c * s.h + y) * s.w + x]!;
  return dst;
}

/** NHWC [h][w][c] -> NCHW [c][h][w]. */
export function nhwcToNchw(src: ArrayLike<number>, s: TensorShape): Float32Array {
  if (src.length !== shapeSize(s)) throw new InputError(`expected ${shapeSize(s)} values for ${formatShape(s)}, got ${src.length}`);
  const dst = new Float32Array(src.length);
  for (let c = 0; c < s.c; c++)
    for (let y = 0; y < s.h; y++)
      for (let x = 0; x < s.w; x++) dst[(c * s.h + y) * s.w + x] = src[(y * s.w + x) * s.c + c]!;
  return dst;
}

/** Writes `part` (n channels per pixel) into channels [c0, c0 + n) of `y` (c per pixel): a concat's or a group's slice. */
export function placeChannels(y: { [i: number]: number }, part: ArrayLike<number>, pixels: number, c: number, c0: number, n: number): void {
  // Plain loops: a depthwise group is one channel, where subarray+set per pixel costs far more.
  for (let p = 0; p < pixels; p++) for (let j = 0; j < n; j++) y[p * c + c0 + j] = part[p * n + j]!;
}

/** Data in the source model's layout (what onnxruntime takes or returns) -> graph NHWC. */
export function fromSourceLayout(io: GraphIO, data: ArrayLike<number>): Float32Array {
  return io.sourceLayout === 'nchw' ? nchwToNhwc(data, io.shape) : Float32Array.from(data);
}

/** Graph NHWC data -> the source model's layout. */
export function toSourceLayout(io: GraphIO, data: ArrayLike<number>): Float32Array {
  return io.sourceLayout === 'nchw' ? nhwcToNchw(data, io.shape) : Float32Array.from(data);
}
