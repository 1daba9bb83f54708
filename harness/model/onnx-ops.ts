/**
 * The ONNX ops the importer supports (onnx-import.ts lists them with what they become), each
 * converted into graph nodes on the import state.
 */
import { type ConvNode, type GraphNode, formatShape } from './graph.ts';
import { DT, type INode, product, readConstant, sameInts, toInt } from './onnx-decode.ts';
import type { ImportState, TensorValue } from './onnx-import-state.ts';
import { InputError } from '../util/errors.ts';

export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Add',
  'Concat', 'ConstantOfShape', 'Flatten', 'Reshape', 'Transpose', 'Gemm', 'Softmax',
] as const;

/** ONNX OIHW -> graph OHWI. */
function oihwToOhwi(w: Float32Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++)
        for (let c = 0; c < i; c++) out[((a * kh + y) * kw + x) * i + c] = w[((a * i + c) * kh + y) * kw + x]!;
  return out;
}

/** Converts one ONNX node (the `index`th) into graph nodes. */
export function importNode(s: ImportState, n: INode, index: number): void {
  const out = n.output[0] ?? '';
  const name = n.name || `${n.opType} #${index} -> ${out}`;
  const label = `node '${name}' (${n.opType})`;
  if (n.domain && n.domain !== 'ai.onnx') {
    throw new InputError(`unsupported op '${n.domain}.${n.opType}' in node '${name}'; supported: ${SUPPORTED_OPS.join(', ')}`);
  }
  if (n.output.filter((o) => o).length !== 1 && !(n.opType === 'BatchNormalization' || n.opType === 'MaxPool')) {
    throw new InputError(`${label}: expected one output, got ${n.output.length}`);
  }
  if (n.output.slice(1).some((o) => o && (s.readers.get(o)?.length ?? 0) > 0)) {
    throw new InputError(`${label}: only the first output may be used (training statistics or pool indices are not supported)`);
  }
  switch (n.opType) {
    case 'Conv':
      return conv(s, n, name, label, out);
    case 'BatchNormalization':
      return batchNorm(s, n, name, label, out);
    case 'Relu':
    case 'Clip':
      return activation(s, n, name, label, out);
    case 'MaxPool':
    case 'AveragePool':
      return pool(s, n, name, label, out);
    case 'GlobalAveragePool': {
      const x = s.tensorInput(n, label, 0);
      s.requireSpatialNchw(x, label);
      const shape = s.emit({ op: 'globalavgpool', name, inputs: [x.name], output: s.freshName(out) });
      return s.setTensor(out, s.nodes.at(-1)!.output, shape, 'nchw');
    }
    case 'Add':
      return add(s, n, name, label, out);
    case 'Concat':
      return concat(s, n, name, label, out);
    case 'ConstantOfShape':
      return constantOfShape(s, n, label, out);
    case 'Flatten':
    case 'Reshape':
      return reshape(s, n, name, label, out);
    case 'Transpose':
      return transpose(s, n, label, out);
    case 'Gemm':
      return gemm(s, n, name, label, out);
    case 'Softmax':
      return softmax(s, n, name, label, out);
    default:
      throw new InputError(`unsupported op '${n.opType}' in node '${name}'; supported: ${SUPPORTED_OPS.join(', ')}`);
  }
}

function conv(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  s.requireSpatialNchw(x, label);
  const w = s.constInput(n, label, 1);
  if (w.dims.length !== 4) throw new InputError(`${label}: weights must be 4-D [M, C/group, kH, kW], got [${w.dims.join(',')}]`);
  const [outC, inPerGroup, kH, kW] = w.dims as [number, number, number, number];
  const groups = s.int(n, 'group', 1);
  if (groups < 1 || inPerGroup * groups !== x.shape.c) {
    throw new InputError(`${label}: weights [${w.dims.join(',')}] with group ${groups} expect ${inPerGroup * groups} input channels, the input ${formatShape(x.shape)} has ${x.shape.c}`);
  }
  const { k, strides } = s.window(n, label, [kH, kW]);
  const weights = oihwToOhwi(s.floats(w, label, 'weights', product(w.dims)), outC, inPerGroup, kH, kW);
  const b = s.constInput(n, label, 2, true);
  const bias = b ? s.floats(b, label, 'bias', outC) : new Float32Array(outC);
  const node: ConvNode = {
    op: 'conv', name, inputs: [x.name], output: s.freshName(out),
    kH: k[0], kW: k[1], strideH: strides[0], strideW: strides[1], pads: s.pads(n, label, x.shape, k, strides),
    groups, inC: x.shape.c, outC, weights, bias: Float32Array.from(bias), fc: false,
  };
  s.setTensor(out, node.output, s.emit(node), 'nchw');
}

function batchNorm(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  if (x.layout === 'nhwc') throw new InputError(`${label}: needs an NCHW or [N,C] input, got NHWC`);
  if (s.int(n, 'training_mode', 0) !== 0) throw new InputError(`${label}: training_mode 1 is not supported (export in eval mode)`);
  const c = x.shape.c;
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => Float32Array.from(s.floats(s.constInput(n, label, i), label, `input ${i}`, c))) as [
    Float32Array, Float32Array, Float32Array, Float32Array,
  ];
  const node: GraphNode = { op: 'batchnorm', name, inputs: [x.name], output: s.freshName(out), gamma, beta, mean, variance, epsilon: s.float(n, 'epsilon', 1e-5) };
  s.setTensor(out, node.output, s.emit(node), x.layout);
}

function clipBound(s: ImportState, n: INode, label: string, index: number, attr: string, dflt: number): number {
  if (s.opset < 11) return s.float(n, attr, dflt);
  const c = s.constInput(n, label, index, true);
  if (!c) return dflt;
  if (c.data.length !== 1) throw new InputError(`${label}: the ${attr} bound must be a scalar`);
  return c.data[0]!;
}

function activation(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  const output = s.freshName(out);
  const node: GraphNode =
    n.opType === 'Relu'
      ? { op: 'relu', name, inputs: [x.name], output }
      : { op: 'clip', name, inputs: [x.name], output, min: clipBound(s, n, label, 1, 'min', -Infinity), max: clipBound(s, n, label, 2, 'max', Infinity) };
  if (node.op === 'clip' && !(node.min <= node.max)) throw new InputError(`${label}: min ${node.min} > max ${node.max}`);
  s.values.set(out, { ...x, name: node.output });
  s.emit(node);
}

function pool(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  s.requireSpatialNchw(x, label);
  if (s.int(n, 'ceil_mode', 0) !== 0) throw new InputError(`${label}: ceil_mode 1 is not supported`);
  if (s.int(n, 'storage_order', 0) !== 0) throw new InputError(`${label}: storage_order 1 is not supported`);
  const { k, strides } = s.window(n, label, null);
  const node: GraphNode = {
    op: n.opType === 'MaxPool' ? 'maxpool' : 'avgpool', name, inputs: [x.name], output: s.freshName(out),
    kH: k[0], kW: k[1], strideH: strides[0], strideW: strides[1], pads: s.pads(n, label, x.shape, k, strides),
    countIncludePad: s.int(n, 'count_include_pad', 0) !== 0,
  };
  s.setTensor(out, node.output, s.emit(node), 'nchw');
}

function add(s: ImportState, n: INode, name: string, label: string, out: string): void {
  if (n.input.length !== 2) throw new InputError(`${label}: expected 2 inputs, got ${n.input.length}`);
  const a = s.tensorInput(n, label, 0);
  const b = s.tensorInput(n, label, 1);
  if (a.layout !== b.layout || !sameInts(a.dims, b.dims)) {
    throw new InputError(`${label}: input shapes differ, [${a.dims.join(',')}] vs [${b.dims.join(',')}] (broadcasting is not supported)`);
  }
  if (a.chwOf || b.chwOf) throw new InputError(`${label}: cannot add a flattened vector read only by a Gemm`);
  const node: GraphNode = { op: 'add', name, inputs: [a.name, b.name], output: s.freshName(out) };
  s.values.set(out, { ...a, name: node.output });
  s.emit(node);
}

function concat(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const parts = n.input.map((i, k) => {
    const v = s.values.get(i);
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
  const rawAxis = s.int(n, 'axis', 1);
  const axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
  const channelAxis = first.layout === 'nchw' ? 1 : 3;
  if (axis !== channelAxis) throw new InputError(`${label}: axis ${rawAxis} is not the channel axis of [${first.dims.join(',')}] (${first.layout})`);
  const inputs = parts.map((p, k) => {
    if (p.kind === 'tensor') return p.name;
    if (p.dims.length !== 4) throw new InputError(`${label}: zeros input ${k} has shape [${p.dims.join(',')}], expected 4-D`);
    const shape = first.layout === 'nchw' ? { c: p.dims[1]!, h: p.dims[2]!, w: p.dims[3]! } : { h: p.dims[1]!, w: p.dims[2]!, c: p.dims[3]! };
    const zeros = s.freshName(`${n.input[k]}`);
    s.emit({ op: 'zeros', name: `${name} (zeros ${k})`, inputs: [], output: zeros, shape });
    return zeros;
  });
  const node: GraphNode = { op: 'concat', name, inputs, output: s.freshName(out) };
  s.setTensor(out, node.output, s.emit(node), first.layout);
}

function constantOfShape(s: ImportState, n: INode, label: string, out: string): void {
  const shape = s.constInput(n, label, 0);
  const dims = [...shape.data].map((d) => toInt(d, `${label} shape`));
  const value = s.attr(n, 'value')?.t;
  const v = value ? readConstant(value, `${label} value`).data[0] ?? 0 : 0;
  if (v !== 0) throw new InputError(`${label}: only a zero fill is supported, got ${v}`);
  if (value && value.dataType !== DT.FLOAT) throw new InputError(`${label}: only a float32 fill is supported`);
  const readers = s.readers.get(out) ?? [];
  if (readers.length === 0 || readers.some((r) => r !== 'Concat')) {
    throw new InputError(`${label}: ConstantOfShape is supported only as zero channels read by Concat, '${out}' is read by ${readers.map((r) => r || 'the graph output').join(', ') || 'nothing'}`);
  }
  if (dims.length !== 4 || dims[0] !== 1) throw new InputError(`${label}: zeros of shape [${dims.join(',')}], expected [1, C, H, W]`);
  s.values.set(out, { kind: 'zeros', dims });
}

/** Flatten, or a Reshape: to a vector, to a channel vector [1,C,1,1] (of a vector or of a map), or to the same shape. */
function reshape(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  const total = product(x.dims);
  let dims: number[];
  if (n.opType === 'Flatten') {
    const axis = s.int(n, 'axis', 1);
    if (axis !== 0 && axis !== 1 && axis !== -x.dims.length + 1) throw new InputError(`${label}: axis ${axis} is not supported (only a flatten to [1, K])`);
    dims = [1, total];
  } else {
    const target = s.constInput(n, label, 1);
    const raw = [...target.data].map((d) => toInt(d, `${label} shape`));
    const allowZero = s.int(n, 'allowzero', 0) !== 0;
    dims = raw.map((d, i) => (d === 0 && !allowZero ? (x.dims[i] ?? 0) : d));
    const known = product(dims.filter((d) => d !== -1));
    if (dims.filter((d) => d === -1).length > 1 || dims.some((d) => d < -1)) throw new InputError(`${label}: bad target shape [${raw.join(',')}]`);
    dims = dims.map((d) => (d === -1 ? total / known : d));
    if (product(dims) !== total || dims.some((d) => !Number.isInteger(d))) {
      throw new InputError(`${label}: cannot reshape [${x.dims.join(',')}] (${total} values) to [${raw.join(',')}]`);
    }
    if (dims[0] !== 1) throw new InputError(`${label}: the target shape [${raw.join(',')}] must keep the batch dimension first`);
  }
  if (sameInts(dims, x.dims)) return void s.values.set(out, { ...x });
  // A channel vector as NCHW [1,C,1,1]: the same data as a 1x1xC map.
  if (dims.length === 4 && dims[2] === 1 && dims[3] === 1 && x.shape.h === 1 && x.shape.w === 1 && !x.chwOf) {
    return s.setTensor(out, x.name, { h: 1, w: 1, c: total }, 'nchw');
  }
  // A spatial map to a channel vector [1,K,1,1] (how harness/quant/onnx-export.ts feeds a fully
  // connected QLinearConv): a flatten whose output is a 1x1 map.
  if (dims.length === 4 && dims[2] === 1 && dims[3] === 1 && x.layout !== 'flat' && !x.chwOf) {
    const node: GraphNode = { op: 'flatten', name, inputs: [x.name], output: s.freshName(out), order: x.layout === 'nchw' && x.shape.c > 1 ? 'chw' : 'hwc' };
    return s.setTensor(out, node.output, s.emit(node), 'nchw');
  }
  if (dims.length === 4) throw new InputError(`${label}: a reshape to the map [${dims.join(',')}] is not supported (only to a vector or a channel vector [1,K,1,1])`);
  const vector = (name2: string, extra: Partial<TensorValue> = {}): void =>
    void s.values.set(out, { kind: 'tensor', name: name2, shape: { h: 1, w: 1, c: total }, layout: 'flat', dims, ...extra });
  if (x.layout === 'flat' || (x.shape.h === 1 && x.shape.w === 1)) return vector(x.name, x.chwOf ? { chwOf: x.chwOf } : {});
  const orderMatters = x.layout === 'nchw' && x.shape.c > 1;
  const readers = s.readers.get(out) ?? [];
  const gemmOnly = orderMatters && readers.length > 0 && readers.every((r) => r === 'Gemm');
  const node: GraphNode = { op: 'flatten', name, inputs: [x.name], output: s.freshName(out), order: orderMatters && !gemmOnly ? 'chw' : 'hwc' };
  s.emit(node);
  vector(node.output, gemmOnly ? { chwOf: x.shape } : {});
}

function transpose(s: ImportState, n: INode, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  const perm = s.ints(n, 'perm', [...x.dims.keys()].reverse());
  if (sameInts(perm, [...x.dims.keys()])) return void s.values.set(out, { ...x });
  const toNhwc = sameInts(perm, [0, 2, 3, 1]) && x.layout === 'nchw';
  const toNchw = sameInts(perm, [0, 3, 1, 2]) && x.layout === 'nhwc';
  if (!toNhwc && !toNchw) {
    throw new InputError(`${label}: only NCHW<->NHWC transposes are supported, got perm [${perm.join(',')}] on [${x.dims.join(',')}] (${x.layout})`);
  }
  s.setTensor(out, x.name, x.shape, toNhwc ? 'nhwc' : 'nchw');
}

function gemm(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  if (x.layout !== 'flat' || x.dims.length !== 2) throw new InputError(`${label}: input A must be a [1, K] vector, got [${x.dims.join(',')}]`);
  if (s.int(n, 'transA', 0) !== 0) throw new InputError(`${label}: transA 1 is not supported`);
  const transB = s.int(n, 'transB', 0) !== 0;
  const alpha = s.float(n, 'alpha', 1);
  const beta = s.float(n, 'beta', 1);
  const b = s.constInput(n, label, 1);
  const k = x.shape.c;
  if (b.dims.length !== 2) throw new InputError(`${label}: B must be 2-D, got [${b.dims.join(',')}]`);
  const [bk, outC] = transB ? [b.dims[1]!, b.dims[0]!] : [b.dims[0]!, b.dims[1]!];
  if (bk !== k) throw new InputError(`${label}: B [${b.dims.join(',')}]${transB ? ' (transposed)' : ''} expects ${bk} inputs, A has ${k}`);
  const bData = s.floats(b, label, 'B', k * outC);
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
  const c = s.constInput(n, label, 2, true);
  const bias = new Float32Array(outC);
  if (c) {
    const cData = s.floats(c, label, 'C', c.data.length);
    if (cData.length !== outC && cData.length !== 1) throw new InputError(`${label}: C has ${cData.length} values, expected ${outC} (or 1)`);
    for (let o = 0; o < outC; o++) bias[o] = beta * cData[cData.length === 1 ? 0 : o]!;
  }
  const node: ConvNode = {
    op: 'conv', name, inputs: [x.name], output: s.freshName(out), kH: 1, kW: 1, strideH: 1, strideW: 1,
    pads: { top: 0, left: 0, bottom: 0, right: 0 }, groups: 1, inC: k, outC, weights, bias, fc: true,
  };
  s.setTensor(out, node.output, s.emit(node), 'flat');
}

function softmax(s: ImportState, n: INode, name: string, label: string, out: string): void {
  const x = s.tensorInput(n, label, 0);
  const rank = x.dims.length;
  const raw = s.int(n, 'axis', s.opset >= 13 ? -1 : 1);
  const axis = raw < 0 ? raw + rank : raw;
  // Opset < 13 flattens from `axis` on: the same as the channel axis when that is the only one left.
  const channelAxis = x.layout === 'nchw' ? 1 : rank - 1;
  const ok = axis === channelAxis && (x.layout !== 'nchw' || s.opset >= 13 || (x.shape.h === 1 && x.shape.w === 1));
  if (!ok || x.chwOf || (x.layout === 'flat' && rank !== 2)) {
    throw new InputError(`${label}: softmax over axis ${raw} of [${x.dims.join(',')}] is not supported (only over channels)`);
  }
  const node: GraphNode = { op: 'softmax', name, inputs: [x.name], output: s.freshName(out) };
  s.values.set(out, { ...x, name: node.output });
  s.emit(node);
}
