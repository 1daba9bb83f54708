/**
 * A float graph (graph.ts) as a float32 ONNX model, opset 13: the inverse of the importer
 * (onnx-import.ts), for graphs changed in the harness (pruned, folded) that other tools load
 * again: onnxruntime, tools/train/qat.py (PyTorch), our own importer.
 *
 * Layout. The input is NCHW [batch, C, H, W] (or [batch, K] for a vector input, sourceLayout
 * 'flat'), under the graph input's name, with a symbolic batch dimension 'batch' unless
 * `options.batch` fixes it. Every spatial tensor is NCHW, every vector (the output of a flatten
 * or a fully connected layer) [batch, K]; a graph output keeps the form of the node computing it.
 * Where a reader needs the other form of a 1x1 tensor, a Flatten (NCHW -> vector) or a Reshape
 * to [-1, C, 1, 1] (vector -> NCHW) is inserted; the importer reads both as aliases (no node).
 *
 * Nodes (graph op -> ONNX), each named like the graph node and writing the graph tensor's name:
 *
 *   conv          Conv (OHWI -> OIHW weights, group, pads, strides, dilations 1); the bias is
 *                 left out when it is all +0 (the importer reads a missing bias as zeros)
 *   conv, fc      Gemm (transB = 1, B = [outC, K]); only a plain 1x1 (group 1, stride 1, no pads)
 *   batchnorm     BatchNormalization (epsilon left out when it is 1e-5, the ONNX default, so a
 *                 graph made with the importer's default gets it back exactly; otherwise written
 *                 as ONNX's float32 attribute)
 *   relu, clip    Relu, Clip (opset 13: bounds as float32 scalar initializers, an infinite bound
 *                 left out; clipping f32 values at a bound or at its f32 rounding is the same)
 *   maxpool, avgpool  MaxPool, AveragePool (count_include_pad when set)
 *   globalavgpool GlobalAveragePool
 *   add           Add
 *   concat        Concat, axis 1
 *   flatten       Flatten (axis 1) of the NCHW tensor, which orders the vector c, y, x:
 *                  - order 'chw': that order itself;
 *                  - order 'hwc' read only by fully connected layers: the Gemms' weight columns
 *                    are permuted to c, y, x (what the importer undoes: PyTorch's own layout);
 *                  - order 'chw' read only by fully connected layers: the Gemms read an
 *                    identity Reshape [-1, K] of the Flatten, so the importer keeps the order
 *                    'chw' (a Flatten read only by Gemms comes back 'hwc', Gemm weights permuted);
 *                  - order 'hwc' read by anything else: Transpose to NHWC first (extendedOps).
 *   softmax       Softmax, axis 1 (extendedOps)
 *   zeros         ConstantOfShape [1, C, H, W] of float 0 (extendedOps); the importer reads it
 *                 only as zero channels of a Concat, and its batch is 1
 *
 * Op set. By default only ops tools/train/qat.py loads are written (TRAINING_OPS); a node that
 * needs Softmax, ConstantOfShape or Transpose is an InputError naming it, unless
 * `extendedOps: true` (the importer and onnxruntime read those too).
 *
 * Round trip. importOnnx(exportFloatOnnx(g)) has g's nodes (names, inputs, outputs, every
 * attribute, weights bit for bit) and g's input and output names and shapes, except where the
 * importer cannot tell two graphs apart: a flatten of a 1x1 map (the importer makes it an alias,
 * its readers then read its input), a flatten whose two orders coincide (c = 1: comes back
 * 'hwc'), the input's sourceLayout (always NCHW here), and zeros nodes, which the importer names
 * after the Concat reading them and places just before it (as a graph it imported has them).
 */
import onnxProto from 'onnx-proto';
import { type ConvNode, type Graph, type GraphNode, type TensorShape, inferShapes, shapeSize } from './graph.ts';
import { InputError } from '../util/errors.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;
type Tensor = onnxProto.onnx.ITensorProto;
type Node = onnxProto.onnx.INodeProto;
type Attr = onnxProto.onnx.IAttributeProto;

export const FLOAT_ONNX_OPSET = 13;

/** The ops tools/train/qat.py loads (tools/train/onnx_torch.py); the default op set. */
export const TRAINING_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Clip', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Add',
  'Flatten', 'Reshape', 'Gemm', 'MatMul', 'Concat',
] as const;

/** Written only with `extendedOps`: the importer and onnxruntime read them, qat.py does not. */
export const EXTENDED_OPS = ['Softmax', 'ConstantOfShape', 'Transpose'] as const;

export interface FloatOnnxExportOptions {
  /** The batch dimension of the input and outputs: a symbolic name or a fixed size. @default 'batch' */
  batch?: string | number;
  /** Also write Softmax, ConstantOfShape (zeros) and Transpose (see the file comment). @default false */
  extendedOps?: boolean;
  /** The model's doc_string. */
  docString?: string;
}

/** How a graph tensor is held in ONNX. */
type Form =
  /** [N, C, H, W]. */
  | { kind: 'nchw' }
  /** [N, K]. */
  | { kind: 'flat' }
  /** [N, K] in c, y, x order of a map of this shape, whose graph order is y, x, c; only Gemms read it. */
  | { kind: 'chw'; of: TensorShape };

interface Value {
  name: string;
  form: Form;
}

/** Float32 raw_data, little-endian, bit for bit (NaN payloads and -0 included). */
function f32Bytes(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const view = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < bits.length; i++) view.setUint32(i * 4, bits[i]!, true);
  return new Uint8Array(view.buffer);
}

function i64Bytes(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new Uint8Array(view.buffer);
}

const ints = (name: string, v: number[]): Attr => ({ name, type: AT.INTS, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: AT.INT, i: v });

/** OHWI -> OIHW, I = inC / groups. */
function ohwiToOihw(node: ConvNode): Float32Array {
  const { outC, kH, kW } = node;
  const i = node.inC / node.groups;
  const w = node.weights;
  const out = new Float32Array(w.length);
  for (let a = 0; a < outC; a++)
    for (let y = 0; y < kH; y++)
      for (let x = 0; x < kW; x++)
        for (let c = 0; c < i; c++) out[((a * i + c) * kH + y) * kW + x] = w[((a * kH + y) * kW + x) * i + c]!;
  return out;
}

/** Every value +0 (not -0): what the importer makes of a missing bias. */
function allPositiveZero(v: Float32Array): boolean {
  return v.every((x) => Object.is(x, 0));
}

class Writer {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  readonly values = new Map<string, Value>();
  private used: Set<string>;
  /** Converted forms of a tensor (its NCHW or vector alias), made once. */
  private converted = new Map<string, string>();

  constructor(graph: Graph, readonly extended: boolean) {
    this.used = new Set([graph.input.name, ...graph.nodes.map((n) => n.output)]);
  }

  isFree(name: string): boolean {
    return !this.used.has(name);
  }

  /** A name no graph tensor, initializer or inserted node output has. */
  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  floats(hint: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(hint);
    this.inits.push({ name, dataType: DT.FLOAT, dims, rawData: f32Bytes(data) });
    return name;
  }

  int64s(hint: string, data: number[]): string {
    const name = this.fresh(hint);
    this.inits.push({ name, dataType: DT.INT64, dims: [data.length], rawData: i64Bytes(data) });
    return name;
  }

  node(opType: string, name: string, input: string[], output: string, attribute: Attr[] = []): string {
    this.nodes.push({ opType, name, input, output: [output], attribute, domain: '' });
    return output;
  }

  /** InputError unless extended ops are on. */
  needExtended(node: GraphNode, what: string): void {
    if (!this.extended) {
      throw new InputError(`node '${node.name}' (${node.op}): needs ${what}, which tools/train/qat.py does not load; pass extendedOps to write it anyway`);
    }
  }

  value(tensor: string): Value {
    const v = this.values.get(tensor);
    if (!v) throw new Error(`tensor '${tensor}' has no ONNX value (writer bug)`);
    return v;
  }

  /** The tensor as NCHW [N, C, H, W]: a vector becomes [N, K, 1, 1]. */
  nchw(tensor: string, shape: TensorShape): string {
    const v = this.value(tensor);
    if (v.form.kind === 'nchw') return v.name;
    if (v.form.kind === 'chw') throw new Error(`tensor '${tensor}' in Gemm order read by a non-Gemm (writer bug)`);
    const key = `nchw:${tensor}`;
    let name = this.converted.get(key);
    if (!name) {
      name = this.fresh(`${v.name}_nchw`);
      this.node('Reshape', name, [v.name, this.int64s(`${name}.shape`, [-1, shape.c, 1, 1])], name);
      this.converted.set(key, name);
    }
    return name;
  }

  /** The 1x1 tensor as a vector [N, K] (or the Gemm-ordered one as is). */
  flat(tensor: string, shape: TensorShape): string {
    const v = this.value(tensor);
    if (v.form.kind !== 'nchw') return v.name;
    if (shape.h !== 1 || shape.w !== 1) throw new Error(`tensor '${tensor}' (${shape.h}x${shape.w}) read as a vector (writer bug)`);
    const key = `flat:${tensor}`;
    let name = this.converted.get(key);
    if (!name) {
      name = this.fresh(`${v.name}_flat`);
      this.node('Flatten', name, [v.name], name, [int('axis', 1)]);
      this.converted.set(key, name);
    }
    return name;
  }
}

function checkBatch(batch: unknown): string | number {
  if (typeof batch === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(batch)) return batch;
  if (typeof batch === 'number' && Number.isInteger(batch) && batch >= 1) return batch;
  throw new InputError(`batch must be a positive integer or a dimension name (letters, digits, _), got ${JSON.stringify(batch)}`);
}

/** The graph readers of each tensor. */
function readersOf(graph: Graph): Map<string, GraphNode[]> {
  const r = new Map<string, GraphNode[]>();
  for (const n of graph.nodes) for (const i of n.inputs) r.set(i, [...(r.get(i) ?? []), n]);
  return r;
}

function isFc(n: GraphNode): boolean {
  return n.op === 'conv' && n.fc;
}

/** Writes one graph node (see the file comment). */
function writeNode(w: Writer, node: GraphNode, shapes: Map<string, TensorShape>, readers: Map<string, GraphNode[]>, outputs: Set<string>): void {
  const xName = node.inputs[0];
  const xs = xName !== undefined ? shapes.get(xName)! : undefined;
  const same = (): void => void w.values.set(node.output, { name: node.output, form: w.value(xName!).form });
  const nchwOut = (): void => void w.values.set(node.output, { name: node.output, form: { kind: 'nchw' } });
  switch (node.op) {
    case 'conv': {
      if (node.fc) {
        const plain = node.groups === 1 && node.strideH === 1 && node.strideW === 1 && Object.values(node.pads).every((p) => p === 0);
        if (!plain) throw new InputError(`node '${node.name}' (fully connected): a Gemm needs group 1, stride 1 and no pads`);
        const x = w.value(xName!);
        const k = node.inC;
        let b = node.weights;
        if (x.form.kind === 'chw') {
          // Graph column s (y, x, c order) is ONNX column c*h*w + p (c, y, x order), p the pixel.
          const src = x.form.of;
          b = new Float32Array(node.weights.length);
          for (let o = 0; o < node.outC; o++)
            for (let s = 0; s < k; s++) {
              const c = s % src.c;
              b[o * k + c * src.h * src.w + (s - c) / src.c] = node.weights[o * k + s]!;
            }
        }
        const input = [w.flat(xName!, xs!), w.floats(`${node.name}.weight`, [node.outC, k], b)];
        if (!allPositiveZero(node.bias)) input.push(w.floats(`${node.name}.bias`, [node.outC], node.bias));
        w.node('Gemm', node.name, input, node.output, [int('transB', 1)]);
        w.values.set(node.output, { name: node.output, form: { kind: 'flat' } });
        return;
      }
      const input = [w.nchw(xName!, xs!), w.floats(`${node.name}.weight`, [node.outC, node.inC / node.groups, node.kH, node.kW], ohwiToOihw(node))];
      if (!allPositiveZero(node.bias)) input.push(w.floats(`${node.name}.bias`, [node.outC], node.bias));
      w.node('Conv', node.name, input, node.output, [
        ints('dilations', [1, 1]), int('group', node.groups), ints('kernel_shape', [node.kH, node.kW]),
        ints('pads', [node.pads.top, node.pads.left, node.pads.bottom, node.pads.right]), ints('strides', [node.strideH, node.strideW]),
      ]);
      return nchwOut();
    }
    case 'batchnorm': {
      const c = node.gamma.length;
      const x = w.value(xName!).name;
      const params = ([['scale', node.gamma], ['bias', node.beta], ['mean', node.mean], ['var', node.variance]] as const).map(([what, v]) => w.floats(`${node.name}.${what}`, [c], v));
      w.node('BatchNormalization', node.name, [x, ...params], node.output, node.epsilon === 1e-5 ? [] : [{ name: 'epsilon', type: AT.FLOAT, f: node.epsilon }]);
      return same();
    }
    case 'relu':
      w.node('Relu', node.name, [w.value(xName!).name], node.output);
      return same();
    case 'clip': {
      const bound = (what: string, v: number): string => (Number.isFinite(v) ? w.floats(`${node.name}.${what}`, [], Float32Array.of(v)) : '');
      const input = [w.value(xName!).name, bound('min', node.min), bound('max', node.max)];
      while (input.at(-1) === '') input.pop();
      w.node('Clip', node.name, input, node.output);
      return same();
    }
    case 'softmax':
      w.needExtended(node, 'Softmax');
      w.node('Softmax', node.name, [w.value(xName!).name], node.output, [int('axis', 1)]);
      return same();
    case 'maxpool':
    case 'avgpool':
      w.node(node.op === 'maxpool' ? 'MaxPool' : 'AveragePool', node.name, [w.nchw(xName!, xs!)], node.output, [
        ints('kernel_shape', [node.kH, node.kW]), ints('pads', [node.pads.top, node.pads.left, node.pads.bottom, node.pads.right]),
        ints('strides', [node.strideH, node.strideW]), ...(node.op === 'avgpool' && node.countIncludePad ? [int('count_include_pad', 1)] : []),
      ]);
      return nchwOut();
    case 'globalavgpool':
      w.node('GlobalAveragePool', node.name, [w.nchw(xName!, xs!)], node.output);
      return nchwOut();
    case 'add': {
      const [a, b] = node.inputs.map((t) => w.value(t));
      if (a!.form.kind === b!.form.kind && a!.form.kind !== 'chw') {
        w.node('Add', node.name, [a!.name, b!.name], node.output);
        return same();
      }
      w.node('Add', node.name, node.inputs.map((t) => w.nchw(t, xs!)), node.output);
      return nchwOut();
    }
    case 'concat':
      w.node('Concat', node.name, node.inputs.map((t) => w.nchw(t, shapes.get(t)!)), node.output, [int('axis', 1)]);
      return nchwOut();
    case 'zeros': {
      w.needExtended(node, 'ConstantOfShape');
      const rs = readers.get(node.output) ?? [];
      if (rs.length === 0 || rs.some((r) => r.op !== 'concat') || outputs.has(node.output)) {
        throw new InputError(`node '${node.name}' (zeros): only zero channels read by concats can be written (ConstantOfShape, as the importer reads it), '${node.output}' is read by ${[...rs.map((r) => `'${r.name}' (${r.op})`), ...(outputs.has(node.output) ? ['the graph output'] : [])].join(', ') || 'nothing'}`);
      }
      const { c, h, w: width } = node.shape;
      // The importer names the zeros tensor after the ConstantOfShape output plus '#1' (that ONNX
      // name stays taken by the ConstantOfShape value): the base name gives the same tensor back.
      const base = /^(.*)#1$/.exec(node.output)?.[1];
      const out = base && w.isFree(base) ? w.fresh(base) : node.output;
      w.node('ConstantOfShape', node.name, [w.int64s(`${node.name}.shape`, [1, c, h, width])], out, [
        { name: 'value', type: AT.TENSOR, t: { dataType: DT.FLOAT, dims: [1], rawData: f32Bytes(Float32Array.of(0)) } },
      ]);
      w.values.set(node.output, { name: out, form: { kind: 'nchw' } });
      return;
    }
    case 'flatten': {
      const x = w.value(xName!);
      const s = xs!;
      const flatOut = (form: Form = { kind: 'flat' }): void => void w.values.set(node.output, { name: node.output, form });
      if ((s.h === 1 && s.w === 1) || s.c === 1) {
        // Both orders are the same (the importer makes the first an alias, the second 'hwc').
        w.node('Flatten', node.name, [x.name], node.output, [int('axis', 1)]);
        return flatOut();
      }
      const rs = readers.get(node.output) ?? [];
      const gemmOnly = rs.length > 0 && rs.every(isFc) && !outputs.has(node.output);
      if (gemmOnly && node.order === 'hwc') {
        w.node('Flatten', node.name, [w.nchw(xName!, s)], node.output, [int('axis', 1)]);
        return flatOut({ kind: 'chw', of: { ...s } });
      }
      if (gemmOnly) {
        // The Gemms read an identity Reshape of the Flatten: with a reader other than Gemm, the
        // importer keeps the flatten 'chw' (and aliases the Reshape).
        w.node('Flatten', node.name, [w.nchw(xName!, s)], node.output, [int('axis', 1)]);
        const vec = w.fresh(`${node.output}_vector`);
        w.node('Reshape', vec, [node.output, w.int64s(`${vec}.shape`, [-1, shapeSize(s)])], vec);
        w.values.set(node.output, { name: vec, form: { kind: 'flat' } });
        return;
      }
      if (node.order === 'chw') {
        w.node('Flatten', node.name, [w.nchw(xName!, s)], node.output, [int('axis', 1)]);
        return flatOut();
      }
      w.needExtended(node, "Transpose (order 'hwc' read by other than fully connected layers)");
      const nhwc = w.fresh(`${node.output}_nhwc`);
      w.node('Transpose', nhwc, [w.nchw(xName!, s)], nhwc, [ints('perm', [0, 2, 3, 1])]);
      w.node('Flatten', node.name, [nhwc], node.output, [int('axis', 1)]);
      return flatOut();
    }
  }
}

/** The float graph as ONNX model bytes (see the file comment). InputError naming a node that cannot be written. */
export function exportFloatOnnx(graph: Graph, options: FloatOnnxExportOptions = {}): Uint8Array {
  const batch = checkBatch(options.batch ?? 'batch');
  const extended = options.extendedOps ?? false;
  const shapes = inferShapes(graph);
  const readers = readersOf(graph);
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const w = new Writer(graph, extended);
  const inShape = graph.input.shape;
  const flatInput = graph.input.sourceLayout === 'flat' && inShape.h === 1 && inShape.w === 1;
  w.values.set(graph.input.name, { name: graph.input.name, form: { kind: flatInput ? 'flat' : 'nchw' } });
  for (const node of graph.nodes) writeNode(w, node, shapes, readers, outputs);

  const batchDim = typeof batch === 'number' ? { dimValue: batch } : { dimParam: batch };
  const info = (name: string, shape: TensorShape, form: Form): onnxProto.onnx.IValueInfoProto => {
    const dims = form.kind === 'nchw' ? [shape.c, shape.h, shape.w] : [shapeSize(shape)];
    return { name, type: { tensorType: { elemType: DT.FLOAT, shape: { dim: [batchDim, ...dims.map((dimValue) => ({ dimValue }))] } } } };
  };
  const written = new Set<string>();
  const outputInfos = graph.outputs.flatMap((o) => {
    const v = w.value(o.name);
    if (v.form.kind === 'chw') throw new Error(`graph output '${o.name}' in Gemm order (writer bug)`);
    if (written.has(v.name)) return [];
    written.add(v.name);
    return [info(v.name, o.shape, v.form)];
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'fpga-kernel-bench',
    docString: options.docString ?? '',
    opsetImport: [{ domain: '', version: FLOAT_ONNX_OPSET }],
    graph: {
      name: graph.name,
      node: w.nodes,
      initializer: w.inits,
      input: [info(graph.input.name, inShape, w.value(graph.input.name).form)],
      output: outputInfos,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
