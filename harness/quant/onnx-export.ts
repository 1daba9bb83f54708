/**
 * An integer graph (int-graph.ts) as an int8 ONNX model (opset 13, QOperator format) that
 * onnxruntime-web runs.
 *
 * Wire format: input `g.input.name` is int8 NCHW [1, C, H, W] holding the codes of
 * `g.input.params` (real = scale * (q - zeroPoint)); a tensor some node reads but none computes
 * (in a sub-graph, e.g. an add's second operand) is one more such input, after it; each output is int8, [1, C] when its map is
 * 1x1 (the fc logits) and NCHW [1, C, H, W] otherwise, holding the codes of that output's params.
 * The same scales and zero points are in the model's metadata_props
 * (`<tensor>.scale`, `<tensor>.zero_point`, `<tensor>.layout`), because with the default
 * `scales: 'exact'` the scale initializers of the QLinearConv nodes are not the tensors' real
 * scales (see below).
 *
 * Nodes, every one on int8 codes in NCHW:
 *  conv     QLinearConv (weights OHWI -> OIHW, int32 bias, weight zero point 0, `group` for a
 *           grouped layer). ORT computes the
 *           multiplier as f32(f32(x_scale) * f32(w_scale[o])) / f32(y_scale) in f32
 *           (qlinearconv.cc ComputeOutputScale), then MLAS: f32(acc + bias) * multiplier, clamp to
 *           [-128 - zp, 127 - zp] in float, round half to even, + zp; exactly the 'fp32'
 *           requantization of harness/reference/requant.ts provided the multiplier is the same f32.
 *           scales 'exact' (default): x_scale = y_scale = 1 and w_scale[o] = fround(scale[o]) with
 *             scale[o] the problem's own multiplier: multiplying and dividing by 1 is exact, so the
 *             multiplier is bit for bit ours.
 *           scales 'real': x_scale, w_scale[o], y_scale are the real quantizers; the multiplier is
 *             then rounded three times in f32 where int-graph.ts rounds the f64 product once, and
 *             an output code can differ by 1 where acc * multiplier lies next to a rounding tie.
 *           A fused ReLU/Clip whose clamp is narrower than [-128, 127] becomes a Clip on int8
 *           codes after the QLinearConv: rounding is monotonic and the bounds are integers, so
 *           clamp(round(f)) = round(clamp(f)) and the result equals the fused clamp exactly.
 *  fc       The same QLinearConv on a 1x1 map: the flatten before it (Transpose NCHW -> NHWC for
 *           order 'hwc', nothing for 'chw', then Reshape to [1, K, 1, 1]) reproduces the flatten
 *           order the fc weights were written for.
 *  maxpool  MaxPool on int8 (opset 12+): exact, padded pixels are ignored as in int-graph.ts.
 *  add      QLinearAdd (com.microsoft domain; onnxruntime-web's wasm build has it) with the real
 *           quantizers of A, B and the output. Its arithmetic is MLAS's float one
 *           (onnxruntime/core/mlas/lib/qladd.cpp): the ratios sA / sC and sB / sC in f32, the
 *           float sum of (a - zpA) and (b - zpB) scaled by them, rounded to nearest even, + zpC,
 *           saturated to int8. int-graph.ts computes TFLite's fixed-point add instead (left
 *           shift 20, three MultiplyByQuantizedMultiplier), so the two are not equal by
 *           construction; for the default model's add they agree on all 65536 int8 pairs, and
 *           on BlazeFace's 16 adds 4 of 1,048,576 pairs differ by one code (rounding ties;
 *           test/quant-onnx.test.ts measures both exhaustively). A fused ReLU/Clip is a Clip after it.
 *  zeros    an int8 initializer of the zero point: real 0, as in int-graph.ts.
 *  concat   Concat on int8 codes (axis 1) when no input needs requantizing; else an InputError.
 *  clamp    Clip on int8 codes.
 *  flatten  Transpose (order 'hwc') and Reshape to [1, K, 1, 1].
 * avgpool and globalavgpool are not exported (InputError): ORT's QLinearAveragePool rounds in
 * float, not TFLite's integer round-half-away division.
 */
import onnxProto from 'onnx-proto';
import { outputSize } from '../conv/layer.ts';
import type { TensorShape } from '../model/graph.ts';
import { InputError } from '../util/errors.ts';
import type { IntConv, IntGraph } from './int-graph.ts';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
type Tensor = onnxProto.onnx.ITensorProto;
type Node = onnxProto.onnx.INodeProto;

/** Opset of the default domain. QLinearConv is unchanged since 10, int8 MaxPool/Clip since 12. */
export const ONNX_EXPORT_OPSET = 13;
/** onnxruntime's contrib domain, for QLinearAdd. */
export const MS_DOMAIN = 'com.microsoft';

export type ExportScales = 'exact' | 'real';

export interface OnnxExportOptions {
  /**
   * 'exact': QLinearConv scales chosen so ORT's f32 multiplier is bit for bit int-graph.ts's;
   * 'real': the real quantizers (interoperable, may differ by one code, see the file comment).
   * @default 'exact'
   */
  scales?: ExportScales;
}

/** ONNX raw_data is little-endian; DataView makes that explicit whatever the host order. */
function rawBytes(values: ArrayLike<number>, type: 'f32' | 'i32' | 'i8' | 'i64'): Uint8Array {
  const size = type === 'i8' ? 1 : type === 'i64' ? 8 : 4;
  const view = new DataView(new ArrayBuffer(values.length * size));
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (type === 'f32') view.setFloat32(i * 4, v, true);
    else if (type === 'i32') view.setInt32(i * 4, v, true);
    else if (type === 'i64') view.setBigInt64(i * 8, BigInt(v), true);
    else view.setInt8(i, v);
  }
  return new Uint8Array(view.buffer);
}

function intsAttr(name: string, ints: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}

function valueInfo(name: string, elemType: number, dims: number[]): onnxProto.onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } } };
}

/** int8 OHWI -> OIHW, I = inC / groups (ONNX's grouped weight layout is the same split). */
function weightsOIHW(node: IntConv): Int8Array {
  const p = node.problem;
  const s = p.shape;
  const inC = s.inC / node.groups;
  const out = new Int8Array(p.weights.length);
  for (let o = 0; o < s.outC; o++)
    for (let h = 0; h < s.kH; h++)
      for (let w = 0; w < s.kW; w++)
        for (let c = 0; c < inC; c++) out[((o * inC + c) * s.kH + h) * s.kW + w] = p.weights[((o * s.kH + h) * s.kW + w) * inC + c]!;
  return out;
}

/** The ONNX dims of a graph output: [1, C] for a 1x1 map, else NCHW. */
export function onnxOutputDims(shape: TensorShape): number[] {
  return shape.h === 1 && shape.w === 1 ? [1, shape.c] : [1, shape.c, shape.h, shape.w];
}

/** Collects nodes and initializers; initializer names get a counter suffix so they are unique. */
class Builder {
  readonly nodes: Node[] = [];
  readonly inits: Tensor[] = [];
  private n = 0;

  constant(hint: string, dataType: number, dims: number[], raw: Uint8Array): string {
    const name = `${hint}#${this.n++}`;
    this.inits.push({ name, dataType, dims, rawData: raw });
    return name;
  }

  f32(hint: string, v: number): string {
    return this.constant(hint, DT.FLOAT, [], rawBytes([v], 'f32'));
  }

  i8(hint: string, v: number): string {
    return this.constant(hint, DT.INT8, [], rawBytes([v], 'i8'));
  }

  node(opType: string, input: string[], output: string, attribute: onnxProto.onnx.IAttributeProto[] = [], domain = ''): string {
    this.nodes.push({ opType, input, output: [output], attribute, domain, name: `${opType}_${this.nodes.length}` });
    return output;
  }

  /** A Clip of int8 codes to [lo, hi]; `x` itself when that is the whole int8 range. */
  clamp(x: string, lo: number, hi: number, output: string): string {
    if (lo <= -128 && hi >= 127) return x;
    return this.node('Clip', [x, this.i8(`${output}_min`, lo), this.i8(`${output}_max`, hi)], output);
  }
}

function conv(b: Builder, g: IntGraph, node: IntConv, x: string, scales: ExportScales): string {
  const p = node.problem;
  const s = p.shape;
  const r = p.requant;
  if (r.mode !== 'fp32') throw new InputError(`node '${node.name}': ORT's QLinearConv implements only the 'fp32' requantization, the graph uses '${r.mode}' (build it with requantMode: 'fp32')`);
  const inP = g.tensors.get(node.inputs[0]!)!.params;
  const outP = g.tensors.get(node.output)!.params;
  const exact = scales === 'exact';
  const wScale = exact ? Array.from(r.scale, (v) => Math.fround(v)) : Array.from(node.weightScale);
  const raw = `${node.output}_raw`;
  b.node(
    'QLinearConv',
    [
      x, b.f32('x_scale', exact ? 1 : inP.scale), b.i8('x_zero_point', p.inputZeroPoint),
      b.constant(`${node.name}_w`, DT.INT8, [s.outC, s.inC / node.groups, s.kH, s.kW], rawBytes(weightsOIHW(node), 'i8')),
      b.constant(`${node.name}_w_scale`, DT.FLOAT, [s.outC], rawBytes(wScale, 'f32')),
      b.constant(`${node.name}_w_zero_point`, DT.INT8, [s.outC], new Uint8Array(s.outC)),
      b.f32('y_scale', exact ? 1 : outP.scale), b.i8('y_zero_point', r.outputZeroPoint),
      b.constant(`${node.name}_b`, DT.INT32, [s.outC], rawBytes(p.bias, 'i32')),
    ],
    raw,
    [
      intsAttr('kernel_shape', [s.kH, s.kW]),
      intsAttr('strides', [s.strideH, s.strideW]),
      intsAttr('pads', [s.padTop, s.padLeft, s.padBottom, s.padRight]),
      ...(node.groups > 1 ? [{ name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: node.groups }] : []),
    ],
  );
  return b.clamp(raw, r.outputMin, r.outputMax, `${node.output}_clamped`);
}

/** The integer graph as ONNX model bytes (see the file comment for every node's arithmetic). */
export function exportIntGraphOnnx(g: IntGraph, options: OnnxExportOptions = {}): Uint8Array {
  const scales = options.scales ?? 'exact';
  if (scales !== 'exact' && scales !== 'real') throw new InputError(`scales must be 'exact' or 'real', got '${String(scales)}'`);
  const b = new Builder();
  /** ONNX name of each integer-graph tensor, all int8 NCHW [1, C, H, W]. */
  const onnxName = new Map<string, string>([[g.input.name, g.input.name]]);
  const shape = (t: string): TensorShape => g.tensors.get(t)!.shape;
  const inputs = [g.input];
  for (const node of g.nodes) {
    // A tensor no node computes (a sub-graph's second operand) is one more graph input.
    for (const t of node.inputs) {
      if (onnxName.has(t)) continue;
      const it = g.tensors.get(t);
      if (!it) throw new InputError(`node '${node.name}': input '${t}' is neither computed nor a tensor of the graph`);
      inputs.push(it);
      onnxName.set(t, t);
    }
    const x = onnxName.get(node.inputs[0]!)!;
    let y: string;
    switch (node.op) {
      case 'conv': {
        const s = node.problem.shape;
        const xs = shape(node.inputs[0]!);
        if (xs.h !== s.inH || xs.w !== s.inW || xs.c !== s.inC) {
          throw new InputError(`node '${node.name}': input ${xs.h}x${xs.w}x${xs.c} does not match the problem ${s.inH}x${s.inW}x${s.inC}`);
        }
        y = conv(b, g, node, x, scales);
        const { outH, outW } = outputSize(s);
        if (outH * outW * s.outC !== shape(node.output).h * shape(node.output).w * shape(node.output).c) throw new Error(`node '${node.name}': output size mismatch`);
        break;
      }
      case 'maxpool':
        y = b.node('MaxPool', [x], `${node.output}_pool`, [
          intsAttr('kernel_shape', [node.kH, node.kW]),
          intsAttr('strides', [node.strideH, node.strideW]),
          intsAttr('pads', [node.pads.top, node.pads.left, node.pads.bottom, node.pads.right]),
        ]);
        break;
      case 'add': {
        const pa = g.tensors.get(node.inputs[0]!)!.params;
        const pb = g.tensors.get(node.inputs[1]!)!.params;
        const po = g.tensors.get(node.output)!.params;
        const raw = b.node(
          'QLinearAdd',
          [
            x, b.f32('a_scale', pa.scale), b.i8('a_zero_point', node.zeroPointA),
            onnxName.get(node.inputs[1]!)!, b.f32('b_scale', pb.scale), b.i8('b_zero_point', node.zeroPointB),
            b.f32('c_scale', po.scale), b.i8('c_zero_point', node.outputZeroPoint),
          ],
          `${node.output}_raw`, [], MS_DOMAIN,
        );
        y = b.clamp(raw, node.outputMin, node.outputMax, `${node.output}_clamped`);
        break;
      }
      case 'zeros': {
        const z = shape(node.output);
        y = b.constant(`${node.output}_zeros`, DT.INT8, [1, z.c, z.h, z.w], new Uint8Array(z.c * z.h * z.w).fill(node.code & 0xff));
        break;
      }
      case 'concat':
        if (node.requant.some((r) => r !== undefined)) {
          throw new InputError(`node '${node.name}' (concat): inputs with different quantizers are not exported (ORT's QLinearConcat rescales in float, not as int-graph.ts)`);
        }
        y = b.node('Concat', node.inputs.map((t) => onnxName.get(t)!), `${node.output}_cat`, [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]);
        break;
      case 'clamp':
        y = b.clamp(x, node.min, node.max, `${node.output}_clamped`);
        if (y === x) y = b.node('Identity', [x], `${node.output}_id`);
        break;
      case 'flatten': {
        const xs = shape(node.inputs[0]!);
        const hwc = node.order === 'hwc' && xs.c > 1 && xs.h * xs.w > 1 ? b.node('Transpose', [x], `${node.output}_nhwc`, [intsAttr('perm', [0, 2, 3, 1])]) : x;
        const dims = b.constant('flat_shape', DT.INT64, [4], rawBytes([1, xs.h * xs.w * xs.c, 1, 1], 'i64'));
        y = b.node('Reshape', [hwc, dims], `${node.output}_flat`);
        break;
      }
      default:
        throw new InputError(`node '${node.name}' (${node.op}): not exported to ONNX (ORT's QLinear pooling rounds in float, not as int-graph.ts)`);
    }
    onnxName.set(node.output, y);
  }
  // Graph outputs under their own names, in their documented layout.
  for (const o of g.outputs) {
    const dims = b.constant(`${o.name}_shape`, DT.INT64, [onnxOutputDims(o.shape).length], rawBytes(onnxOutputDims(o.shape), 'i64'));
    b.node('Reshape', [onnxName.get(o.name)!, dims], o.name);
  }
  const meta: onnxProto.onnx.IStringStringEntryProto[] = [];
  for (const t of [...inputs, ...g.outputs]) {
    meta.push({ key: `${t.name}.scale`, value: String(t.params.scale) });
    meta.push({ key: `${t.name}.zero_point`, value: String(t.params.zeroPoint) });
    meta.push({ key: `${t.name}.layout`, value: inputs.includes(t) ? 'NCHW' : onnxOutputDims(t.shape).length === 2 ? 'NC' : 'NCHW' });
  }
  meta.push({ key: 'requant_mode', value: g.requantMode });
  meta.push({ key: 'scales', value: scales });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'fpga-kernel-bench',
    docString: 'int8 codes; real = scale * (code - zero_point), see metadata_props',
    opsetImport: [{ domain: '', version: ONNX_EXPORT_OPSET }, { domain: MS_DOMAIN, version: 1 }],
    metadataProps: meta,
    graph: {
      name: g.name,
      node: b.nodes,
      initializer: b.inits,
      input: inputs.map((t) => valueInfo(t.name, DT.INT8, [1, t.shape.c, t.shape.h, t.shape.w])),
      output: g.outputs.map((o) => valueInfo(o.name, DT.INT8, onnxOutputDims(o.shape))),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
