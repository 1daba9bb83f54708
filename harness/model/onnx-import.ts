/**
 * ONNX -> graph (harness/model/graph.ts): float32 CNNs as PyTorch's torch.onnx.export and
 * tf2onnx write them, batch size 1.
 *
 * Supported ops (default domain) and what they become:
 *
 *   Conv                 conv (groups incl. depthwise; any pads and strides; dilations 1;
 *                        auto_pad NOTSET, VALID, SAME_UPPER, SAME_LOWER)
 *   BatchNormalization   batchnorm (inference form; fold.ts folds it into the preceding conv)
 *   Relu, Clip           relu, clip (Clip's bounds from attributes (opset < 11) or constant inputs)
 *   MaxPool, AveragePool maxpool, avgpool (ceil_mode 0, dilations 1, one output)
 *   GlobalAveragePool    globalavgpool
 *   Add                  add (two tensors of the same shape: a residual connection)
 *   Concat               concat, along the channel axis only
 *   ConstantOfShape      zeros, only as the zero channels a Concat appends (tf2onnx's channel Pad)
 *   Flatten, Reshape     flatten to a vector (a Reshape whose output keeps the batch dim first);
 *                        a Reshape that changes nothing, or makes a channel vector [1,C,1,1], is
 *                        an alias
 *   Transpose            only between NCHW and NHWC (perm [0,2,3,1] or [0,3,1,2]): no data moves
 *   Gemm                 conv with fc = true (transA 0; alpha and beta folded into weights and bias)
 *   Softmax              softmax, over the channel axis
 *
 * Anything else is an InputError naming the op type and the node; so is a shape that does not
 * fit (naming the node) and a file that does not decode (naming the file).
 *
 * Layouts. Every ONNX tensor the importer meets is one of
 *  - spatial, NCHW [1,C,H,W] (ONNX's own convention, what Conv and the pools take),
 *  - spatial, NHWC [1,H,W,C] (a TensorFlow graph between its Transposes),
 *  - a vector (any dims, batch first, product K), stored as a 1x1xK graph tensor.
 * All of them are stored NHWC in the graph; the NCHW/NHWC Transposes only relabel. The graph
 * input is NCHW unless every reader of it is a Transpose [0,3,1,2] (then NHWC).
 *
 * Flatten of an NCHW tensor orders the vector c, y, x. When every reader of that vector is a
 * Gemm, the importer permutes the Gemm's weight columns to the y, x, c order instead and the
 * flatten moves no data (order 'hwc'); otherwise the flatten node reorders (order 'chw').
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import {
  type ConvNode,
  type Graph,
  type GraphIO,
  type GraphNode,
  type Pads,
  type SourceLayout,
  type TensorShape,
  formatShape,
  inferShapes,
  nodeOutputShape,
} from './graph.ts';
import { InputError } from '../util/errors.ts';

const { onnx } = onnxProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IAttribute = onnxProto.onnx.IAttributeProto;
const DT = onnx.TensorProto.DataType;

/** protobufjs types every field as optional; these are the decoded messages with defaults filled in. */
interface INode {
  name: string;
  opType: string;
  domain: string;
  input: string[];
  output: string[];
  attribute: IAttribute[];
}
interface IValueInfo {
  name: string;
  type: onnxProto.onnx.ITypeProto | null;
}
interface IGraph {
  name: string;
  node: INode[];
  initializer: Array<ITensor & { name: string }>;
  input: IValueInfo[];
  output: IValueInfo[];
}

function normalizeGraph(g: onnxProto.onnx.IGraphProto): IGraph {
  const info = (v: onnxProto.onnx.IValueInfoProto): IValueInfo => ({ name: v.name ?? '', type: v.type ?? null });
  return {
    name: g.name ?? '',
    node: (g.node ?? []).map((n) => ({
      name: n.name ?? '', opType: n.opType ?? '', domain: n.domain ?? '',
      input: [...(n.input ?? [])], output: [...(n.output ?? [])], attribute: [...(n.attribute ?? [])],
    })),
    initializer: (g.initializer ?? []).map((t) => Object.assign(t, { name: t.name ?? '' })),
    input: (g.input ?? []).map(info),
    output: (g.output ?? []).map(info),
  };
}

export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Add',
  'Concat', 'ConstantOfShape', 'Flatten', 'Reshape', 'Transpose', 'Gemm', 'Softmax',
] as const;

/** A constant: an initializer, or a shape/value a ConstantOfShape, Reshape or Clip reads. */
interface Constant {
  dims: number[];
  /** Float tensors as f32, integer tensors as exact numbers (int64 within 2^53). */
  data: Float32Array | number[];
}

type Value =
  | { kind: 'const'; constant: Constant }
  /** A ConstantOfShape output: becomes a zeros node when a Concat reads it. */
  | { kind: 'zeros'; dims: number[] }
  | {
      kind: 'tensor';
      /** The graph tensor holding the data. */
      name: string;
      shape: TensorShape;
      layout: SourceLayout;
      /** ONNX dims with batch 1. */
      dims: number[];
      /**
       * Set on a vector whose ONNX order is c, y, x over this shape while it is stored y, x, c:
       * only Gemm reads it, permuting its weight columns.
       */
      chwOf?: TensorShape;
    };
type TensorValue = Extract<Value, { kind: 'tensor' }>;

/** int64 fields decode as Long objects when long.js is installed: exact numbers or an error. */
function toInt(v: number | { toNumber(): number } | null | undefined, what: string): number {
  const n = typeof v === 'number' ? v : v == null ? 0 : v.toNumber();
  if (!Number.isSafeInteger(n)) throw new InputError(`${what}: ${String(v)} is not an exact integer`);
  return n;
}

function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Decodes an initializer or attribute tensor: FLOAT, INT64, INT32, from raw_data or the typed field. */
function readConstant(t: ITensor, what: string): Constant {
  const dims = (t.dims ?? []).map((d) => toInt(d, `${what} dims`));
  const count = product(dims);
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) throw new InputError(`${what}: external tensor data is not supported`);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : null;
  const checkCount = (n: number): void => {
    if (n !== count) throw new InputError(`${what}: dims [${dims.join(',')}] need ${count} values, the tensor has ${n}`);
  };
  switch (t.dataType) {
    case DT.FLOAT: {
      if (view) {
        checkCount(view.byteLength / 4);
        return { dims, data: Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true)) };
      }
      checkCount(t.floatData?.length ?? 0);
      return { dims, data: Float32Array.from(t.floatData ?? []) };
    }
    case DT.INT64: {
      if (view) {
        checkCount(view.byteLength / 8);
        return { dims, data: Array.from({ length: count }, (_, i) => toInt(Number(view.getBigInt64(i * 8, true)), what)) };
      }
      checkCount(t.int64Data?.length ?? 0);
      return { dims, data: (t.int64Data ?? []).map((v) => toInt(v, what)) };
    }
    case DT.INT32: {
      if (view) {
        checkCount(view.byteLength / 4);
        return { dims, data: Array.from({ length: count }, (_, i) => view.getInt32(i * 4, true)) };
      }
      checkCount(t.int32Data?.length ?? 0);
      return { dims, data: [...(t.int32Data ?? [])] };
    }
    default: {
      const type = onnx.TensorProto.DataType[t.dataType ?? 0] ?? String(t.dataType);
      throw new InputError(`${what}: element type ${type} is not supported (float32, int64, int32 only)`);
    }
  }
}

/** ONNX OIHW -> graph OHWI. */
function oihwToOhwi(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < i; c++) out[((a * kh + y) * kw + x) * i + c] = w[((a * i + c) * kh + y) * kw + x]!;
  return out;
}

function valueInfoDims(v: IValueInfo): Array<number | null> | null {
  const shape = v.type?.tensorType?.shape;
  if (!shape) return null;
  return (shape.dim ?? []).map((d) => (d.dimValue != null && d.dimParam == null ? toInt(d.dimValue, `'${v.name}' dims`) : null));
}

/** The state of one import: values by ONNX name, the nodes emitted so far and their shapes. */
class Importer {
  readonly values = new Map<string, Value>();
  readonly nodes: GraphNode[] = [];
  readonly shapes = new Map<string, TensorShape>();
  /** ONNX value name -> the op types of the nodes that read it ('' for a graph output). */
  readonly readers = new Map<string, string[]>();
  private readonly opset: number;
  private usedNames = new Set<string>();

  constructor(private readonly model: onnxProto.onnx.ModelProto) {
    const op = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
    this.opset = op ? toInt(op.version, 'opset version') : 13;
  }

  run(name: string): Graph {
    if (!this.model.graph) throw new InputError('the model has no graph');
    const g = normalizeGraph(this.model.graph);
    for (const t of g.initializer) this.values.set(t.name, { kind: 'const', constant: readConstant(t, `initializer '${t.name}'`) });
    for (const n of g.node) for (const i of n.input) if (i) this.readers.set(i, [...(this.readers.get(i) ?? []), n.opType]);
    for (const o of g.output) this.readers.set(o.name, [...(this.readers.get(o.name) ?? []), '']);

    const input = this.defineInput(g.input, g.node);
    g.node.forEach((n, index) => this.importNode(n, index));
    const outputs = g.output.map((o) => this.defineOutput(o));
    const graph: Graph = { name: g.name || name, input, outputs, nodes: this.nodes };
    inferShapes(graph); // the same checks once more, over the finished graph
    return graph;
  }

  private defineInput(inputs: IValueInfo[], nodes: INode[]): GraphIO {
    const real = inputs.filter((i) => !this.values.has(i.name));
    if (real.length !== 1) throw new InputError(`the graph must have exactly one input, found ${real.length} (${real.map((i) => i.name).join(', ')})`);
    const v = real[0]!;
    if (v.type?.tensorType?.elemType !== DT.FLOAT) throw new InputError(`graph input '${v.name}' must be float32`);
    const dims = valueInfoDims(v);
    if (!dims || dims.length < 2) throw new InputError(`graph input '${v.name}' needs a known shape [N,C,H,W] or [N,K]`);
    const rest = dims.slice(1);
    if (dims[0] !== null && dims[0] !== 1) throw new InputError(`graph input '${v.name}': batch size ${dims[0]} (only 1 is supported)`);
    if (rest.some((d) => d === null || d < 1)) throw new InputError(`graph input '${v.name}': dims [${dims.join(',')}] must be known (only the batch may be symbolic)`);
    const known = [1, ...(rest as number[])];
    let shape: TensorShape;
    let layout: SourceLayout;
    if (known.length === 4) {
      const readers = nodes.filter((n) => n.input.includes(v.name));
      const nhwc = readers.length > 0 && readers.every((n) => n.opType === 'Transpose' && sameInts(this.ints(n, 'perm', []), [0, 3, 1, 2]));
      layout = nhwc ? 'nhwc' : 'nchw';
      shape = nhwc ? { h: known[1]!, w: known[2]!, c: known[3]! } : { h: known[2]!, w: known[3]!, c: known[1]! };
    } else {
      layout = 'flat';
      shape = { h: 1, w: 1, c: product(known) };
    }
    this.values.set(v.name, { kind: 'tensor', name: v.name, shape, layout, dims: known });
    this.shapes.set(v.name, shape);
    this.usedNames.add(v.name);
    return { name: v.name, sourceName: v.name, shape, sourceLayout: layout, sourceDims: known };
  }

  private defineOutput(o: IValueInfo): GraphIO {
    const v = this.values.get(o.name);
    if (!v || v.kind !== 'tensor') throw new InputError(`graph output '${o.name}' is not a computed tensor`);
    const declared = valueInfoDims(o);
    if (declared && declared.length === v.dims.length) {
      declared.forEach((d, i) => {
        if (i > 0 && d !== null && d !== v.dims[i]) {
          throw new InputError(`graph output '${o.name}': declared [${declared.join(',')}], computed [${v.dims.join(',')}]`);
        }
      });
    }
    if (v.chwOf) throw new Error(`graph output '${o.name}' has Gemm-permuted order (importer bug)`);
    return { name: v.name, sourceName: o.name, shape: v.shape, sourceLayout: v.layout, sourceDims: v.dims };
  }

  // --- attributes and inputs -------------------------------------------------------------

  private attr(n: INode, name: string): IAttribute | undefined {
    return n.attribute?.find((a) => a.name === name);
  }

  private ints(n: INode, name: string, dflt: number[]): number[] {
    const a = this.attr(n, name);
    return a ? (a.ints ?? []).map((v) => toInt(v, `attribute ${name}`)) : dflt;
  }

  private int(n: INode, name: string, dflt: number): number {
    const a = this.attr(n, name);
    return a ? toInt(a.i, `attribute ${name}`) : dflt;
  }

  private float(n: INode, name: string, dflt: number): number {
    const a = this.attr(n, name);
    return a ? (a.f ?? 0) : dflt;
  }

  private str(n: INode, name: string, dflt: string): string {
    const a = this.attr(n, name);
    return a?.s ? new TextDecoder().decode(a.s) : dflt;
  }

  private tensorInput(n: INode, label: string, index: number): TensorValue {
    const name = n.input[index];
    const v = name ? this.values.get(name) : undefined;
    if (!v) throw new InputError(`${label}: input ${index} '${name ?? ''}' is not defined by an earlier node or initializer`);
    if (v.kind !== 'tensor') throw new InputError(`${label}: input ${index} '${name}' must be a computed tensor, not a constant`);
    return v;
  }

  private constInput(n: INode, label: string, index: number, optional: true): Constant | undefined;
  private constInput(n: INode, label: string, index: number, optional?: false): Constant;
  private constInput(n: INode, label: string, index: number, optional = false): Constant | undefined {
    const name = n.input[index];
    if (!name) {
      if (optional) return undefined;
      throw new InputError(`${label}: input ${index} is missing`);
    }
    const v = this.values.get(name);
    if (!v) throw new InputError(`${label}: input ${index} '${name}' is not defined`);
    if (v.kind !== 'const') throw new InputError(`${label}: input ${index} '${name}' must be a constant (an initializer)`);
    return v.constant;
  }

  private floats(c: Constant, label: string, what: string, count: number): Float32Array {
    if (!(c.data instanceof Float32Array)) throw new InputError(`${label}: ${what} must be float32`);
    if (c.data.length !== count) throw new InputError(`${label}: ${what} has ${c.data.length} values, expected ${count}`);
    return c.data;
  }

  private requireSpatialNchw(v: TensorValue, label: string): void {
    if (v.layout !== 'nchw') throw new InputError(`${label}: needs an NCHW [1,C,H,W] input, got [${v.dims.join(',')}] (${v.layout})`);
  }

  /** Graph tensor names are the ONNX ones; a made-up name never collides with them. */
  private freshName(base: string): string {
    let name = base;
    for (let k = 1; this.usedNames.has(name) || this.values.has(name); k++) name = `${base}#${k}`;
    this.usedNames.add(name);
    return name;
  }

  /** Appends a graph node and checks its shape (InputError naming the node). */
  private emit(node: GraphNode): TensorShape {
    const shape = nodeOutputShape(node, node.inputs.map((i) => this.shapes.get(i)!));
    this.nodes.push(node);
    this.shapes.set(node.output, shape);
    return shape;
  }

  private setTensor(onnxName: string, name: string, shape: TensorShape, layout: SourceLayout, extra: Partial<TensorValue> = {}): void {
    const dims = layout === 'nchw' ? [1, shape.c, shape.h, shape.w] : layout === 'nhwc' ? [1, shape.h, shape.w, shape.c] : [1, shape.c];
    this.values.set(onnxName, { kind: 'tensor', name, shape, layout, dims, ...extra });
  }

  private pads(n: INode, label: string, x: TensorShape, k: [number, number], strides: [number, number]): Pads {
    const autoPad = this.str(n, 'auto_pad', 'NOTSET');
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
      const total = (size: number, kk: number, s: number): number => Math.max((Math.ceil(size / s) - 1) * s + kk - size, 0);
      const th = total(x.h, k[0], strides[0]);
      const tw = total(x.w, k[1], strides[1]);
      const lower = autoPad === 'SAME_LOWER';
      const before = (t: number): number => (lower ? Math.ceil(t / 2) : Math.floor(t / 2));
      return { top: before(th), left: before(tw), bottom: th - before(th), right: tw - before(tw) };
    }
    if (autoPad === 'VALID') return { top: 0, left: 0, bottom: 0, right: 0 };
    if (autoPad !== 'NOTSET') throw new InputError(`${label}: auto_pad '${autoPad}' is not supported`);
    const p = this.ints(n, 'pads', [0, 0, 0, 0]);
    if (p.length !== 4 || p.some((v) => v < 0)) throw new InputError(`${label}: pads [${p.join(',')}] must be 4 non-negative values`);
    // ONNX order: all begins (top, left), then all ends (bottom, right).
    return { top: p[0]!, left: p[1]!, bottom: p[2]!, right: p[3]! };
  }

  private window(n: INode, label: string, kernel: number[] | null): { k: [number, number]; strides: [number, number] } {
    const k = this.ints(n, 'kernel_shape', kernel ?? []);
    if (k.length !== 2) throw new InputError(`${label}: kernel_shape [${k.join(',')}] must be 2-D`);
    if (kernel && !sameInts(k, kernel)) throw new InputError(`${label}: kernel_shape [${k.join(',')}] differs from the weights' ${kernel.join('x')}`);
    const s = this.ints(n, 'strides', [1, 1]);
    if (s.length !== 2 || s.some((v) => v < 1)) throw new InputError(`${label}: strides [${s.join(',')}] must be 2 positive values`);
    const d = this.ints(n, 'dilations', [1, 1]);
    if (d.some((v) => v !== 1)) throw new InputError(`${label}: dilations [${d.join(',')}] are not supported (only 1)`);
    return { k: [k[0]!, k[1]!], strides: [s[0]!, s[1]!] };
  }

  // --- ops -------------------------------------------------------------------------------

  private importNode(n: INode, index: number): void {
    const out = n.output[0] ?? '';
    const name = n.name || `${n.opType} #${index} -> ${out}`;
    const label = `node '${name}' (${n.opType})`;
    if (n.domain && n.domain !== 'ai.onnx') {
      throw new InputError(`unsupported op '${n.domain}.${n.opType}' in node '${name}'; supported: ${SUPPORTED_OPS.join(', ')}`);
    }
    if (n.output.filter((o) => o).length !== 1 && !(n.opType === 'BatchNormalization' || n.opType === 'MaxPool')) {
      throw new InputError(`${label}: expected one output, got ${n.output.length}`);
    }
    if (n.output.slice(1).some((o) => o && (this.readers.get(o)?.length ?? 0) > 0)) {
      throw new InputError(`${label}: only the first output may be used (training statistics or pool indices are not supported)`);
    }
    switch (n.opType) {
      case 'Conv':
        return this.conv(n, name, label, out);
      case 'BatchNormalization':
        return this.batchNorm(n, name, label, out);
      case 'Relu':
      case 'Clip':
        return this.activation(n, name, label, out);
      case 'MaxPool':
      case 'AveragePool':
        return this.pool(n, name, label, out);
      case 'GlobalAveragePool': {
        const x = this.tensorInput(n, label, 0);
        this.requireSpatialNchw(x, label);
        const shape = this.emit({ op: 'globalavgpool', name, inputs: [x.name], output: this.freshName(out) });
        return this.setTensor(out, this.nodes.at(-1)!.output, shape, 'nchw');
      }
      case 'Add':
        return this.add(n, name, label, out);
      case 'Concat':
        return this.concat(n, name, label, out);
      case 'ConstantOfShape':
        return this.constantOfShape(n, label, out);
      case 'Flatten':
      case 'Reshape':
        return this.reshape(n, name, label, out);
      case 'Transpose':
        return this.transpose(n, label, out);
      case 'Gemm':
        return this.gemm(n, name, label, out);
      case 'Softmax':
        return this.softmax(n, name, label, out);
      default:
        throw new InputError(`unsupported op '${n.opType}' in node '${name}'; supported: ${SUPPORTED_OPS.join(', ')}`);
    }
  }

  private conv(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    this.requireSpatialNchw(x, label);
    const w = this.constInput(n, label, 1);
    if (w.dims.length !== 4) throw new InputError(`${label}: weights must be 4-D [M, C/group, kH, kW], got [${w.dims.join(',')}]`);
    const [outC, inPerGroup, kH, kW] = w.dims as [number, number, number, number];
    const groups = this.int(n, 'group', 1);
    if (groups < 1 || inPerGroup * groups !== x.shape.c) {
      throw new InputError(`${label}: weights [${w.dims.join(',')}] with group ${groups} expect ${inPerGroup * groups} input channels, the input ${formatShape(x.shape)} has ${x.shape.c}`);
    }
    const { k, strides } = this.window(n, label, [kH, kW]);
    const weights = oihwToOhwi(this.floats(w, label, 'weights', product(w.dims)), outC, inPerGroup, kH, kW);
    const b = this.constInput(n, label, 2, true);
    const bias = b ? this.floats(b, label, 'bias', outC) : new Float32Array(outC);
    const node: ConvNode = {
      op: 'conv', name, inputs: [x.name], output: this.freshName(out),
      kH: k[0], kW: k[1], strideH: strides[0], strideW: strides[1], pads: this.pads(n, label, x.shape, k, strides),
      groups, inC: x.shape.c, outC, weights, bias: Float32Array.from(bias), fc: false,
    };
    this.setTensor(out, node.output, this.emit(node), 'nchw');
  }

  private batchNorm(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    if (x.layout === 'nhwc') throw new InputError(`${label}: needs an NCHW or [N,C] input, got NHWC`);
    if (this.int(n, 'training_mode', 0) !== 0) throw new InputError(`${label}: training_mode 1 is not supported (export in eval mode)`);
    const c = x.shape.c;
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => Float32Array.from(this.floats(this.constInput(n, label, i), label, `input ${i}`, c))) as [
      Float32Array, Float32Array, Float32Array, Float32Array,
    ];
    const node: GraphNode = { op: 'batchnorm', name, inputs: [x.name], output: this.freshName(out), gamma, beta, mean, variance, epsilon: this.float(n, 'epsilon', 1e-5) };
    this.setTensor(out, node.output, this.emit(node), x.layout);
  }

  private clipBound(n: INode, label: string, index: number, attr: string, dflt: number): number {
    if (this.opset < 11) return this.float(n, attr, dflt);
    const c = this.constInput(n, label, index, true);
    if (!c) return dflt;
    if (c.data.length !== 1) throw new InputError(`${label}: the ${attr} bound must be a scalar`);
    return c.data[0]!;
  }

  private activation(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    const output = this.freshName(out);
    const node: GraphNode =
      n.opType === 'Relu'
        ? { op: 'relu', name, inputs: [x.name], output }
        : { op: 'clip', name, inputs: [x.name], output, min: this.clipBound(n, label, 1, 'min', -Infinity), max: this.clipBound(n, label, 2, 'max', Infinity) };
    if (node.op === 'clip' && !(node.min <= node.max)) throw new InputError(`${label}: min ${node.min} > max ${node.max}`);
    this.values.set(out, { ...x, name: node.output });
    this.emit(node);
  }

  private pool(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    this.requireSpatialNchw(x, label);
    if (this.int(n, 'ceil_mode', 0) !== 0) throw new InputError(`${label}: ceil_mode 1 is not supported`);
    if (this.int(n, 'storage_order', 0) !== 0) throw new InputError(`${label}: storage_order 1 is not supported`);
    const { k, strides } = this.window(n, label, null);
    const node: GraphNode = {
      op: n.opType === 'MaxPool' ? 'maxpool' : 'avgpool', name, inputs: [x.name], output: this.freshName(out),
      kH: k[0], kW: k[1], strideH: strides[0], strideW: strides[1], pads: this.pads(n, label, x.shape, k, strides),
      countIncludePad: this.int(n, 'count_include_pad', 0) !== 0,
    };
    this.setTensor(out, node.output, this.emit(node), 'nchw');
  }

  private add(n: INode, name: string, label: string, out: string): void {
    if (n.input.length !== 2) throw new InputError(`${label}: expected 2 inputs, got ${n.input.length}`);
    const a = this.tensorInput(n, label, 0);
    const b = this.tensorInput(n, label, 1);
    if (a.layout !== b.layout || !sameInts(a.dims, b.dims)) {
      throw new InputError(`${label}: input shapes differ, [${a.dims.join(',')}] vs [${b.dims.join(',')}] (broadcasting is not supported)`);
    }
    if (a.chwOf || b.chwOf) throw new InputError(`${label}: cannot add a flattened vector read only by a Gemm`);
    const node: GraphNode = { op: 'add', name, inputs: [a.name, b.name], output: this.freshName(out) };
    this.values.set(out, { ...a, name: node.output });
    this.emit(node);
  }

  private concat(n: INode, name: string, label: string, out: string): void {
    const parts = n.input.map((i, k) => {
      const v = this.values.get(i);
      if (!v) throw new InputError(`${label}: input ${k} '${i}' is not defined`);
      if (v.kind === 'const') throw new InputError(`${label}: input ${k} '${i}' is a constant; only computed tensors and ConstantOfShape zeros can be concatenated`);
      return v;
    });
    const tensors = parts.filter((p): p is TensorValue => p.kind === 'tensor');
    const first = tensors[0];
    if (!first) throw new InputError(`${label}: needs at least one computed input`);
    if (tensors.some((t) => t.layout !== first.layout)) throw new InputError(`${label}: inputs mix layouts`);
    if (first.layout === 'flat') throw new InputError(`${label}: only spatial tensors can be concatenated (along channels)`);
    const rank = 4;
    const rawAxis = this.int(n, 'axis', 1);
    const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const channelAxis = first.layout === 'nchw' ? 1 : 3;
    if (axis !== channelAxis) throw new InputError(`${label}: axis ${rawAxis} is not the channel axis of [${first.dims.join(',')}] (${first.layout})`);
    const inputs = parts.map((p, k) => {
      if (p.kind === 'tensor') return p.name;
      if (p.dims.length !== 4) throw new InputError(`${label}: zeros input ${k} has shape [${p.dims.join(',')}], expected 4-D`);
      const shape = first.layout === 'nchw' ? { c: p.dims[1]!, h: p.dims[2]!, w: p.dims[3]! } : { h: p.dims[1]!, w: p.dims[2]!, c: p.dims[3]! };
      const zeros = this.freshName(`${n.input[k]}`);
      this.emit({ op: 'zeros', name: `${name} (zeros ${k})`, inputs: [], output: zeros, shape });
      return zeros;
    });
    const node: GraphNode = { op: 'concat', name, inputs, output: this.freshName(out) };
    this.setTensor(out, node.output, this.emit(node), first.layout);
  }

  private constantOfShape(n: INode, label: string, out: string): void {
    const shape = this.constInput(n, label, 0);
    const dims = [...shape.data].map((d) => toInt(d, `${label} shape`));
    const value = this.attr(n, 'value')?.t;
    const v = value ? readConstant(value, `${label} value`).data[0] ?? 0 : 0;
    if (v !== 0) throw new InputError(`${label}: only a zero fill is supported, got ${v}`);
    if (value && value.dataType !== DT.FLOAT) throw new InputError(`${label}: only a float32 fill is supported`);
    const readers = this.readers.get(out) ?? [];
    if (readers.length === 0 || readers.some((r) => r !== 'Concat')) {
      throw new InputError(`${label}: ConstantOfShape is supported only as zero channels read by Concat, '${out}' is read by ${readers.map((r) => r || 'the graph output').join(', ') || 'nothing'}`);
    }
    if (dims.length !== 4 || dims[0] !== 1) throw new InputError(`${label}: zeros of shape [${dims.join(',')}], expected [1, C, H, W]`);
    this.values.set(out, { kind: 'zeros', dims });
  }

  /** Flatten, or a Reshape: to a vector, to a channel vector [1,C,1,1], or to the same shape. */
  private reshape(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    const total = product(x.dims);
    let dims: number[];
    if (n.opType === 'Flatten') {
      const axis = this.int(n, 'axis', 1);
      if (axis !== 0 && axis !== 1 && axis !== -x.dims.length + 1) throw new InputError(`${label}: axis ${axis} is not supported (only a flatten to [1, K])`);
      dims = [1, total];
    } else {
      const target = this.constInput(n, label, 1);
      const raw = [...target.data].map((d) => toInt(d, `${label} shape`));
      const allowZero = this.int(n, 'allowzero', 0) !== 0;
      dims = raw.map((d, i) => (d === 0 && !allowZero ? (x.dims[i] ?? 0) : d));
      const known = product(dims.filter((d) => d !== -1));
      if (dims.filter((d) => d === -1).length > 1 || dims.some((d) => d < -1)) throw new InputError(`${label}: bad target shape [${raw.join(',')}]`);
      dims = dims.map((d) => (d === -1 ? total / known : d));
      if (product(dims) !== total || dims.some((d) => !Number.isInteger(d))) {
        throw new InputError(`${label}: cannot reshape [${x.dims.join(',')}] (${total} values) to [${raw.join(',')}]`);
      }
      if (dims[0] !== 1) throw new InputError(`${label}: the target shape [${raw.join(',')}] must keep the batch dimension first`);
    }
    if (sameInts(dims, x.dims)) return void this.values.set(out, { ...x });
    // A channel vector as NCHW [1,C,1,1]: the same data as a 1x1xC map.
    if (dims.length === 4 && dims[2] === 1 && dims[3] === 1 && x.shape.h === 1 && x.shape.w === 1 && !x.chwOf) {
      return this.setTensor(out, x.name, { h: 1, w: 1, c: total }, 'nchw');
    }
    if (dims.length === 4) throw new InputError(`${label}: a reshape to the map [${dims.join(',')}] is not supported (only to a vector)`);
    const vector = (name2: string, extra: Partial<TensorValue> = {}): void =>
      void this.values.set(out, { kind: 'tensor', name: name2, shape: { h: 1, w: 1, c: total }, layout: 'flat', dims, ...extra });
    if (x.layout === 'flat' || (x.shape.h === 1 && x.shape.w === 1)) return vector(x.name, x.chwOf ? { chwOf: x.chwOf } : {});
    const orderMatters = x.layout === 'nchw' && x.shape.c > 1;
    const readers = this.readers.get(out) ?? [];
    const gemmOnly = orderMatters && readers.length > 0 && readers.every((r) => r === 'Gemm');
    const node: GraphNode = { op: 'flatten', name, inputs: [x.name], output: this.freshName(out), order: orderMatters && !gemmOnly ? 'chw' : 'hwc' };
    this.emit(node);
    vector(node.output, gemmOnly ? { chwOf: x.shape } : {});
  }

  private transpose(n: INode, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    const perm = this.ints(n, 'perm', [...x.dims.keys()].reverse());
    if (sameInts(perm, [...x.dims.keys()])) return void this.values.set(out, { ...x });
    const toNhwc = sameInts(perm, [0, 2, 3, 1]) && x.layout === 'nchw';
    const toNchw = sameInts(perm, [0, 3, 1, 2]) && x.layout === 'nhwc';
    if (!toNhwc && !toNchw) {
      throw new InputError(`${label}: only NCHW<->NHWC transposes are supported, got perm [${perm.join(',')}] on [${x.dims.join(',')}] (${x.layout})`);
    }
    this.setTensor(out, x.name, x.shape, toNhwc ? 'nhwc' : 'nchw');
  }

  private gemm(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    if (x.layout !== 'flat' || x.dims.length !== 2) throw new InputError(`${label}: input A must be a [1, K] vector, got [${x.dims.join(',')}]`);
    if (this.int(n, 'transA', 0) !== 0) throw new InputError(`${label}: transA 1 is not supported`);
    const transB = this.int(n, 'transB', 0) !== 0;
    const alpha = this.float(n, 'alpha', 1);
    const beta = this.float(n, 'beta', 1);
    const b = this.constInput(n, label, 1);
    const k = x.shape.c;
    if (b.dims.length !== 2) throw new InputError(`${label}: B must be 2-D, got [${b.dims.join(',')}]`);
    const [bk, outC] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
    if (bk !== k) throw new InputError(`${label}: B [${b.dims.join(',')}]${transB ? ' (transposed)' : ''} expects ${bk} inputs, A has ${k}`);
    const bData = this.floats(b, label, 'B', k * outC);
    // The storage index s of input element k: identity, or y,x,c storage of a c,y,x vector.
    const src = x.chwOf;
    const onnxIndex = (s: number): number => {
      if (!src) return s;
      const c = s % src.c;
      const p = (s - c) / src.c;
      return c * src.h * src.w + p;
    };
    const weights = new Float32Array(outC * k);
    for (let o = 0; o < outC; o++)
      for (let s = 0; s < k; s++) {
        const j = onnxIndex(s);
        weights[o * k + s] = alpha * bData[transB ? o * k + j : j * outC + o]!;
      }
    const c = this.constInput(n, label, 2, true);
    const bias = new Float32Array(outC);
    if (c) {
      const cData = this.floats(c, label, 'C', c.data.length);
      if (cData.length !== outC && cData.length !== 1) throw new InputError(`${label}: C has ${cData.length} values, expected ${outC} (or 1)`);
      for (let o = 0; o < outC; o++) bias[o] = beta * cData[cData.length === 1 ? 0 : o]!;
    }
    const node: ConvNode = {
      op: 'conv', name, inputs: [x.name], output: this.freshName(out), kH: 1, kW: 1, strideH: 1, strideW: 1,
      pads: { top: 0, left: 0, bottom: 0, right: 0 }, groups: 1, inC: k, outC, weights, bias, fc: true,
    };
    this.setTensor(out, node.output, this.emit(node), 'flat');
  }

  private softmax(n: INode, name: string, label: string, out: string): void {
    const x = this.tensorInput(n, label, 0);
    const rank = x.dims.length;
    const raw = this.int(n, 'axis', this.opset >= 13 ? -1 : 1);
    const axis = raw < 0 ? raw + rank : raw;
    // Opset < 13 flattens from `axis` on: the same as the channel axis when that is the only one left.
    const channelAxis = x.layout === 'nchw' ? 1 : rank - 1;
    const ok = axis === channelAxis && (x.layout !== 'nchw' || this.opset >= 13 || (x.shape.h === 1 && x.shape.w === 1));
    if (!ok || x.chwOf || (x.layout === 'flat' && rank !== 2)) {
      throw new InputError(`${label}: softmax over axis ${raw} of [${x.dims.join(',')}] is not supported (only over channels)`);
    }
    const node: GraphNode = { op: 'softmax', name, inputs: [x.name], output: this.freshName(out) };
    this.values.set(out, { ...x, name: node.output });
    this.emit(node);
  }
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Builds the graph of an ONNX model held in memory; `name` labels errors (a file name). */
export function importOnnx(bytes: Uint8Array, name = 'model'): Graph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new InputError(`${name}: not a valid ONNX file (${(e as Error).message}); is it truncated?`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0) throw new InputError(`${name}: not a valid ONNX file (no graph nodes); is it truncated?`);
  try {
    return new Importer(model).run(name);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(`${name}: ${e.message}`);
    throw e;
  }
}

/** Reads and imports an .onnx file. */
export function importOnnxFile(path: string): Graph {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(`${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return importOnnx(bytes, path);
}
